#!/usr/bin/env bash
# The main job, on the default store (./mlruns + ./mlartifacts) with the bundled synthetic data:
# synthesise data, train a model with the registry, evaluate it, promote it to Staging and
# Production, analyse a track (with its plot), serve it with `edm serve`, send the service a
# track, fine-tune a second version from the first (edm train --init-from) and promote it through
# the gate, show the service answering with it (no restart), stop the service.
set -euo pipefail
cd "$(dirname "$0")/.."
EDM=${EDM:-.venv/bin/edm}
PY=${PY:-.venv/bin/python}
DATA=${DATA:-data/synthetic}
TEST_DATA=${TEST_DATA:-data/synthetic-test}
OUT=${OUT:-demo-output}
PORT=${EDM_DEMO_PORT:-8765}
export MLFLOW_LOGGING_LEVEL=${MLFLOW_LOGGING_LEVEL:-WARNING}

step() { printf '\n\033[1m== [%3d s] %s\033[0m\n' "$SECONDS" "$*"; }
newest_version() {
  "$PY" -c "from edm.registry import ModelRegistry; print(ModelRegistry().version_records(1)[0].version)"
}
# HTTP without curl (a fresh machine may lack it): GET a URL, POST a file as multipart "file".
get() {
  "$PY" -c 'import sys, httpx
try:
    r = httpx.get(sys.argv[1], timeout=10)
except httpx.HTTPError:
    sys.exit(1)
print(r.text); sys.exit(r.status_code != 200)' "$1"
}
post_file() {
  "$PY" -c 'import sys, httpx
with open(sys.argv[2], "rb") as f:
    r = httpx.post(sys.argv[1], files={"file": f}, timeout=300)
print(r.text); sys.exit(r.status_code != 200)' "$1" "$2"
}
# One track of the test set, and a one-line summary of the service's answer.
track() { ls "$TEST_DATA"/*.wav | head -1; }
summarise() {
  "$PY" -c 'import json, sys
a = json.load(sys.stdin); m = a["model"]; labels = ", ".join(s["label"] for s in a["sections"])
print("version %s (%s): %s BPM, %d beats, %d sections: %s" % (m["version"], m["variant"],
      a["bpm"], len(a["beats"]), len(a["sections"]), labels))'
}

step "Synthesise a training set and a test set"
"$EDM" data synth "$DATA" --tracks 16 --seed 0
"$EDM" data synth "$TEST_DATA" --tracks 2 --seed 1

step "Train version A, a quick first model: 4 epochs (tracked and registered)"
"$EDM" train "$DATA" --epochs 4 --description demo --tag experiment=demo --tag dataset_version=synthetic-v1 --no-progress
FIRST=$(newest_version)
echo "registered version $FIRST"

step "Evaluate version $FIRST on the test set (scores logged onto its run)"
"$EDM" evaluate "$TEST_DATA" --model "$FIRST" --log

step "Promote version $FIRST to Staging, then to Production"
"$EDM" models promote "$FIRST" Staging --reason "demo: evaluated on $TEST_DATA"
"$EDM" models promote "$FIRST" Production --reason "demo: passed Staging"
"$EDM" models list

step "Analyse a track with the Production model (plot in $OUT/)"
mkdir -p "$OUT"
"$EDM" analyze "$(track)" --plot --output "$OUT"

step "Start the inference service: edm serve on http://127.0.0.1:$PORT"
"$EDM" serve --port "$PORT" --poll-interval 2 > "$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  get "http://127.0.0.1:$PORT/ready" > /dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$OUT/serve.log"; exit 1; }
  sleep 0.5
done
get "http://127.0.0.1:$PORT/ready"

step "Send it a track: POST /predict"
echo "curl -F file=@$(track) http://127.0.0.1:$PORT/predict"
post_file "http://127.0.0.1:$PORT/predict" "$(track)" | summarise

step "Fine-tune version B from version $FIRST for 6 more epochs, evaluate it, promote it through the gate (the service keeps running)"
"$EDM" train "$DATA" --init-from "$FIRST" --epochs 6 --seed 1 --description demo-b --tag experiment=demo --tag dataset_version=synthetic-v1 --no-progress
SECOND=$(newest_version)
"$EDM" evaluate "$TEST_DATA" --model "$SECOND" --log
"$EDM" models promote "$SECOND" Staging --reason "demo: evaluated on $TEST_DATA"
"$EDM" models promote "$SECOND" Production --reason "demo: fine-tuned from version $FIRST, passed Staging"
"$EDM" models info "$SECOND" | grep -E "Lineage|Review" || true

step "The service follows the production alias without a restart"
for _ in $(seq 60); do
  VERSION=$(get "http://127.0.0.1:$PORT/model/info" | "$PY" -c 'import json, sys; l = json.load(sys.stdin)["variants"]["production"]["loaded"]; print(l["version"] if l else "")' || true)
  [ "$VERSION" = "$SECOND" ] && break
  sleep 1
done
post_file "http://127.0.0.1:$PORT/predict" "$(track)" | summarise
[ "$VERSION" = "$SECOND" ] || { echo "the service did not pick up version $SECOND"; exit 1; }
grep "now serves" "$OUT/serve.log" || true

step "Stop the service"
kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
trap - EXIT
"$EDM" models history
echo "done in $SECONDS s. The service's contract: docs/how-to/serve.md and the HTTP reference (make docs; /docs while it runs)."
