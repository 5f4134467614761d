"""Bad inputs and faults, as a hostile user would try them: each gives ONE line naming what was wrong, a non-zero exit,
and no partial output. Most fail before any training (in-process `mixup-train`); the template and the sweep are
called where they are the subject."""
import contextlib, os, pickle, shutil, stat, tempfile
from pathlib import Path
import pytest
import torch
import datatrees
from conftest import run_main

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ['--dataset', 'DIGITS', '--device', 'cpu', '--quiet']




def tree(folder: Path) -> list:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob('*')) if folder.exists() else []


def one_line_failure(argv, expect: str) -> str:
    code, _, err = run_main(argv)
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith(('usage:', ' '))]   # argparse's usage block aside
    assert code not in (0, None), (code, err)
    assert len(lines) == 1 and expect in lines[0], f"expected one line holding {expect!r}, got:\n{err}"
    return lines[0]


class Evil:
    "Unpickling this runs `touch <flag>`."
    def __init__(self, flag): self.flag = str(flag)
    def __reduce__(self): return (os.system, (f"touch {self.flag}",))


@contextlib.contextmanager
def unprivileged():
    "Run the block as a user who cannot write to folders it does not own (root drops to nobody for the block)."
    if os.geteuid() != 0: yield; return
    os.setegid(65534); os.seteuid(65534)
    try: yield
    finally: os.seteuid(0); os.setegid(0)


@pytest.fixture
def locked_dir():
    "A folder the (unprivileged) test user cannot write to."
    d = Path(tempfile.mkdtemp(prefix='mixup-ro-'))
    os.chmod(d, 0o555)
    yield d
    os.chmod(d, 0o755); shutil.rmtree(d)


# ---- the table: argv -> the one line expected; the output folder must stay empty --------------------------
CASES = {
    'name escapes --out': (['--name', '../../../../victim/z'], "run name '../../../../victim/z' is not accepted"),
    'name is a path': (['--name', 'a/b'], "run name 'a/b' is not accepted"),
    'name is absolute': (['--name', '/abs'], "run name '/abs' is not accepted"),
    'name is empty': (['--name', ''], "run name '' is not accepted"),
    'name too long': (['--name', 'x' * 260], "is not accepted: use 1 to 100 letters"),
    'LeNet on DIGITS': (['--model', 'LeNet'], "model LeNet does not fit DIGITS's 1 x 8 x 8 input"),
    'VGG11 on DIGITS': (['--model', 'VGG11'], "model VGG11 does not fit DIGITS's 1 x 8 x 8 input"),
    'misfit caught by --dry-run': (['--model', 'VGG11', '--dry-run'], "does not fit DIGITS"),
    'threads not a count': (['--threads', '0'], "argument --threads: must be an integer >= 1"),
    'unknown dataset': (['--dataset', 'NOPE'], "unknown dataset 'NOPE'"),
}

@pytest.mark.parametrize('case', list(CASES))
def test_cli_refuses_before_work(tmp_path, case):
    argv, expect = CASES[case]
    out = tmp_path / 'a' / 'b' / 'c' / 'd' / 'out'
    one_line_failure(DIGITS + ['--out', out, '--epoch', '1'] + argv, expect)
    assert tree(tmp_path) == [], tree(tmp_path)             # nothing written, inside --out or outside it


def test_out_is_a_file(tmp_path):
    (tmp_path / 'f').write_text('')
    one_line_failure(DIGITS + ['--out', tmp_path / 'f' / 'sub', '--epoch', '1'], "is a file, not a folder")
    assert tree(tmp_path) == ['f']


def test_unwritable_out_fails_before_training(locked_dir):
    out = locked_dir / 'out'
    with unprivileged():
        line = one_line_failure(DIGITS + ['--out', out, '--epoch', '1'], f"cannot write in {locked_dir}")
    assert 'Permission denied' in line and tree(locked_dir) == []


def test_unwritable_template_out_dir(locked_dir):
    from mixup_nb.experiment import run_experiment
    with unprivileged(), pytest.raises(PermissionError, match=f"cannot write in {locked_dir}"):
        run_experiment('DIGITS', alphas=[0.0], seeds=[0], out_dir=str(locked_dir / 'x'), epochs=1, progress=False)
    assert tree(locked_dir) == []


def test_read_only_csv_is_refused_not_replaced(tmp_path):
    assert run_main(DIGITS + ['--out', tmp_path, '--epoch', '1', '--name', 'r'])[0] == 0
    csv = tmp_path / 'results' / 'log_DigitsNet_r_0.csv'
    before = csv.read_bytes(); os.chmod(csv, 0o444)
    one_line_failure(DIGITS + ['--out', tmp_path, '--epoch', '1', '--name', 'r'], f"{csv} is read-only: refusing to replace it")
    assert csv.read_bytes() == before and stat.S_IMODE(csv.stat().st_mode) == 0o444


@pytest.mark.parametrize('content, expect', [(b'', 'is empty (0 bytes'), (b'epoch 3\n', "is not a torch checkpoint: it starts with b'epoch 3\\n'")])
def test_bad_checkpoint_on_resume(tmp_path, content, expect):
    last = tmp_path / 'checkpoint' / 'ckpt_r_last_0.pt'; last.parent.mkdir(); last.write_bytes(content)
    one_line_failure(DIGITS + ['--out', tmp_path, '--epoch', '1', '--name', 'r', '--resume'], expect)
    assert tree(tmp_path) == ['checkpoint', 'checkpoint/ckpt_r_last_0.pt'] and last.read_bytes() == content


@pytest.mark.parametrize('verify', [True, False])
def test_crafted_cifar_batch_runs_nothing(tmp_path, verify):
    "A data_batch_1 whose unpickling would run os.system: refused by name, with and without --no-verify, and nothing runs."
    info = datatrees.write_cifar10(tmp_path / 'data', n_train=20, n_test=10)
    flag = tmp_path / 'code_ran'
    (info['folder'] / 'data_batch_1').write_bytes(pickle.dumps({'data': Evil(flag), 'labels': [0]}, protocol=2))
    argv = ['--dataset', 'CIFAR10', '--device', 'cpu', '--quiet', '--epoch', '1', '--no-download', '--data-root', tmp_path / 'data', '--out', tmp_path / 'out']
    expect = "refusing to read" if not verify else "md5 mismatch"
    line = one_line_failure(argv + ([] if verify else ['--no-verify']), expect)
    if verify: assert '--no-verify' in line and 'verify=False' in line          # the command line's flag, and Python's
    else: assert 'data_batch_1' in line and 'posix.system' in line
    assert not flag.exists()
    assert not (tmp_path / 'out' / 'results').exists()


def test_disk_full_names_the_file_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    "torch's writer reports a full disk as 'PytorchStreamWriter failed writing file': the error says disk full and which file."
    import mixup_nb.core as core
    real_save, calls = torch.save, []
    def save(obj, f, *a, **k):
        calls.append(f)
        if isinstance(obj, dict) and obj.get('epoch') == 2:
            raise RuntimeError("[enforce fail at inline_container.cc:626] . PytorchStreamWriter failed writing file data/22: file write failed")
        return real_save(obj, f, *a, **k)
    monkeypatch.setattr(torch, 'save', save)
    monkeypatch.setattr(core.shutil, 'disk_usage', lambda p: shutil._ntuple_diskusage(10**9, 10**9, 0))
    line = one_line_failure(DIGITS + ['--out', tmp_path, '--epoch', '2', '--name', 'full'], 'no space left on device while writing')
    assert 'the disk is full' in line and 'ckpt_full_' in line
    from mixup_nb.checkpoint import load_checkpoint
    assert load_checkpoint(tmp_path / 'checkpoint' / 'ckpt_full_last_0.pt')['epoch'] == 1     # the last good one, intact
    assert not [p for p in tree(tmp_path) if p.endswith('.tmp')]


def test_files_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try: assert run_main(DIGITS + ['--out', tmp_path, '--epoch', '1', '--name', 'm'])[0] == 0
    finally: os.umask(old)
    modes = {p: stat.S_IMODE((tmp_path / p).stat().st_mode) for p in tree(tmp_path) if (tmp_path / p).is_file()}
    assert modes and set(modes.values()) == {0o644}, modes


def test_milestone_past_the_last_epoch_warns(tmp_path):
    code, out, err = run_main(['--dataset', 'DIGITS', '--device', 'cpu', '--out', tmp_path, '--epoch', '2', '--adjustlr', '1-5'])
    assert code == 0 and 'warning: lr milestone(s) [5] at or after the last epoch (2): never applied' in out, out


# ---- the template: a bad dataset leaves no folder; duplicate or bool seeds are refused before any run ------
@pytest.mark.parametrize('kw, expect', [
    (dict(seeds=[0, 0]), "seeds [0, 0] hold [0] more than once"),
    (dict(alphas=[1.0, 1]), "alphas [1.0, 1] hold [1.0] more than once"),
    (dict(seeds=[True, 1]), "seeds must be integers, got [True, 1]"),
    (dict(dataset='NOPE'), "unknown dataset 'NOPE'"),
    (dict(epochs=2, milestones=[1.5]), "lr milestones must be integer epochs"),
    (dict(model='LeNet'), "model LeNet does not fit DIGITS"),
])
def test_experiment_refuses_before_work(tmp_path, kw, expect):
    from mixup_nb.experiment import run_experiment
    kw = {'dataset': 'DIGITS', **kw}
    with pytest.raises(ValueError) as e: run_experiment(out_dir=str(tmp_path / 'runs' / kw['dataset']), progress=False, **kw)
    assert expect in str(e.value) and '\n' not in str(e.value), str(e.value)
    assert tree(tmp_path) == []


def test_template_bad_dataset_leaves_no_folder(tmp_path, papermill):
    p = papermill(ROOT / 'nbs' / 'train.ipynb', tmp_path / 'bad.ipynb', cwd=tmp_path, params={'dataset': 'NOPE'}, check=False)
    assert p.returncode != 0 and "'NOPE'" in p.stderr and 'DIGITS, CIFAR10' in p.stderr
    assert tree(tmp_path) == ['bad.ipynb']                      # no runs/NOPE/


def test_sweep_bool_seed(tmp_path, capsys):
    from mixup_nb.sweep import main as sweep_main
    grid = tmp_path / 'g.yaml'; grid.write_text("dataset: DIGITS\nseed: [true, 1]\nepochs: 1\n")
    rc = sweep_main([str(grid), '--out', str(tmp_path / 'runs'), '--dry-run'])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and 'seed must be an integer, got True' in err, err
    assert not (tmp_path / 'runs').exists()


# ---- every other file the package deserializes: nothing in it can run -------------------------------------
def test_crafted_spectrogram_cache_is_not_run(tmp_path):
    "The Speech Commands cache is read with torch.load(weights_only=True): a crafted one is rebuilt, never run."
    from mixup_nb.data import load_dataset
    datatrees.write_speechcommands(tmp_path, n_per_word=6)
    first = load_dataset('COMMAND', tmp_path, 'train')
    flag = tmp_path / 'code_ran'
    for cache in (tmp_path / 'SpeechCommands' / 'mixup_nb_spectrograms').glob('*.pt'):
        torch.save({'x': Evil(flag)}, cache)
    again = load_dataset('COMMAND', tmp_path, 'train')
    assert not flag.exists() and torch.equal(again.x, first.x)


def test_crafted_predictions_file_is_not_run(tmp_path):
    "Prediction files are read with np.load, whose allow_pickle is False: an object array is refused, nothing runs."
    import numpy as np
    from mixup_nb.figures import load_predictions
    flag = tmp_path / 'code_ran'
    np.savez(tmp_path / 'pred.npz', conf=np.array([Evil(flag)], dtype=object), pred=np.zeros(1), y=np.zeros(1))
    with pytest.raises(ValueError, match='allow_pickle'):
        load_predictions(tmp_path, {'runs': [{'pred': 'pred.npz', 'alpha': 1.0, 'seed': 0}]})
    assert not flag.exists()


def test_crafted_sweep_grid_is_not_run(tmp_path):
    "Grids are read with yaml.safe_load: a python/object tag is refused in one line, nothing runs."
    from mixup_nb.grid import load_grid
    flag = tmp_path / 'code_ran'
    grid = tmp_path / 'g.yaml'; grid.write_text(f"alpha: !!python/object/apply:os.system ['touch {flag}']\n")
    with pytest.raises(ValueError, match='is not valid YAML'): load_grid(grid)
    assert not flag.exists()


def test_no_unrestricted_unpickling_in_the_package():
    "The audit, kept: no plain pickle.load/loads, torch.load without weights_only=True, np.load with allow_pickle, yaml.load."
    import re
    src = {p.name: p.read_text() for p in (ROOT / 'mixup_nb').glob('*.py')}
    for name, text in src.items():
        assert not re.search(r'\bpickle\.loads?\(', text), name
        assert not re.search(r'allow_pickle\s*=\s*True', text), name
        assert not re.search(r'\byaml\.(unsafe_)?load\(', text), name
        for call in re.findall(r'torch\.load\([^)]*\)', text): assert 'weights_only=True' in call, (name, call)
