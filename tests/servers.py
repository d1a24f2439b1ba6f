"""Real servers for the tests, on loopback, with throwaway data: PostgreSQL, `mlflow server`
(optionally with basic auth or S3 artifacts), and an S3-compatible server (moto).

Each one fails loudly when it cannot start: CI must not skip what it claims to test.
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

POSTGRES_USER = "edm"


class ServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_logged(
    command: list[str], log_file: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start a server in its own session, its output going to a file: a pipe nobody reads
    fills up and blocks the server mid-request."""
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_for_http(
    url: str, process: subprocess.Popen | None, log_file: Path | None = None, timeout: float = 90.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = log_file.read_text(errors="replace") if log_file else ""
            raise ServerError(
                f"server for {url} exited with {process.returncode}:\n{output[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers, if only with an error
        except OSError:
            time.sleep(0.3)
    raise ServerError(f"no answer from {url} within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# ---------------------------------------------------------------------------- PostgreSQL


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise ServerError(f"PostgreSQL's {name} not found: install Debian's postgresql package")
    return found[-1]


def _as_postgres_user() -> list[str]:
    # PostgreSQL refuses to run as root; Debian's package creates the postgres user.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PostgresServer:
    """A throwaway PostgreSQL cluster with password authentication."""

    def __init__(self) -> None:
        self.password = "pw-" + secrets.token_hex(8)
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="edm-pg-"))
        self.data = self.root / "data"
        self._databases = 0

    def start(self) -> PostgresServer:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(pwfile, "postgres")
        self._run(
            _as_postgres_user()
            + [_postgres_bin("initdb"), "-D", str(self.data), "-U", POSTGRES_USER,
               "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"]
        )  # fmt: skip
        # Every test database gets its own pooled MLflow engine: allow plenty of connections.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=500"
        )
        self._run(
            _as_postgres_user()
            + [_postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options,
               "-l", str(self.root / "log"), "-w", "-t", "60", "start"]
        )  # fmt: skip
        return self

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise ServerError(f"{command[-1]} failed: {done.stderr or done.stdout}\n{log[-2000:]}")

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql://{POSTGRES_USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        import psycopg

        self._databases += 1
        name = f"edm_test_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.uri(), autocommit=True) as connection:
            if template:  # a template must have no open sessions (a pooled engine keeps some)
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (template,),
                )
            connection.execute(
                f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            )
        return name

    def stop(self) -> None:
        subprocess.run(
            _as_postgres_user()
            + [_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------- mlflow server


class MlflowServer:
    """`mlflow server` on a backend store with proxied artifacts (clients need no credentials)."""

    def __init__(
        self,
        backend_uri: str,
        artifacts_destination: str,
        *,
        basic_auth: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backend_uri = backend_uri
        self.artifacts_destination = artifacts_destination
        self.basic_auth = basic_auth
        self.env = dict(env or {})
        self.root = Path(tempfile.mkdtemp(prefix="edm-mlflow-"))
        self.admin = ("admin", "admin-" + secrets.token_hex(6))
        self.process: subprocess.Popen | None = None

    def start(self) -> MlflowServer:
        # No background job runner: it starts a dozen processes these tests never use.
        env = (
            os.environ
            | self.env
            | {
                "MLFLOW_LOGGING_LEVEL": "WARNING",
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            }
        )
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            env.pop(name, None)
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.backend_uri,
            "--artifacts-destination", self.artifacts_destination,
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2",
        ]  # fmt: skip
        if self.basic_auth:
            config = self.root / "basic_auth.ini"
            config.write_text(
                "[mlflow]\n"
                "default_permission = READ\n"
                f"database_uri = sqlite:///{self.root / 'auth.db'}\n"
                f"admin_username = {self.admin[0]}\n"
                f"admin_password = {self.admin[1]}\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            )
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(config)
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = secrets.token_hex(16)
            command += ["--app-name", "basic-auth"]
        log_file = self.root / "server.log"
        self.process = start_logged(command, log_file, env)
        wait_for_http(f"{self.url}/health", self.process, log_file, timeout=120)
        return self

    def create_user(self, username: str, password: str) -> None:
        self._admin_request(
            "/api/2.0/mlflow/users/create", {"username": username, "password": password}
        )

    def _admin_request(self, path: str, body: dict) -> dict:
        import base64

        token = base64.b64encode(f"{self.admin[0]}:{self.admin[1]}".encode()).decode()
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------- S3 (moto)


class S3Server:
    """moto's S3-compatible server on loopback."""

    access_key = "edm-test-key"
    secret_key = "edm-test-secret"

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="edm-s3-"))
        self.process: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            "MLFLOW_S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def start(self) -> S3Server:
        log_file = self.root / "moto.log"
        self.process = start_logged(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)], log_file
        )
        wait_for_http(self.url, self.process, log_file, timeout=60)
        return self

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return [item["Key"] for item in listing.get("Contents", [])]

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)
