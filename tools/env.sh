# Sourced by the other scripts: makes sure .venv exists and holds this project (pip install -e ".[dev]"),
# re-installing only when setup.py or settings.ini changed. Then puts .venv/bin first on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=".venv/.mixup_nb-installed"
want="$(cat setup.py settings.ini | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing mixup_nb and its dependencies into .venv (first time: a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
# the kernel JupyterLab starts is shown as "python3", the display name nbdev_clean stores: notebooks open unmodified
grep -qs '"display_name": "python3"' .venv/share/jupyter/kernels/python3/kernel.json || .venv/bin/python tools/kernel.py install >/dev/null
export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONHASHSEED=0
