"""Download by default, against a local HTTP server on 127.0.0.1 serving small archives in the real published formats:
each dataset fetched, verified, unpacked and loaded; a wrong sum, a truncated archive, an archive that does not unpack and
a dropped connection each refused in one line, with nothing half-written under data_root; download=False touches no
network; the design's command `papermill nbs/train.ipynb out.ipynb -p dataset CIFAR10` fetches and trains, and without a
server fails in one line with no run folder; `mixup-train` likewise."""
import json
import nbformat
import numpy as np
import pytest
from conftest import NBS
from dataserver import serve, dead_url, write_archives, write_sources
from mixup_nb.data import load_dataset, fetch_dataset
from mixup_nb.data.download import SOURCES_ENV

SMALL = {'CIFAR10': dict(n_train=50, n_test=20), 'CIFAR100': dict(n_train=50, n_test=20),
         'FASHIONMNIST': dict(n_train=60, n_test=20), 'COMMAND': dict(words=('yes', 'no', 'up'), n_per_word=6)}
WHERE = {'CIFAR10': 'cifar-10-batches-py', 'CIFAR100': 'cifar-100-python', 'FASHIONMNIST': 'FashionMNIST/raw',
         'COMMAND': 'SpeechCommands/speech_commands_v0.01'}


@pytest.fixture(scope='module')
def published(tmp_path_factory):
    "Each dataset's published files, built once from small trees: {dataset: write_archives(...)} and the folder holding them."
    srv = tmp_path_factory.mktemp('published')
    return srv, {ds: write_archives(srv, ds, **kw) for ds, kw in SMALL.items()}


@pytest.fixture
def local(monkeypatch, tmp_path):
    "Point $MIXUP_NB_SOURCES at `sources.json` (written by each test); no proxy for 127.0.0.1."
    for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'): monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost'); monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')
    monkeypatch.setenv(SOURCES_ENV, str(tmp_path / 'sources.json'))
    return tmp_path / 'sources.json'


def leftovers(root) -> list:
    "Everything under `root` (which may not exist)."
    return sorted(p.relative_to(root).as_posix() for p in root.rglob('*')) if root.exists() else []


def one_line_error(exc, fn) -> str:
    with pytest.raises(exc) as e: fn()
    msg = str(e.value); assert '\n' not in msg, msg
    return msg


@pytest.mark.parametrize('dataset', list(SMALL))
def test_fetched_verified_loaded(dataset, published, local, tmp_path):
    srv, pub = published
    root, requests = tmp_path / 'data', []
    with serve(srv, requests=requests) as url:
        write_sources(local, url, {dataset: pub[dataset]})
        ds = load_dataset(dataset, root, 'train')                      # download=True by default; verify=True: the mirror's sums
        first = ['/train-images-idx3-ubyte.gz', '/train-labels-idx1-ubyte.gz'] if dataset == 'FASHIONMNIST' else ['/' + f for f in pub[dataset]['files']]
        assert sorted(requests) == first                                # only what the split needs
        info = pub[dataset]['info']
        if dataset == 'COMMAND': assert len(ds) == info['n']['train'] and ds.classes == info['words']
        else: np.testing.assert_array_equal(ds.y.numpy(), info['y']['train'])
        kept = [root / 'FashionMNIST' / 'raw' / f[1:] for f in first] if dataset == 'FASHIONMNIST' else [root / f for f in pub[dataset]['files']]
        assert all(p.is_file() for p in kept)                           # archives kept beside the data, as torchvision keeps them
        assert not [p for p in leftovers(root) if '.part' in p or '.unpack' in p]
        n = len(requests)
        load_dataset(dataset, root, 'train')
        assert len(requests) == n                                      # loading again asks the server nothing
        fetch_dataset(dataset, root)                                   # what the template asks for: every split
        assert fetch_dataset(dataset, root) == []                      # all there: nothing fetched
    write_sources(local, dead_url(), {dataset: pub[dataset]})          # no server any more: still loads, from disk
    assert len(load_dataset(dataset, root, 'test')) > 0


@pytest.mark.parametrize('case', ['wrong_md5', 'truncated', 'not_an_archive', 'dropped'])
def test_refused_in_one_line_nothing_left(case, published, local, tmp_path):
    srv, pub = published
    bad, root = tmp_path / 'bad', tmp_path / 'data'
    bad.mkdir()
    archive = 'cifar-10-python.tar.gz'
    data = (srv / archive).read_bytes()
    a = {'files': dict(pub['CIFAR10']['files']), 'sums': pub['CIFAR10']['sums']}
    if case == 'wrong_md5': a['files'][archive] = '0' * 32
    if case in ('truncated', 'not_an_archive'): (bad / archive).write_bytes(data[:len(data) // 2])
    else: (bad / archive).write_bytes(data)
    if case == 'not_an_archive':                                        # a mirror whose sum matches its broken file
        import hashlib; a['files'][archive] = hashlib.md5(data[:len(data) // 2]).hexdigest()
    with serve(bad, drop={'/' + archive: 4096} if case == 'dropped' else None) as url:
        write_sources(local, url, {'CIFAR10': a})
        msg = one_line_error(FileNotFoundError, lambda: load_dataset('CIFAR10', root, 'train'))
    assert msg.startswith(f"CIFAR10 not found under {root / 'cifar-10-batches-py'}, and "), msg
    expected = {'wrong_md5': f"fetching {url}{archive} failed: its md5 is {pub['CIFAR10']['files'][archive]}, expected {'0' * 32}",
                'truncated': f"fetching {url}{archive} failed: its md5 is",
                'not_an_archive': f"{archive} (from {url}{archive}) cannot be unpacked: ",
                'dropped': f"fetching {url}{archive} failed: the connection dropped after 4096 of {len(data)} bytes"}[case]
    assert expected in msg, msg
    if case != 'not_an_archive': assert f"To place it by hand: save {url}{archive} as {root / archive}" in msg
    assert leftovers(root) == []                                        # no archive, no temp file, no folder


def test_offline_touches_no_network(published, local, tmp_path):
    srv, pub = published
    requests = []
    with serve(srv, requests=requests) as url:
        write_sources(local, url, {'FASHIONMNIST': pub['FASHIONMNIST']})
        msg = one_line_error(FileNotFoundError, lambda: load_dataset('FASHIONMNIST', tmp_path / 'data', 'test', download=False))
    assert requests == [] and leftovers(tmp_path / 'data') == []
    assert msg == (f"FASHIONMNIST not found under {tmp_path / 'data' / 'FashionMNIST' / 'raw'}, and download=False keeps this machine offline. "
                   f"To place it by hand: save t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz from {url} into "
                   f"{tmp_path / 'data' / 'FashionMNIST' / 'raw'} (it is checked and unpacked at the next run); "
                   f"or allow the download (download=True, drop --no-download)")


def test_placed_by_hand(published, local, tmp_path):
    "The archive saved where the message says, on a machine kept offline: checked and unpacked, nothing fetched."
    srv, pub = published
    root = tmp_path / 'data'; root.mkdir()
    write_sources(local, dead_url(), {'CIFAR10': pub['CIFAR10']})
    (root / 'cifar-10-python.tar.gz').write_bytes((srv / 'cifar-10-python.tar.gz').read_bytes())
    assert len(load_dataset('CIFAR10', root, 'test', download=False)) == 20


def test_design_command_fetches_and_trains(published, local, tmp_path, papermill):
    "`papermill nbs/train.ipynb out.ipynb -p dataset CIFAR10` on an empty data root (tiny epochs, a local server)."
    srv, pub = published
    root, out_dir = tmp_path / 'data', tmp_path / 'run'
    with serve(srv) as url:
        write_sources(local, url, {'CIFAR10': pub['CIFAR10']})
        papermill(NBS / 'train.ipynb', tmp_path / 'out.ipynb', cwd=tmp_path,
                  params={'dataset': 'CIFAR10', 'data_root': str(root), 'out_dir': str(out_dir), 'epochs': 1, 'seeds': [0]})
    m = json.loads((out_dir / 'metrics.json').read_text())
    assert [(r['alpha'], r['epochs_run']) for r in m['runs']] == [(0.0, 1), (1.0, 1)]
    assert m['parameters']['download'] is True and m['parameters']['verify'] is True
    assert (root / 'cifar-10-python.tar.gz').is_file() and (root / 'cifar-10-batches-py' / 'data_batch_5').is_file()
    nb = nbformat.read(tmp_path / 'out.ipynb', as_version=4)
    text = ''.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []))
    assert f"CIFAR10: fetching {url}cifar-10-python.tar.gz into {root}" in text and 'files added under' in text


def test_design_command_offline_one_line(published, local, tmp_path, papermill):
    "No server: the report stops at its first cell with one line, papermill exits non-zero, no run folder (download=False: see above)."
    srv, pub = published
    dead = dead_url()
    write_sources(local, dead, {'CIFAR10': pub['CIFAR10']})
    root, out_dir = tmp_path / 'data', tmp_path / 'run'
    p = papermill(NBS / 'train.ipynb', tmp_path / 'out.ipynb', cwd=tmp_path, check=False,
                  params={'dataset': 'CIFAR10', 'data_root': str(root), 'out_dir': str(out_dir), 'epochs': 1, 'seeds': [0]})
    assert p.returncode != 0
    assert not out_dir.exists() and leftovers(root) == []
    nb = nbformat.read(tmp_path / 'out.ipynb', as_version=4)
    errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []) if o.output_type == 'error']
    assert len(errors) == 1 and len(errors[0].traceback) == 1, errors
    line = errors[0].traceback[0]
    assert line.startswith(f"DatasetUnavailable: CIFAR10 not found under {root / 'cifar-10-batches-py'}, and "), line
    assert f"save {dead}cifar-10-python.tar.gz as {root / 'cifar-10-python.tar.gz'}" in line
    assert f"fetching {dead}cifar-10-python.tar.gz failed: <urlopen error" in line
    assert line in p.stderr + p.stdout                                  # papermill's own report shows the same line


def test_mixup_train_fetches_or_fails_in_one_line(published, local, tmp_path, capsys):
    from mixup_nb.cli import main
    srv, pub = published
    root = tmp_path / 'data'
    write_sources(local, dead_url(), {'CIFAR10': pub['CIFAR10']})
    argv = ['--dataset', 'CIFAR10', '--epoch', '1', '--batch-size', '25', '--data-root', str(root), '--out', str(tmp_path / 'o'), '-q']
    with pytest.raises(SystemExit) as e: main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 1 and len(err) == 1 and err[0].startswith(f"mixup-train: error: CIFAR10 not found under {root / 'cifar-10-batches-py'}, and fetching")
    assert not (tmp_path / 'o').exists() and leftovers(root) == []
    with serve(srv) as url:
        write_sources(local, url, {'CIFAR10': pub['CIFAR10']})
        assert main(argv) == 0
    assert (tmp_path / 'o' / 'results').is_dir() and (root / 'cifar-10-batches-py' / 'test_batch').is_file()
