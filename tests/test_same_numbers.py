"""One number per config: the same DIGITS run gives byte-identical CSVs whether `fit`, `mixup-train`, the papermill
template or `mixup-sweep` (Ray, which sets one thread per task) launches it, because the torch thread count is part of
the config and `fit` sets it. (Threads 1 and 2 already part within the first epoch: two epochs are enough to tell.)"""
import os, subprocess, sys
from pathlib import Path
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
RUN = dict(dataset='DIGITS', alpha=1.0, seed=0, epochs=2, device='cpu')


def env(**extra):
    e = {**os.environ, 'PYTHONHASHSEED': '0', 'PYTHONPATH': str(ROOT), **extra}
    e.pop('MPLBACKEND', None)
    return e


@pytest.fixture(scope='module')
def by_fit(tmp_path_factory) -> str:
    "The run's CSV from `fit`, called while the process is set to one thread (fit sets the config's count)."
    from mixup_nb.config import TrainConfig
    from mixup_nb.train import fit
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try: r = fit(TrainConfig(**RUN, out_dir=str(tmp_path_factory.mktemp('fit')), progress=False), log=lambda s: None)
    finally: torch.set_num_threads(before)
    assert r['config']['threads'] == 2 and r['determinism']['torch_threads'] == 2
    text = Path(r['csv']).read_text()
    assert len(text.splitlines()) == RUN['epochs'] + 1
    return text


def test_mixup_train_agrees_with_fit(by_fit, tmp_path):
    cli = subprocess.run([sys.executable, '-m', 'mixup_nb', '--dataset', 'DIGITS', '--alpha', '1.0', '--seed', '0',
                          '--epoch', str(RUN['epochs']), '--device', 'cpu', '--quiet', '--out', str(tmp_path / 'cli')],
                         capture_output=True, text=True, env=env(OMP_NUM_THREADS='1'), timeout=600)
    assert cli.returncode == 0, cli.stderr
    assert (tmp_path / 'cli' / 'results' / 'log_DigitsNet_DIGITS_alpha1_0.csv').read_text() == by_fit


def test_template_agrees_with_fit(by_fit, digits_report):
    "The session's DIGITS template run ('digits', accepted as on the command line) holds this run among its others."
    report, out_dir = digits_report
    assert (out_dir / 'results' / 'log_DigitsNet_alpha1_0.csv').read_text() == by_fit


def test_mixup_sweep_agrees_with_fit(by_fit, tmp_path, ray_address):
    "A sweep task on the session's Ray cluster (one thread per task, as Ray sets it) writes the same CSV."
    grid = tmp_path / 'grid.yaml'
    grid.write_text(f"dataset: DIGITS\nalpha: 1.0\nseed: 0\nepochs: {RUN['epochs']}\ndevice: cpu\n")
    sw = subprocess.run([sys.executable, '-m', 'mixup_nb.sweep', str(grid), '--out', str(tmp_path / 'sweep'), '--no-summary',
                         '--address', ray_address],
                        capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=600)
    assert sw.returncode == 0, sw.stdout[-3000:] + sw.stderr[-3000:]
    csv = tmp_path / 'sweep' / 'DIGITS' / 'DigitsNet_alpha1_seed0' / 'results' / 'log_DigitsNet_alpha1_0.csv'
    assert csv.read_text() == by_fit
