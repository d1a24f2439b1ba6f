"""The service's settings: one value object, validated once, handed to every worker as JSON.

The webhook secret and the Alertmanager token are not part of it: they come from the
environment (``EDM_WEBHOOK_SECRET``, ``EDM_ALERT_TOKEN``, or the file ``EDM_ALERT_TOKEN_FILE``
names) so they never land in a command line, a log or a JSON file. The API keys file holds
hashes only; its path is a setting.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

from edm.errors import ConfigError

if TYPE_CHECKING:
    from edm.decoding.decode import DecodeParams

ENV_CONFIG = "EDM_SERVE_CONFIG"
ENV_WEBHOOK_SECRET = "EDM_WEBHOOK_SECRET"
ENV_ALERT_TOKEN = "EDM_ALERT_TOKEN"
ENV_ALERT_TOKEN_FILE = "EDM_ALERT_TOKEN_FILE"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class ServeConfig:
    tracking_uri: str | None = None
    model_name: str | None = None
    poll_interval: float = 10.0
    staging_share: float = 0.0
    shadow_share: float = 0.0
    # Production's requests replayed on the previous Production version: the comparative
    # rollback alerts need its error ratio, confidence and latency on the same tracks.
    # None: all of them with --auto-rollback, none without.
    previous_share: float | None = None
    # None: what max_audio_seconds of uncompressed audio takes (edm.audio.io.uncompressed_bytes:
    # 48 kHz 24-bit stereo, 248 MB for 900 s), so no file within the seconds is refused for
    # its bytes; compressed formats are far smaller.
    max_upload_mb: float | None = None
    max_audio_seconds: float = 900.0
    min_bpm: float | None = None  # tempo hints for every version's decoding (--min-bpm)
    max_bpm: float | None = None
    max_concurrency: int = 4
    shadow_queue_size: int = 16
    summary_interval: float = 60.0
    retry_after_s: int = 5
    device: str = "cpu"
    inference_threads: int = 0  # files analysed at once (the rest wait); 0: one per CPU core
    # One core per file, as many files at once as cores: measured best on CPU (bench/serve_load)
    torch_threads: int = 1  # intra-op threads per analysis (either engine); 0: its default
    auto_rollback: bool = False  # roll the registry back on a degradation alert (see rollback)
    rollback_window_s: float = 1800.0  # ... only this long after the version's promotion
    drift_window: int = 200  # Production requests compared with the version's drift reference
    traffic_dir: str | None = None  # where Production answers' descriptors are recorded (None: not)
    drift_interval_s: float = 5.0  # at most one comparison this often (they cost milliseconds)
    api_keys_file: str | None = None  # clients' key hashes; None: /predict and /model/info open
    rate_limit: float = 0.0  # requests per minute per client on those routes; 0: no limit
    client_concurrency: int = 0  # predictions in progress per client; 0: no limit
    admin_port: int | None = None  # the hooks' own listener; None: they share the public port
    body_timeout_s: float = 30.0  # a /predict body must arrive whole within this (408 after)
    max_receiving: int = 64  # /predict bodies being received at once per worker (503 above)
    analysis_timeout_s: float = 120.0  # from the analysis slot to the answer (504 after)
    drain_seconds: float = 30.0  # on SIGTERM, how long requests in flight may take to finish
    header_timeout_s: float = 10.0  # a connection's first request line and headers (closed after)
    max_connections: int = 1000  # per worker; one more closes the connection idle the longest

    def __post_init__(self) -> None:
        for name in ("staging_share", "shadow_share", "previous_share"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                option = name.replace("_", "-")
                raise ConfigError(f"--{option} must be between 0 and 1, got {value}")
        for name in (
            "poll_interval",
            "max_upload_mb",
            "max_audio_seconds",
            "summary_interval",
            "rollback_window_s",
            "drift_interval_s",
            "body_timeout_s",
            "analysis_timeout_s",
            "drain_seconds",
            "header_timeout_s",
        ):
            value = getattr(self, name)
            if value is None and name == "max_upload_mb":
                continue
            if not value > 0:
                option = name.removesuffix("_s").replace("_", "-")
                raise ConfigError(f"--{option} must be positive, got {value}")
        for name in ("inference_threads", "torch_threads", "client_concurrency"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be 0 (automatic) or more")
        for name in (
            "max_concurrency",
            "shadow_queue_size",
            "retry_after_s",
            "drift_window",
            "max_receiving",
            "max_connections",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
        if self.rate_limit < 0:
            raise ConfigError(f"--rate-limit must be 0 (no limit) or more, got {self.rate_limit}")
        if self.admin_port is not None and not 0 < self.admin_port < 65536:
            raise ConfigError(f"--admin-port must be a port number, got {self.admin_port}")

    @property
    def compare_previous_share(self) -> float:
        """The share of Production's requests replayed on the previous version."""
        if self.previous_share is not None:
            return self.previous_share
        return 1.0 if self.auto_rollback else 0.0

    @property
    def inference_workers(self) -> int:
        return self.inference_threads or os.cpu_count() or 1

    @property
    def max_upload_bytes(self) -> int:
        if self.max_upload_mb is None:
            from edm.audio.io import uncompressed_bytes

            return uncompressed_bytes(self.max_audio_seconds)
        return int(self.max_upload_mb * 1024 * 1024)

    def decode_params(self) -> DecodeParams:
        """How the service decodes: the defaults with the BPM hints (ConfigError if empty)."""
        from edm.decoding.decode import DecodeParams

        return DecodeParams().with_bpm_range(self.min_bpm, self.max_bpm)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        try:
            values = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ConfigError(f"{ENV_CONFIG} is not valid JSON: {exc}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{ENV_CONFIG} is not a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{ENV_CONFIG} has unknown settings: {', '.join(unknown)}")
        return cls(**values)

    @classmethod
    def from_environment(cls) -> ServeConfig:
        text = os.environ.get(ENV_CONFIG)
        return cls.from_json(text) if text else cls()


def webhook_secret() -> str | None:
    """The shared secret of MLflow webhooks; None turns ``POST /hooks/mlflow`` off."""
    secret = os.environ.get(ENV_WEBHOOK_SECRET)
    return secret if secret and secret.strip() else None  # spaces alone are no secret


def alert_token() -> str | None:
    """The bearer token Alertmanager must send to ``POST /hooks/alertmanager``: from
    ``EDM_ALERT_TOKEN``, else from the file ``EDM_ALERT_TOKEN_FILE`` names; None: not set."""
    token = os.environ.get(ENV_ALERT_TOKEN, "").strip()  # spaces alone are no token
    if token:
        return token
    path = os.environ.get(ENV_ALERT_TOKEN_FILE)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{ENV_ALERT_TOKEN_FILE} names a file that cannot be read: {exc}"
        ) from None


def alert_token_source() -> str:
    """Where ``alert_token`` reads the token, as the 401 names it to Alertmanager's operator."""
    if os.environ.get(ENV_ALERT_TOKEN, "").strip():
        return ENV_ALERT_TOKEN
    return f"the file {ENV_ALERT_TOKEN_FILE} names"


def check_auto_rollback(config: ServeConfig) -> None:
    """--auto-rollback writes to the registry: it never runs without a token to check."""
    if config.auto_rollback and alert_token() is None:
        raise ConfigError(
            f"--auto-rollback needs an alert token: set {ENV_ALERT_TOKEN} (or "
            f"{ENV_ALERT_TOKEN_FILE}) and give Alertmanager the same token"
        )


def parse_duration(text: str, option: str) -> float:
    """Seconds in ``"1800"``, ``"90s"``, ``"30m"``, ``"1h"`` or ``"1d"``; ``option`` names
    where the text came from in the error."""
    match = _DURATION.match(text)
    if match is None:
        raise ConfigError(
            f"{option} '{text}' is not a duration: give seconds (1800) or a number with "
            "s, m, h or d (30m)"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
