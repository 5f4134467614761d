"The papermill template on each of the paper's datasets: one epoch, one seed, on a small tree in the real on-disk format."
import json
import nbformat
import pytest
from conftest import NBS
from datatrees import write_cifar10, write_cifar100, write_fashionmnist, write_speechcommands
from mixup_nb.recipes import get_recipe

TREES = {
    'CIFAR10': lambda root: write_cifar10(root, n_train=50, n_test=20),
    'CIFAR100': lambda root: write_cifar100(root, n_train=50, n_test=20),
    'FASHIONMNIST': lambda root: write_fashionmnist(root, n_train=60, n_test=20),
    'COMMAND': lambda root: write_speechcommands(root, words=('yes', 'no', 'up'), n_per_word=6),
}
N_TEST = {'CIFAR10': 20, 'CIFAR100': 20, 'FASHIONMNIST': 20, 'COMMAND': 3}


@pytest.mark.parametrize('dataset', list(TREES))
def test_template_runs_dataset(dataset, tmp_path, papermill):
    root, out_dir = tmp_path / 'data', tmp_path / 'run'
    TREES[dataset](root)
    papermill(NBS / 'train.ipynb', tmp_path / 'report.ipynb', cwd=tmp_path,
              params={'dataset': dataset, 'data_root': str(root), 'verify': False, 'download': False,
                      'epochs': 1, 'seeds': [0], 'out_dir': str(out_dir)})
    m = json.loads((out_dir / 'metrics.json').read_text())
    assert m['parameters']['dataset'] == dataset
    assert [(r['alpha'], r['seed']) for r in m['runs']] == [(0.0, 0), (1.0, 0)]
    model = get_recipe(dataset).model                       # each dataset's recipe model
    for r in m['runs']:
        assert r['config']['dataset'] == dataset and r['config']['model'] == model
        assert r['epochs_run'] == 1 and 0 <= r['final_test_error'] <= 100
        csv = (out_dir / r['csv']).read_text().splitlines()
        assert len(csv) == 2 and csv[0].startswith('epoch,')
    import numpy as np
    pred = np.load(out_dir / m['runs'][0]['pred'])
    assert len(pred['y']) == N_TEST[dataset]                  # evaluated on the tree's test split
    assert (out_dir / 'mixed_examples.png').stat().st_size > 5000
    nb = nbformat.read(tmp_path / 'report.ipynb', as_version=4)
    pngs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
    assert len(pngs) >= 3
    if dataset == 'COMMAND':                                   # the spectrograms were cached under the data root
        assert list((root / 'SpeechCommands' / 'mixup_nb_spectrograms').glob('speech_commands_v0.02-train-*.pt'))
