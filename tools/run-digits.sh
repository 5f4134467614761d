#!/usr/bin/env bash
# The main job: ERM vs mixup on DIGITS over 3 seeds, executed by papermill into runs/DIGITS/report.ipynb.
# Extra arguments go to papermill, e.g. `bash tools/run-digits.sh -p epochs 5`.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p runs/DIGITS
time papermill nbs/train.ipynb runs/DIGITS/report.ipynb --cwd nbs -p out_dir ../runs/DIGITS "$@"
echo "report: runs/DIGITS/report.ipynb  figures: runs/DIGITS/*.png  metrics: runs/DIGITS/metrics.json"
