"""The inference service: Production (and Staging) models from the registry, over HTTP.

- ``config``: the service's settings (``ServeConfig``), passed to workers as JSON;
- ``slots``: one slot per variant that follows its alias, loading a moved version in the
  background and swapping it in once warmed up; with ``--auto-rollback`` one more for the
  previous Production version;
- ``previous``: Production's requests replayed on the previous version, for the comparative
  rollback alerts (the new version worse than the previous one on the same tracks);
- ``reference_refresh``: a loaded version's drift reference read again when a person replaced
  it (``edm monitor reference --from-traffic``);
- ``uploads``: the request body to a temporary file, capped before it is read whole;
- ``routing``: which variant answers a request (sticky Staging share);
- ``shadow``: Production requests replayed on Staging in a bounded queue, and their agreement;
- ``metrics``: the Prometheus metrics (multi-process aware);
- ``drift``: Production's recent requests against its version's drift reference (``/drift``);
- ``webhook``: MLflow webhook signature checks;
- ``access``: client API keys (a file of hashes, re-read when it changes);
- ``limits``: per-client rate and predictions in progress (429 + Retry-After);
- ``guard``: the dependency of the client routes: who is asking, and may they;
- ``listeners``: the public and the admin listener (hooks only on the admin one);
- ``alerts``: Alertmanager's webhook (``POST /hooks/alertmanager``), parsed and checked;
- ``rollback``: ``--auto-rollback``: whether a degradation alert (comparative, never drift)
  rolls Production back, and the rollback;
- ``app``: the FastAPI application and its routes.

The service imports inference and the registry's public API only: never training,
evaluation, the CLI or MLflow itself.
"""

from edm.serving.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def __getattr__(name: str) -> object:
    if name == "create_app":
        from edm.serving.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
