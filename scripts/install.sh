#!/usr/bin/env bash
# Create or update the virtual environment VENV (default .venv) with edm and its dev tools.
#
# torch comes first, pinned, so that nothing later pulls a multi-GB CUDA build on a CPU
# machine: a local CPU wheel when pip can find one (this workplace keeps one in its
# find-links), else the CPU index on machines without an NVIDIA GPU, else the default build.
set -euo pipefail

VENV=${1:-.venv}
TORCH_VERSION=${EDM_TORCH_VERSION:-2.13.0}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true

if "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  echo "torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null) already installed"
elif probe=$(mktemp -d) && trap 'rm -rf "$probe"' EXIT &&
  "${PIP[@]}" download -q --no-deps --no-index -d "$probe" "torch==$TORCH_VERSION" >/dev/null 2>&1; then
  echo "installing torch $TORCH_VERSION from a local wheel"
  "${PIP[@]}" install -q "torch==$TORCH_VERSION" 2>&1 | grep -v '^WARNING: Location' || true
elif ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "installing torch $TORCH_VERSION (CPU build: no NVIDIA GPU here)"
  "${PIP[@]}" install -q "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu
else
  echo "installing torch $TORCH_VERSION (CUDA build)"
  "${PIP[@]}" install -q "torch==$TORCH_VERSION"
fi
has_module() { "$VENV/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)"; }
has_module torch || { echo "torch did not install" >&2; exit 1; }

"${PIP[@]}" install -q -e ".[dev,docs]" 2>&1 | grep -v '^WARNING: Location' || true
"$VENV/bin/python" -c "import edm, mlflow" || { echo "edm did not install" >&2; exit 1; }
# edm annotate's wavesurfer.js and the docs site's Mermaid from the npm registry into git-ignored
# folders. Without npm the rest works; install-services.sh installs npm and runs it again.
bash scripts/vendor-js.sh ||
  echo "the annotator page or the docs site lacks its JavaScript for now (see above)" >&2
echo "environment ready: $VENV"
