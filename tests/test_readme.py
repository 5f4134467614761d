"README.md's tables are generated from the runs: each marked section equals what `python -m mixup_nb.readme` makes of them."
import re
import shutil
from conftest import ROOT
from mixup_nb.readme import SECTIONS, generate, marked_sections, stale, main


def test_readme_sections_match_the_runs():
    have = marked_sections((ROOT / 'README.md').read_text())
    assert sorted(have) == sorted(SECTIONS), "README.md must mark exactly the generated sections"
    bad = stale(ROOT / 'README.md', generate(ROOT))
    assert not bad, f"README.md is stale in {bad}: run `python -m mixup_nb.readme` and commit README.md"


def copy_project(tmp_path, text):
    shutil.copytree(ROOT / 'runs', tmp_path / 'runs', ignore=shutil.ignore_patterns('*.ipynb', '*.png', 'results', 'checkpoint'))
    (tmp_path / 'README.md').write_text(text)


def test_readme_command_fills_a_stale_copy(tmp_path, capsys):
    text = (ROOT / 'README.md').read_text()
    ablation = generate(ROOT)['ablation-table']
    edited = re.sub(r'\d+\.\d\d ± \d+\.\d\d', '99.99 ± 0.01', ablation, count=1)   # one number changed by hand
    assert edited != ablation
    copy_project(tmp_path, text.replace(ablation, edited))
    assert main(['--check', '--root', str(tmp_path)]) == 1 and 'stale in: ablation-table' in capsys.readouterr().out
    assert main(['--root', str(tmp_path)]) == 0 and 'rewrote ablation-table' in capsys.readouterr().out
    assert (tmp_path / 'README.md').read_text() == text                  # back to what the runs say, nothing else touched
    assert sorted(f.name for f in tmp_path.iterdir()) == ['README.md', 'runs']   # no temp file left behind
    assert main(['--check', '--root', str(tmp_path)]) == 0


def test_readme_missing_marker_is_one_line(tmp_path, capsys):
    broken = (ROOT / 'README.md').read_text().replace('<!-- begin: recipes-table -->\n', '')
    copy_project(tmp_path, broken)
    assert main(['--root', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'README.md has no marked section recipes-table' in err
    assert (tmp_path / 'README.md').read_text() == broken                # nothing written
