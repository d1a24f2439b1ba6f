"""The FastAPI application: its parts, its lifespan, its error bodies and request metrics.

``create_app(config)`` builds one; ``create_app_from_environment`` is the factory uvicorn
calls in each worker (the entry point puts the config in ``EDM_SERVE_CONFIG``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from edm.serving.config import (
    ServeConfig,
    alert_token,
    alert_token_source,
    check_auto_rollback,
    webhook_secret,
)
from edm.serving.metrics import Metrics, multiprocess_dir, process_exited
from edm.serving.stages import on_drain_signal
from edm.serving.state import Service, error_response

if TYPE_CHECKING:
    from edm.registry import ModelRegistry

log = logging.getLogger(__name__)

ROUTES = (
    "/predict",
    "/health",
    "/ready",
    "/model/info",
    "/metrics",
    "/hooks/mlflow",
    "/hooks/alertmanager",
    "/drift",
)
DESCRIPTION = """\
Beats, downbeats, sections and energy of EDM tracks, answered by the registry's Production
model (or Staging: `?variant=staging`, or the `--staging-share` of clients). The service follows
the `production` and `staging` aliases: a promotion is loaded, warmed up and swapped in without
a restart. Every error is JSON `{"error": "..."}`.
"""


def create_app(
    config: ServeConfig | None = None, *, registry_factory: Callable[[], Any] | None = None
) -> FastAPI:
    config = config or ServeConfig()
    check_auto_rollback(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _set_analysis_threads(config.torch_threads)
        service = _build_service(config, registry_factory)
        service.drift = _drift_monitor(config, service.metrics)
        if config.traffic_dir is not None:
            from edm.monitoring.traffic import TrafficRecorder

            service.traffic = TrafficRecorder(config.traffic_dir)
        app.state.service = service
        service.slots.start()
        service.shadow.start()
        if config.compare_previous_share > 0:
            from edm.serving.previous import PreviousReplays

            service.previous = PreviousReplays(
                service.slots, service.metrics, queue_size=config.shadow_queue_size
            )
            service.previous.start()
        restore_signals = on_drain_signal(service.stages.drain)
        try:
            yield
        finally:
            restore_signals()
            service.shadow.stop()
            if service.previous is not None:
                service.previous.stop()
            service.slots.stop()
            # The requests are answered (or cancelled after --drain-seconds): what is left is
            # queued work nobody waits for, and analyses past --analysis-timeout.
            service.executor.shutdown(wait=False, cancel_futures=True)
            process_exited(os.getpid())

    app = FastAPI(
        title="edm serve",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    from edm.serving.alerts import router as alerts_router
    from edm.serving.predict import router as predict_router
    from edm.serving.routes import router

    app.include_router(predict_router)
    app.include_router(router)
    app.include_router(alerts_router)
    _add_error_handlers(app)
    _document_access(app, config)
    app.add_middleware(RequestMetrics)
    if config.admin_port is not None:
        from edm.serving.listeners import ListenerSplit

        # Outermost: a hook asked on the public port is refused before anything reads it.
        app.add_middleware(ListenerSplit, admin_port=config.admin_port)
    return app


def create_app_from_environment() -> FastAPI:
    """uvicorn's factory in each worker: the config comes from ``EDM_SERVE_CONFIG``.

    This is an entry point (uvicorn may call it directly), so it applies MLflow's environment
    defaults as the CLI does; a value the operator set wins.
    """
    from edm.settings import mlflow_environment_defaults

    for name, value in mlflow_environment_defaults().items():
        os.environ.setdefault(name, value)
    return create_app(ServeConfig.from_environment())


def _set_analysis_threads(threads: int) -> None:
    """Intra-op threads of each analysis in this process (0 leaves the engines' defaults)."""
    if threads:
        from edm.inference.network import set_inference_threads

        set_inference_threads(threads)


def _build_service(config: ServeConfig, registry_factory: Callable[[], Any] | None) -> Service:
    from edm.api_keys import ApiKeys
    from edm.serving.limits import ClientLimits
    from edm.serving.refusals import NotificationRefusals
    from edm.serving.rollback import AutoRollback
    from edm.serving.shadow import ShadowRunner
    from edm.serving.slots import ModelSlots

    if registry_factory is None:
        from edm.registry import ModelRegistry

        def registry_factory() -> ModelRegistry:
            return ModelRegistry(tracking_uri=config.tracking_uri, model_name=config.model_name)

    registry = registry_factory()
    metrics = Metrics.create()
    folder = multiprocess_dir()
    slots = ModelSlots(
        registry,
        metrics,
        poll_interval=config.poll_interval,
        device=config.device,
        trigger_file=Path(folder) / "edm-reload-trigger" if folder else None,
        decode_params=config.decode_params(),
        follow_previous=config.compare_previous_share > 0,
    )
    shadow = ShadowRunner(
        slots,
        metrics,
        registry,
        queue_size=config.shadow_queue_size,
        summary_interval=config.summary_interval,
    )
    executor = ThreadPoolExecutor(config.inference_workers, thread_name_prefix="edm-inference")
    api_keys = ApiKeys(config.api_keys_file) if config.api_keys_file else None
    auto_rollback = AutoRollback(
        registry,
        metrics.auto_rollbacks,
        enabled=config.auto_rollback,
        window_s=config.rollback_window_s,
        on_rolled_back=slots.trigger,
    )
    return Service(
        config,
        registry,
        metrics,
        slots,
        shadow,
        webhook_secret(),
        executor,
        auto_rollback,
        alert_token(),
        alert_token_source=alert_token_source(),
        alert_refusals=NotificationRefusals(metrics.alert_refusals),
        api_keys=api_keys,
        limits=ClientLimits(config.rate_limit, config.client_concurrency),
    )


def _document_access(app: FastAPI, config: ServeConfig) -> None:
    """The OpenAPI document says what this service asks for: a key where keys are on, and
    no admin-only route on the public port."""
    from edm.serving.guard import PROTECTED_ROUTES, SECURITY_SCHEMES
    from edm.serving.listeners import public_schema

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            if config.api_keys_file is not None:
                schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
                for path in PROTECTED_ROUTES:
                    for operation in schema["paths"].get(path, {}).values():
                        operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
            if config.admin_port is not None:
                schema = public_schema(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _drift_monitor(config: ServeConfig, metrics: Metrics) -> Any:
    from edm.serving.drift import DriftMonitor

    return DriftMonitor(metrics, window=config.drift_window, interval_s=config.drift_interval_s)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return error_response(422, "invalid request: " + "; ".join(problems))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback for the operator; the client gets one line, never a trace.
        log.exception("unexpected error answering %s", request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); see the service log")


class RequestMetrics:
    """Counts and times every request by route, status and variant (a pure ASGI middleware,
    so request bodies stream through untouched)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        state = scope.setdefault("state", {})

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            service: Service | None = getattr(scope["app"].state, "service", None)
            if service is not None:
                path = scope.get("path", "")
                route = path if path in ROUTES else "other"
                variant = state.get("variant", "none") if isinstance(state, dict) else "none"
                metrics = service.metrics
                metrics.requests.labels(
                    route=route, status=str(status["code"]), variant=variant
                ).inc()
                metrics.request_duration.labels(route=route).observe(time.perf_counter() - started)
