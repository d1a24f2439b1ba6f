#!/usr/bin/env bash
# The main job on the default store (./mlruns + ./mlartifacts): log three versions, then walk
# them through Staging → Production, roll back, and show the audit trail.
set -euo pipefail
cd "$(dirname "$0")/.."
EDM=${EDM:-.venv/bin/edm}
PY=${PY:-.venv/bin/python}
export MLFLOW_LOGGING_LEVEL=${MLFLOW_LOGGING_LEVEL:-WARNING}

"$PY" - <<'PYEOF'
from pathlib import Path

import torch

from edm.registry import ModelRegistry

registry = ModelRegistry()
Path("outputs").mkdir(exist_ok=True)
for i, loss in enumerate([0.42, 0.31, 0.27], start=1):
    checkpoint = Path("outputs") / f"demo_{i}" / "best.pt"
    checkpoint.parent.mkdir(exist_ok=True)
    torch.save({"state_dict": {"w": torch.randn(4, 4)}, "epoch": 10 * i}, checkpoint)
    run_id = registry.log_model(
        model_path=checkpoint,
        run_name=f"demo-{i}",
        params={"backbone": "cnn", "learning_rate": 1e-3, "num_epochs": 10 * i},
        metrics={"best_val_loss": loss, "best_epoch": 10 * i - 1},
        tags={"experiment": "demo"},
    )
    print(f"logged run {run_id} ({checkpoint})")
PYEOF

latest=$("$EDM" models list --max-results 1 --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["version"])')
prev=$((latest - 1))
"$EDM" models promote "$prev" Staging --reason "demo: candidate"
"$EDM" models promote "$prev" Production --reason "demo: passed staging"
"$EDM" models promote "$latest" Production --reason "demo: lower val loss"
"$EDM" models rollback --reason "demo: rollback drill"
"$EDM" models list
"$EDM" models history --limit 4
"$EDM" models load-production
