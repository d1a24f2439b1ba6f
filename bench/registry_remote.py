"""list_models(100) against an `mlflow server` (on PostgreSQL, over HTTP): requests and time.

Starts PostgreSQL and the tracking server on loopback (as the tests do), fills the registry,
then counts the HTTP requests of one listing, at two registry sizes to show that ours stay
constant, and times ours against the spec project's per-version ``get_run`` listing.

    python bench/registry_remote.py [--versions 200] [--list 100] [--repeats 5]
"""

# ruff: noqa: E402  (MLflow's quiet defaults go into the environment before MLflow is imported)
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' server helpers
from edm import settings

# An entry point applies MLflow's quiet defaults before MLflow configures logging.
for _name, _value in settings.mlflow_environment_defaults().items():
    os.environ.setdefault(_name, _value)

from tests.servers import MlflowServer, PostgresServer

from bench.registry_list import fill, median_ms, per_version_listing
from edm.registry import ModelRegistry


class RequestCounter:
    """Counts the HTTP requests the MLflow client sends (it uses requests.Session)."""

    def __init__(self) -> None:
        self.count = 0
        self._original = requests.Session.request

    def __enter__(self) -> RequestCounter:
        counter = self

        def counting(session: requests.Session, *args: object, **kwargs: object) -> object:
            counter.count += 1
            return counter._original(session, *args, **kwargs)

        requests.Session.request = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        requests.Session.request = self._original  # type: ignore[method-assign]


def requests_for(fn: Callable[[], object]) -> int:
    with RequestCounter() as counter:
        fn()
    return counter.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--list", type=int, default=100, dest="max_results")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    postgres = PostgresServer().start()
    server = None
    try:
        database = postgres.create_database()
        with tempfile.TemporaryDirectory() as artifacts:
            server = MlflowServer(postgres.uri(database), artifacts).start()
            registry = ModelRegistry(tracking_uri=server.url)
            small = min(20, args.max_results)
            fill(registry, small, Path(artifacts))
            ours_small = requests_for(lambda: registry.list_models(small))
            base_small = requests_for(lambda: per_version_listing(registry, small))
            fill(registry, args.versions, Path(artifacts))
            ours = requests_for(lambda: registry.list_models(args.max_results))
            base = requests_for(lambda: per_version_listing(registry, args.max_results))
            ours_ms = median_ms(lambda: registry.list_models(args.max_results), args.repeats)
            base_ms = median_ms(
                lambda: per_version_listing(registry, args.max_results), args.repeats
            )
    finally:
        if server is not None:
            server.stop()
        postgres.stop()

    print(f"mlflow server on PostgreSQL over loopback HTTP, {args.versions} versions")
    print(f"HTTP requests, listing {small}:  edm {ours_small:4d}   baseline {base_small:4d}")
    print(f"HTTP requests, listing {args.max_results}: edm {ours:4d}   baseline {base:4d}")
    print(f"time, listing {args.max_results} (median of {args.repeats}):")
    print(f"  baseline (get_run per version): {base_ms:8.1f} ms")
    print(f"  edm list_models (batched):      {ours_ms:8.1f} ms")
    print(f"speed-up: {base_ms / ours_ms:.2f}x; requests: {base / ours:.1f}x fewer")


if __name__ == "__main__":
    main()
