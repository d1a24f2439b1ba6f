"""Is a remote store there at all? One quick probe before MLflow is asked anything.

MLflow retries an unreachable store for a long time: about 100 s and ten warnings for a
database (``create_sqlalchemy_engine_with_retry``), minutes for a tracking server (its HTTP
retries with backoff). A single probe with a timeout answers in seconds, so that a command
against a store that is down fails with one line. Only a failure to connect counts: a server
that answers anything (even 404 behind a proxy) is there.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from edm.settings import redact_uri

PROBE_TIMEOUT_S = 10.0
_DATABASE_SCHEMES = ("postgresql", "mysql")


def unreachable_reason(
    uri: str, timeout_s: float = PROBE_TIMEOUT_S, *, healthy: bool = False
) -> str | None:
    """None when the store at ``uri`` accepts a connection; else why not, in one line.

    ``healthy`` also asks a tracking server's ``/health`` to answer 200 (a health check), not
    merely to answer. Local (SQLite) stores and schemes edm cannot probe answer None.
    """
    scheme = urlsplit(uri).scheme.lower().split("+")[0]
    if scheme in ("http", "https"):
        return _probe_http(uri, timeout_s, healthy)
    if scheme in _DATABASE_SCHEMES:
        return _probe_database(uri, timeout_s)
    return None


def _probe_http(uri: str, timeout_s: float, healthy: bool) -> str | None:
    import requests

    try:
        response = requests.get(
            uri.rstrip("/") + "/health", timeout=timeout_s, allow_redirects=False
        )
    except requests.Timeout:
        return f"no answer from {redact_uri(uri)} within {timeout_s:g} s"
    except requests.ConnectionError:
        return f"no answer from {redact_uri(uri)} (connection failed)"
    except requests.RequestException:
        return None  # it answered, oddly: let MLflow's own request say what is wrong
    if healthy and response.status_code != 200:
        return f"{redact_uri(uri)}/health answered HTTP {response.status_code}"
    return None


def _probe_database(uri: str, timeout_s: float) -> str | None:
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(
            uri,
            connect_args={"connect_timeout": int(max(1, timeout_s))},
            poolclass=sqlalchemy.NullPool,
        )
    except Exception:  # a driver that is not installed: MLflow will say it in its own words
        return None
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.OperationalError as exc:
        original = getattr(exc, "orig", None) or exc
        first = (str(original).strip().splitlines() or [type(original).__name__])[0]
        return f"cannot connect to {redact_uri(uri)}: {' '.join(first.split())}"
    except sqlalchemy.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    return None
