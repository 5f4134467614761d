#!/usr/bin/env bash
# The whole test suite: notebooks clean and in sync with the package, every notebook executed, pytest.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

echo "== nbdev_clean: notebooks are committed without outputs"
nbdev_clean
if [ -n "$(git status --porcelain -- nbs)" ]; then
  git status --porcelain -- nbs; echo "FAIL: nbdev_clean changed notebooks: run nbdev_clean and commit"; exit 1
fi
echo "== nbdev_export: mixup_nb/ matches the notebooks"
nbdev_export
if [ -n "$(git status --porcelain -- mixup_nb)" ]; then
  git status --porcelain -- mixup_nb; git diff --stat -- mixup_nb
  echo "FAIL: notebooks and library not in sync: run nbdev_export and commit"; exit 1
fi
echo "== nbdev_test: every notebook under nbs/ runs, plain nbdev_test (the templates on tiny settings, into temporary folders)"
out=$(nbdev_test 2>&1) || { echo "$out"; echo "FAIL: nbdev_test"; exit 1; }
echo "$out"
if echo "$out" | grep -q "No files were eligible"; then echo "FAIL: nbdev_test found no notebooks"; exit 1; fi
echo "== pytest tests/"
python -m pytest tests -q -p no:cacheprovider --durations=25 "$@"   # the 25 slowest, for keeping CI under 15 minutes
