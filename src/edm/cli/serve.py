"""``edm serve``: the inference service (FastAPI on uvicorn) over the registry's models.

This shell validates the options, hands them to the workers as JSON in ``EDM_SERVE_CONFIG``,
sets up Prometheus's multi-process folder for ``--workers N`` (before any worker imports
prometheus_client) and runs uvicorn, on a second socket too with ``--admin-port``. The
service itself is ``edm.serving``. ``edm api-key NAME`` makes a client key and its line for
``--api-keys-file``.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from pathlib import Path

import typer

from edm.cli.context import CliState
from edm.cli.output import console, err_console, plain, print_json
from edm.cli.tempo_options import MAX_BPM_HELP, MIN_BPM_HELP
from edm.errors import ConfigError

APP_FACTORY = "edm.serving.app:create_app_from_environment"


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes (each follows the aliases)."),
    poll_interval: float = typer.Option(
        10.0, help="Seconds between looks at the production/staging aliases."
    ),
    staging_share: float = typer.Option(
        0.0, help="Fraction of clients answered by Staging (sticky per X-Client-Id)."
    ),
    shadow_share: float = typer.Option(
        0.0, help="Fraction of Production requests also run on Staging, after the answer."
    ),
    previous_share: float = typer.Option(
        None,
        help="Fraction of Production requests also run on the previous Production version, "
        "after the answer: the rollback alerts compare the two on the same tracks (default: "
        "1 with --auto-rollback, else 0).",
    ),
    max_upload_mb: float = typer.Option(
        None,
        help="Largest upload accepted (413 above); default: what --max-audio-seconds of "
        "uncompressed 48 kHz 24-bit stereo WAV/AIFF takes (248 MB for 900 s).",
    ),
    max_audio_seconds: float = typer.Option(900.0, help="Longest audio accepted (413 above)."),
    min_bpm: float = typer.Option(None, "--min-bpm", help=MIN_BPM_HELP),
    max_bpm: float = typer.Option(None, "--max-bpm", help=MAX_BPM_HELP),
    max_concurrency: int = typer.Option(
        4,
        help="Analyses in progress per worker before answering 503 + Retry-After (a request "
        "takes one only once its body is received and checked).",
    ),
    max_receiving: int = typer.Option(
        64, help="Request bodies being received at once per worker (503 above)."
    ),
    body_timeout: str = typer.Option(
        "30s",
        help="Time for a request body (/predict, the hooks) to arrive whole (408 after): "
        "seconds, or 30s, 1m.",
    ),
    analysis_timeout: str = typer.Option(
        "120s", help="Time for an analysis, from its slot to the answer (504 after)."
    ),
    drain_seconds: float = typer.Option(
        30.0, help="On SIGTERM, how long the requests in flight may take to finish."
    ),
    header_timeout: str = typer.Option(
        "10s",
        help="Time for a new connection's first request line and headers (closed after).",
    ),
    max_connections: int = typer.Option(
        1000,
        help="Open connections per worker; one more closes the connection idle the longest.",
    ),
    shadow_queue: int = typer.Option(
        16, help="Shadow replays waiting at most; more are dropped and counted."
    ),
    summary_interval: float = typer.Option(
        60.0, help="Seconds between shadow summaries logged onto the Staging version's run."
    ),
    model_name: str = typer.Option(
        None, envvar="EDM_MODEL_NAME", help="Registered model to serve."
    ),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N or auto."),
    inference_threads: int = typer.Option(
        0, help="Files analysed at once per worker (more wait their turn); 0: one per CPU core."
    ),
    torch_threads: int = typer.Option(
        1,
        help="Intra-op threads per file analysed (ONNX Runtime on the CPU, else torch); "
        "0: the engine's default.",
    ),
    auto_rollback: bool = typer.Option(
        False,
        "--auto-rollback/--no-auto-rollback",
        help="Roll the registry back when Alertmanager reports a degradation alert (the "
        "Production version worse than the previous one on the same requests, which the "
        "service replays on it: see --previous-share) firing within --rollback-window of its "
        "promotion. Drift never rolls back.",
    ),
    rollback_window: str = typer.Option(
        "30m", help="How long after a promotion --auto-rollback acts: seconds, or 90s, 30m, 1h."
    ),
    drift_window: int = typer.Option(
        200, help="Production requests per worker compared with the version's drift reference."
    ),
    record_traffic: str = typer.Option(
        None,
        "--record-traffic",
        help="Folder where each Production answer's descriptors (numbers only: duration, "
        "loudness, BPM, confidence...) are appended, per version: edm monitor reference "
        "--from-traffic reads them back.",
    ),
    api_keys_file: str = typer.Option(
        None,
        help="Clients' key hashes (name:sha256 per line, see edm api-key): /predict, /model/info "
        "and /drift then need a key. Re-read when it changes.",
    ),
    rate_limit: float = typer.Option(
        0.0, help="Requests per minute per client on those routes (429 above); 0: no limit."
    ),
    client_concurrency: int = typer.Option(
        0, help="Predictions in progress per client (429 above); 0: no limit."
    ),
    admin_port: int = typer.Option(
        None, help="Answer the hooks (/hooks/*) on this port only, not on --port."
    ),
    admin_host: str = typer.Option("127.0.0.1", help="Interface of the --admin-port listener."),
    log_level: str = typer.Option("info", help="uvicorn's log level."),
    access_log: bool = typer.Option(
        False, "--access-log/--no-access-log", help="Log each request."
    ),
) -> None:
    """Serve the Production model over HTTP; follow promotions without a restart.

    POST /predict (multipart field `file`, or the audio as the body), GET /health, /ready,
    /model/info, /metrics, /docs. MLflow webhooks: POST /hooks/mlflow, verified with the
    secret in the environment variable EDM_WEBHOOK_SECRET (never a command-line option).
    Alertmanager: POST /hooks/alertmanager (acts only with --auto-rollback, which needs the
    bearer token in EDM_ALERT_TOKEN or in the file EDM_ALERT_TOKEN_FILE names). With
    --api-keys-file, /predict, /model/info and /drift need a client key; /health, /ready and
    /metrics stay open. On SIGTERM the service stops accepting, /ready answers 503, the
    requests in flight finish (up to --drain-seconds) and it exits 0.
    """
    from uvicorn.config import LOGGING_CONFIG

    from edm import settings
    from edm.api_keys import ApiKeys
    from edm.serving import listeners
    from edm.serving.config import (
        ENV_CONFIG,
        ENV_WEBHOOK_SECRET,
        ServeConfig,
        check_auto_rollback,
        parse_duration,
        webhook_secret,
    )
    from edm.serving.connections import needed_descriptors
    from edm.settings import resolve_store

    state = ctx.find_root().obj or CliState()
    store = resolve_store(state.tracking_uri)
    config = ServeConfig(
        tracking_uri=store.tracking_uri,
        model_name=model_name,
        poll_interval=poll_interval,
        staging_share=staging_share,
        shadow_share=shadow_share,
        previous_share=previous_share,
        max_upload_mb=max_upload_mb,
        max_audio_seconds=max_audio_seconds,
        min_bpm=min_bpm,
        max_bpm=max_bpm,
        max_concurrency=max_concurrency,
        shadow_queue_size=shadow_queue,
        summary_interval=summary_interval,
        device=device,
        inference_threads=inference_threads,
        torch_threads=torch_threads,
        auto_rollback=auto_rollback,
        rollback_window_s=parse_duration(rollback_window, "--rollback-window"),
        drift_window=drift_window,
        traffic_dir=str(Path(record_traffic).resolve()) if record_traffic else None,
        # Absolute: the workers read it again and again, whatever their working folder.
        api_keys_file=str(Path(api_keys_file).resolve()) if api_keys_file else None,
        rate_limit=rate_limit,
        client_concurrency=client_concurrency,
        admin_port=admin_port,
        body_timeout_s=parse_duration(body_timeout, "--body-timeout"),
        max_receiving=max_receiving,
        analysis_timeout_s=parse_duration(analysis_timeout, "--analysis-timeout"),
        drain_seconds=drain_seconds,
        header_timeout_s=parse_duration(header_timeout, "--header-timeout"),
        max_connections=max_connections,
    )
    check_auto_rollback(config)
    _allow_open_files(needed_descriptors(config.max_connections))
    clients = len(ApiKeys(api_keys_file)) if api_keys_file else None
    if admin_port is not None and admin_port == port:
        raise ConfigError(f"--admin-port must differ from --port ({port})")
    # The entry point hands the config to the workers; the library never sets the environment.
    os.environ[ENV_CONFIG] = config.to_json()
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="edm-serve-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"]["edm"] = {
        "handlers": ["default"],
        "level": log_level.upper(),
        "propagate": False,
    }
    webhooks = "on" if webhook_secret() else f"off (set {ENV_WEBHOOK_SECRET})"
    rollback = f"on within {rollback_window} of a promotion" if auto_rollback else "off"
    keys = f"API keys for {clients} client(s)" if clients is not None else "no API keys"
    hooks = f"hooks on http://{admin_host}:{admin_port}" if admin_port else "hooks on --port"
    console.print(
        f"edm serve: {plain(store.display_uri)}, "
        f"model '{plain(config.model_name or settings.model_name())}', "
        f"http://{host}:{port} ({workers} worker{'s' if workers > 1 else ''}), {keys}, "
        f"{hooks}, webhooks {webhooks}, auto-rollback {rollback}",
        highlight=False,
        soft_wrap=True,
    )
    try:
        listeners.run(
            APP_FACTORY,
            host=host,
            port=port,
            admin=(admin_host, admin_port) if admin_port is not None else None,
            workers=workers,
            log_level=log_level,
            log_config=log_config,
            access_log=access_log,
            timeout_graceful_shutdown=config.drain_seconds,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _allow_open_files(needed: int) -> None:
    """Raise this process's soft limit of open files (its workers inherit it) to ``needed``;
    a hard limit below it is the operator's to raise, or --max-connections to lower."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ConfigError(
            f"--max-connections needs {needed} open files per worker and this process may "
            f"open {hard} (ulimit -Hn): lower --max-connections or raise the limit"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def api_key(
    name: str = typer.Argument(..., help="The client's name (letters, digits, . _ @ -)."),
    from_stdin: bool = typer.Option(
        False, "--stdin", help="Hash the key read from standard input instead of making one."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON: the name, the keys-file line, and a new key."
    ),
) -> None:
    """Make a client key for `edm serve --api-keys-file`: the key goes to the client (shown
    once, on standard output), the line `name:sha256` goes into the keys file."""
    import sys

    from edm.api_keys import key_line, new_key

    key = sys.stdin.readline().strip() if from_stdin else new_key()
    if not key:
        raise ConfigError("no key on standard input")
    line = key_line(name, key)
    if as_json:  # the key only when it is new: one read from stdin is the caller's already
        print_json({"name": name, "line": line} | ({} if from_stdin else {"key": key}))
        return
    if from_stdin:
        print(line)
        return
    print(key)  # the only copy of the key: give it to the client
    err_console.print(f"add to the keys file: {plain(line)}", highlight=False, soft_wrap=True)
