"""list_models(100) on a store of 200 versions, against the spec project's per-version listing.

The baseline, written here as the spec's project did it: one version search, then one
``get_run`` per version for its name, params and metrics. Ours: a constant number of requests
(registered model, version search, one batched run search).

    python bench/registry_list.py [--versions 200] [--list 100] [--repeats 7] [--store DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from edm.registry import ModelRegistry


def per_version_listing(registry: ModelRegistry, max_results: int) -> list[dict]:
    client = registry.client
    versions = client.search_model_versions(
        f"name='{registry.model_name}'", max_results=max_results
    )
    rows = []
    for version in versions:
        run = client.get_run(version.run_id)
        rows.append(
            {
                "version": int(version.version),
                "stage": version.current_stage,
                "run_name": run.info.run_name,
                "metrics": run.data.metrics,
                "params": run.data.params,
            }
        )
    return rows


def fill(registry: ModelRegistry, n_versions: int, workdir: Path) -> None:
    checkpoint = workdir / "best.pt"
    checkpoint.write_bytes(b"\0" * 1024)
    existing = len(registry.list_models(max_results=n_versions))
    for i in range(existing, n_versions):
        registry.log_model(
            checkpoint,
            f"bench-{i}",
            params={"backbone": "cnn", "learning_rate": 1e-3, "num_epochs": 10, "seed": i},
            metrics={"best_val_loss": 1.0 / (i + 1), "best_epoch": i % 10},
            tags={"experiment": "bench"},
        )


def median_ms(fn, repeats: int) -> float:
    fn()  # warm caches and connections
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--list", type=int, default=100, dest="max_results")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--store", type=Path, default=None, help="reuse a store (default: temporary)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "mlruns"
        registry = ModelRegistry(tracking_uri=str(store))
        fill(registry, args.versions, Path(tmp))

        ours = registry.list_models(args.max_results)
        baseline = per_version_listing(registry, args.max_results)
        assert [r["version"] for r in ours] == [r["version"] for r in baseline]

        ours_ms = median_ms(lambda: registry.list_models(args.max_results), args.repeats)
        base_ms = median_ms(lambda: per_version_listing(registry, args.max_results), args.repeats)

    print(
        f"store: local SQLite, {args.versions} versions; "
        f"listing {args.max_results}, median of {args.repeats}"
    )
    print(f"baseline (get_run per version): {base_ms:8.1f} ms")
    print(f"edm list_models (batched):      {ours_ms:8.1f} ms")
    print(f"speed-up: {base_ms / ours_ms:.2f}x")


if __name__ == "__main__":
    main()
