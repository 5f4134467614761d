#!/usr/bin/env bash
# The main job: ERM vs mixup on DIGITS over 3 seeds, executed by papermill into runs/DIGITS/report.ipynb.
# Extra arguments go to papermill, e.g. `bash tools/run-digits.sh -p epochs 5`.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p runs/DIGITS   # papermill does not create the output notebook's folder
time papermill nbs/train.ipynb runs/DIGITS/report.ipynb "$@"   # out_dir defaults to runs/DIGITS at the project root
echo "report: runs/DIGITS/report.ipynb  figures: runs/DIGITS/*.png  metrics: runs/DIGITS/metrics.json"
