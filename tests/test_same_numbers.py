"""One number per config: the same DIGITS run gives byte-identical CSVs whether `fit`, `mixup-train`, the papermill
template or `mixup-sweep` (Ray, which sets one thread per task) launches it, because the torch thread count is part of
the config and `fit` sets it."""
import os, subprocess, sys
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
RUN = dict(dataset='DIGITS', alpha=1.0, seed=0, epochs=2, device='cpu')


def env(**extra):
    e = {**os.environ, 'PYTHONHASHSEED': '0', 'PYTHONPATH': str(ROOT), **extra}
    e.pop('MPLBACKEND', None)
    return e


def test_fit_cli_template_sweep_agree(tmp_path, papermill):
    from mixup_nb.train import TrainConfig, fit
    before = torch.get_num_threads()
    torch.set_num_threads(1)                                     # whatever the caller had set: fit sets the config's count
    try: r = fit(TrainConfig(**RUN, out_dir=str(tmp_path / 'fit'), progress=False), log=lambda s: None)
    finally: torch.set_num_threads(before)
    assert r['config']['threads'] == 2 and r['determinism']['torch_threads'] == 2
    csvs = {'fit': Path(r['csv'])}

    cli = subprocess.run([sys.executable, '-m', 'mixup_nb.train', '--dataset', 'DIGITS', '--alpha', '1.0', '--seed', '0',
                          '--epoch', str(RUN['epochs']), '--device', 'cpu', '--quiet', '--out', str(tmp_path / 'cli')],
                         capture_output=True, text=True, env=env(OMP_NUM_THREADS='1'), timeout=600)
    assert cli.returncode == 0, cli.stderr
    csvs['mixup-train'] = tmp_path / 'cli' / 'results' / 'log_DigitsNet_DIGITS_alpha1_0.csv'

    papermill(ROOT / 'nbs' / 'train.ipynb', tmp_path / 'report.ipynb', cwd=tmp_path,
              params={'dataset': 'digits', 'alphas': [1.0], 'seeds': [0], 'epochs': RUN['epochs'], 'device': 'cpu',
                      'out_dir': str(tmp_path / 'tpl')})         # 'digits': accepted as on the command line
    csvs['template'] = tmp_path / 'tpl' / 'results' / 'log_DigitsNet_alpha1_0.csv'

    grid = tmp_path / 'grid.yaml'
    grid.write_text(f"dataset: DIGITS\nalpha: 1.0\nseed: 0\nepochs: {RUN['epochs']}\ndevice: cpu\n")
    sw = subprocess.run([sys.executable, '-m', 'mixup_nb.sweep', str(grid), '--out', str(tmp_path / 'sweep'), '--no-summary'],
                        capture_output=True, text=True, env=env(), cwd=tmp_path, timeout=600)
    assert sw.returncode == 0, sw.stdout[-3000:] + sw.stderr[-3000:]
    csvs['mixup-sweep'] = tmp_path / 'sweep' / 'DIGITS' / 'DigitsNet_alpha1_seed0' / 'results' / 'log_DigitsNet_alpha1_0.csv'

    text = {k: p.read_text() for k, p in csvs.items()}
    assert len(text['fit'].splitlines()) == RUN['epochs'] + 1
    assert all(t == text['fit'] for t in text.values()), {k: t.splitlines()[-1] for k, t in text.items()}
