"""One of many processes hitting the same registry at the same moment (see test_concurrency).

    python concurrent_worker.py '{"action": "log"|"promote", "uri": ..., "model_name": ...,
                                  "experiment_name": ..., "start_at": epoch_s, ...}'

Prints a JSON result on its last line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    job = json.loads(sys.argv[1])
    from edm.registry import ModelRegistry

    registry = ModelRegistry(
        tracking_uri=job["uri"],
        experiment_name=job["experiment_name"],
        model_name=job["model_name"],
    )
    registry.current_versions()  # connect (for SQLite: open the store) before the start line
    time.sleep(max(0.0, job["start_at"] - time.time()))
    if job["action"] == "log":
        checkpoint = Path(job["checkpoint"])
        run_ids = [
            registry.log_model(
                checkpoint,
                f"worker{job['worker']}-{i}",
                params={"worker": job["worker"], "index": i},
                metrics={"best_val_loss": 1.0 / (i + 1)},
            )
            for i in range(job["count"])
        ]
        print(json.dumps({"run_ids": run_ids}))
    else:
        entry = registry.promote_model(
            job["version"], "Production", reason=f"worker {job['worker']}"
        )
        print(json.dumps({"promoted": entry.version if entry else None}))


if __name__ == "__main__":
    main()
