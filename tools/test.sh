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
# The papermill templates that pytest runs end to end on tiny parameters (tests/test_template*.py, test_report.py,
# test_paper.py, test_claims.py, test_evidence.py) are not run a second time by nbdev_test; every other notebook is.
BY_PYTEST="train paper memorization adversarial toy tabular gan"
for t in $BY_PYTEST; do
  grep -qE "papermill\(NBS / '$t\.ipynb'" tests/*.py || { echo "FAIL: nbdev_test skips nbs/$t.ipynb but no test runs it with papermill"; exit 1; }
done
echo "== nbdev_test: every notebook under nbs/ runs (the templates pytest runs end to end apart: $BY_PYTEST)"
out=$(nbdev_test --skip_file_re "^([_.].*|($(echo $BY_PYTEST | tr ' ' '|'))\.ipynb)$" 2>&1) || { echo "$out"; echo "FAIL: nbdev_test"; exit 1; }
echo "$out"
if echo "$out" | grep -q "No files were eligible"; then echo "FAIL: nbdev_test found no notebooks"; exit 1; fi
echo "== pytest tests/"
python -m pytest tests -q -p no:cacheprovider "$@"
