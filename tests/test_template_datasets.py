"The papermill template on each of the paper's datasets: one epoch, one seed, on a small tree in the real on-disk format."
import json
import nbformat
import pytest
from conftest import NBS, check_run_numbers
from datatrees import write_cifar100, write_fashionmnist, write_speechcommands
from mixup_nb.recipes import get_recipe

TREES = {
    'CIFAR10': None,                                        # conftest.cifar10_report: 50 training, 20 test images
    'CIFAR100': lambda root: write_cifar100(root, n_train=50, n_test=20),
    'FASHIONMNIST': lambda root: write_fashionmnist(root, n_train=60, n_test=20),
    'COMMAND': lambda root: write_speechcommands(root, words=('yes', 'no', 'up'), n_per_word=6),
}
N_TEST = {'CIFAR10': 20, 'CIFAR100': 20, 'FASHIONMNIST': 20, 'COMMAND': 3}
N_VAL = 3                                                    # COMMAND's validation split: one clip of each word


@pytest.mark.parametrize('dataset', list(TREES))
def test_template_runs_dataset(dataset, tmp_path, papermill, request):
    if dataset == 'CIFAR10': tmp_path = request.getfixturevalue('cifar10_report')   # the session's CIFAR-10 run (batch 20)
    else:
        TREES[dataset](tmp_path / 'data')
        papermill(NBS / 'train.ipynb', tmp_path / 'report.ipynb', cwd=tmp_path,
                  params={'dataset': dataset, 'data_root': str(tmp_path / 'data'), 'verify': False, 'download': False,
                          'epochs': 1, 'seeds': [0], 'out_dir': str(tmp_path / 'run')})
    root, out_dir = tmp_path / 'data', tmp_path / 'run'
    m = json.loads((out_dir / 'metrics.json').read_text())
    assert m['parameters']['dataset'] == dataset
    grid = list(get_recipe(dataset).grid)                   # no alphas given: the recipe's grid, the paper's
    assert grid == ([0.0, 0.1, 0.2] if dataset == 'COMMAND' else [0.0, 1.0])
    assert [(r['alpha'], r['seed']) for r in m['runs']] == [(a, 0) for a in grid]
    model = get_recipe(dataset).model                       # each dataset's recipe model
    for r in m['runs']:
        assert r['config']['dataset'] == dataset and r['config']['model'] == model
        log = check_run_numbers(out_dir, r, n_test=N_TEST[dataset], epochs=1)   # the error is that of the saved predictions
        csv = (out_dir / r['csv']).read_text().splitlines()
        assert len(csv) == 2 and csv[0].startswith('epoch,')
        if dataset == 'COMMAND':                            # validation and test, every epoch, in the CSV and the summary
            assert csv[0].endswith('test_loss,test_error,test_ece,val_loss,val_error,val_ece') and r['config']['data_version'] == 'v0.01'
            assert r['best_val_epoch'] == 1 and r['test_error_at_best_val'] == r['final_test_error']
            assert r['val_error_at_best_val'] == log.val_error.iloc[0] and wrong_of(r['val_error_at_best_val'], N_VAL) in range(N_VAL + 1), r
        else:
            assert 'val_error' not in csv[0] and 'val_error_at_best_val' not in r
    import numpy as np
    pred = np.load(out_dir / m['runs'][0]['pred'])
    assert len(pred['y']) == N_TEST[dataset]                  # evaluated on the tree's test split
    assert (out_dir / 'mixed_examples.png').stat().st_size > 5000
    nb = nbformat.read(tmp_path / 'report.ipynb', as_version=4)
    pngs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
    assert len(pngs) >= 3
    if dataset == 'COMMAND':                                   # the spectrograms were cached under the data root
        assert list((root / 'SpeechCommands' / 'mixup_nb_spectrograms').glob('speech_commands_v0.01-train-*.pt'))
        html = ''.join(''.join(o.get('data', {}).get('text/html', '')) for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []))
        assert 'validation error % (at the epoch of lowest validation error)' in html and 'paper validation / test error %' in html
        assert '4.0 (as quoted) / 3.8 (as quoted)' in html       # VGG-11, alpha 0.1: the paper's validation / test


def test_template_speech_v002(tmp_path, papermill):
    "v0.02 (35 words) stays one parameter away, and the run records which version it trained on."
    root, out_dir = tmp_path / 'data', tmp_path / 'run'
    write_speechcommands(root, words=('yes', 'no', 'up', 'learn'), n_per_word=6, version='v0.02')
    papermill(NBS / 'train.ipynb', tmp_path / 'report.ipynb', cwd=tmp_path,
              params={'dataset': 'COMMAND', 'data_version': 'v0.02', 'data_root': str(root), 'alphas': [0.2],
                      'epochs': 1, 'seeds': [0], 'out_dir': str(out_dir)})
    m = json.loads((out_dir / 'metrics.json').read_text())
    assert m['parameters']['data_version'] == 'v0.02' and m['runs'][0]['config']['data_version'] == 'v0.02'
    assert len(np_load(out_dir / m['runs'][0]['pred'])['y']) == 4        # the v0.02 tree's test split
    md = ''.join(''.join(o.get('data', {}).get('text/markdown', '')) for c in nbformat.read(tmp_path / 'report.ipynb', as_version=4).cells
                 if c.cell_type == 'code' for o in c.get('outputs', []))
    assert '**data** COMMAND v0.02' in md


def np_load(p):
    import numpy as np
    return np.load(p)


def wrong_of(error_pct: float, n: int):
    "How many of `n` examples an error in % stands for; None if it is no whole number of them."
    k = error_pct * n / 100
    return round(k) if abs(k - round(k)) < 1e-9 else None
