"""What a batch job needs from a Spark master that is not this process: executors that can
reach the driver, a Python that can run edm, and files they can open.

Pure checks and settings, decided in the driver before Spark starts, so that a job that cannot
work says why in one line instead of failing in every task.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from edm.batch.files import InputFile, is_s3
from edm.errors import ConfigError

# The folder a packed environment is unpacked to in each executor's working directory.
PYTHON_ENV_ALIAS = "edm-python"
# Spark unpacks .tar without the files' modes (bin/python would not be executable); Hadoop's
# unpacking of .tar.gz, .tgz and .zip keeps them.
PYTHON_ENV_SUFFIXES = (".tar.gz", ".tgz", ".zip")
_DEFAULT_MASTER_PORT = 7077
_SCHEMES_WITH_FILES = ("hdfs://", "s3a://", "s3://", "gs://", "abfs://", "http://", "https://")


def same_host(master: str) -> bool:
    """``local``, ``local[N]`` and ``local-cluster[…]``: every executor runs on this host and
    sees its disk (``local-cluster`` still ships the model as on a real cluster)."""
    return master == "local" or master.startswith(("local[", "local-cluster["))


def driver_address(master: str) -> str | None:
    """The address of this host that routes to the master: the one executors connect back
    to. None where the master names no host (``yarn``): Spark's own default then."""
    if same_host(master):
        return "127.0.0.1"
    host, port = _master_host(master)
    if host is None:
        return None
    try:
        candidates = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        raise ConfigError(
            f"--master {master}: cannot resolve the host '{host}' ({exc.strerror}); "
            "check the master's name, or give this host's address with --driver-host"
        ) from None
    for family, kind, _, _, address in candidates:
        # A datagram socket's connect sends nothing: it only asks the kernel for the route.
        with socket.socket(family, kind) as probe:
            try:
                probe.connect(address)
            except OSError:
                continue
            return str(probe.getsockname()[0])
    raise ConfigError(
        f"--master {master}: no route from this host to '{host}'; give the address the "
        "executors can reach this host at with --driver-host"
    )


def _master_host(master: str) -> tuple[str | None, int]:
    if master.startswith("spark://"):
        first = master.removeprefix("spark://").split(",")[0]
        parts = urlsplit(f"//{first}")
        return parts.hostname, parts.port or _DEFAULT_MASTER_PORT
    if master.startswith("k8s://"):
        target = master.removeprefix("k8s://")
        parts = urlsplit(target if "://" in target else f"https://{target}")
        return parts.hostname, parts.port or 443
    return None, 0


def python_env_settings(archive: str, conf: Mapping[str, str]) -> dict[str, str]:
    """Spark settings that ship a packed Python environment (venv-pack, conda-pack) with the
    job and run the executors' workers from it: the usual way on YARN and Kubernetes."""
    if archive.startswith(_SCHEMES_WITH_FILES):
        location = archive
    else:
        path = Path(archive.removeprefix("file://")).expanduser()
        if not path.is_file():
            raise ConfigError(f"--python-env {archive}: no such file")
        location = str(path.resolve())
    if not archive.lower().endswith(PYTHON_ENV_SUFFIXES):
        raise ConfigError(
            f"--python-env {archive}: expected a packed environment ending in "
            f"{', '.join(PYTHON_ENV_SUFFIXES)} (venv-pack -o env.tar.gz); Spark unpacks a plain "
            ".tar without the files' modes, so its Python could not run"
        )
    archives = [item for item in conf.get("spark.archives", "").split(",") if item.strip()]
    archives.append(f"{location}#{PYTHON_ENV_ALIAS}")
    return {
        "spark.archives": ",".join(archives),
        "spark.pyspark.python": f"./{PYTHON_ENV_ALIAS}/bin/python",
    }


def check_reachable(
    listing: Iterable[InputFile], source: str, master: str, shared_paths: Iterable[str]
) -> tuple[str, ...]:
    """The shared folders, resolved; ConfigError when executors could not open the files.

    On a master of other hosts each executor opens its tracks itself: a path on this host's
    disk means nothing there unless every worker mounts it at the same place.
    """
    shared = tuple(_shared_folder(path) for path in shared_paths)
    if same_host(master):
        return shared
    local = [item.path for item in listing if not is_s3(item.path)]
    if not local:
        return shared
    if not shared:
        raise ConfigError(
            f"{source}: local files on a master of other hosts ({master}), whose executors "
            "open each file themselves and cannot see this host's disk: put the catalogue on "
            "S3, or on storage every worker mounts at the same path, declared with "
            "--shared-path FOLDER"
        )
    outside = [path for path in local if not any(_under(path, root) for root in shared)]
    if outside:
        more = f" (and {len(outside) - 1} more)" if len(outside) > 1 else ""
        raise ConfigError(
            f"{outside[0]}{more}: outside every --shared-path ({', '.join(shared)}), so the "
            "executors may not see it: move it there, or declare the folder it is in"
        )
    return shared


def _shared_folder(path: str) -> str:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"--shared-path {path}: no such folder on this host")
    return str(folder.resolve())


def _under(path: str, root: str) -> bool:
    return Path(path).is_relative_to(root)
