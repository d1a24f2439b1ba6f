#!/usr/bin/env bash
# The main job, on the default store (./mlruns + ./mlartifacts) with the bundled synthetic data:
# synthesise a small dataset, train the CNN with the registry, show the registered models.
set -euo pipefail
cd "$(dirname "$0")/.."
EDM=${EDM:-.venv/bin/edm}
DATA=${DATA:-data/synthetic}
export MLFLOW_LOGGING_LEVEL=${MLFLOW_LOGGING_LEVEL:-WARNING}

"$EDM" data synth "$DATA" --tracks 16 --seed 0
"$EDM" train "$DATA" --epochs 10 --description demo --tag experiment=demo --tag dataset_version=synthetic-v1
"$EDM" models list
