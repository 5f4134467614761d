"""The real loaders on small trees in the real on-disk formats: shapes, dtypes, labels, splits, the cache,
every bad input's one-line error, and the device input path's randomness and augmentation."""
import os
from pathlib import Path
import numpy as np
import pytest
import soundfile
import torch
import torch.nn.functional as F
import torchvision

from datatrees import (write_cifar10, write_cifar100, write_fashionmnist, write_speechcommands, write_wav, word_wave,
                       nearest_template, CIFAR10_CLASSES, CIFAR100_CLASSES, FASHIONMNIST_CLASSES)
import mixup_nb.data.audio as audio
from mixup_nb.data import (DATA_INFO, DATASETS, CIFAR_FILES, TensorDataset, DeviceLoader, load_dataset, load_cifar,
                           random_crop_flip)

DEAD_URL = 'http://127.0.0.1:9/'   # nothing listens on the discard port: every download fails at once, offline or not


def one_line_error(exc_type, fn) -> str:
    with pytest.raises(exc_type) as e: fn()
    msg = str(e.value)
    assert '\n' not in msg, f"not one line: {msg!r}"
    return msg


@pytest.fixture
def no_proxy(monkeypatch):
    for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'): monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv('no_proxy', '127.0.0.1,localhost'); monkeypatch.setenv('NO_PROXY', '127.0.0.1,localhost')


# ---------------------------------------------------------------- shapes, dtypes, labels

def test_names_and_info():
    assert DATASETS == ('CIFAR10', 'CIFAR100', 'FASHIONMNIST', 'COMMAND', 'DIGITS', 'IRIS', 'ABALONE', 'ARCENE', 'ARRHYTHMIA', 'HTRU2', 'PHISHING')
    for name, i in DATA_INFO.items():
        assert {'kind', 'in_channels', 'num_classes', 'splits', 'mean', 'std', 'augment'} <= set(i), name
    assert DATA_INFO['CIFAR10']['augment'] == DATA_INFO['CIFAR100']['augment'] == 'crop_flip'
    assert DATA_INFO['COMMAND']['augment'] is None and DATA_INFO['COMMAND']['splits'] == ('train', 'validation', 'test')


@pytest.mark.parametrize('name,writer,classes', [('CIFAR10', write_cifar10, CIFAR10_CLASSES), ('CIFAR100', write_cifar100, CIFAR100_CLASSES)])
def test_cifar_shapes_labels(tmp_path, name, writer, classes):
    info = writer(tmp_path, n_train=50, n_test=20, seed=3)
    for split, n in (('train', 50), ('test', 20)):
        ds = load_dataset(name, tmp_path, split, verify=False)
        assert isinstance(ds, TensorDataset) and (ds.name, ds.split) == (name, split)
        assert ds.x.shape == (n, 3, 32, 32) and ds.x.dtype == torch.uint8 and ds.y.dtype == torch.int64
        assert ds.classes == classes                                   # names in label order, from the meta file
        np.testing.assert_array_equal(ds.y.numpy(), info['y'][split])  # the batches in order, labels as written
        np.testing.assert_array_equal(nearest_template(ds.x.numpy(), len(classes)), ds.y.numpy())  # images beside their labels
    assert int(ds.x.max()) > 200 and int(ds.x.min()) < 50              # unnormalized 0..255


def test_cifar100_fine_labels(tmp_path):
    info = write_cifar100(tmp_path, n_train=50, n_test=20)
    ds = load_dataset('CIFAR100', tmp_path, 'train', verify=False)
    assert ds.y.max() >= 20                                            # coarse labels only go to 19
    np.testing.assert_array_equal(ds.y.numpy(), info['y']['train'])
    assert len(ds.classes) == 100 and ds.classes[ds.y[0]] == CIFAR100_CLASSES[info['y']['train'][0]]


def test_cifar_own_sums_as_data(tmp_path):
    info = write_cifar10(tmp_path)
    ds = load_cifar('CIFAR10', tmp_path, 'train', verify=True, md5=info['md5'])   # the check takes its sums as data
    assert len(ds) == 50


def test_fashionmnist_shapes_labels(tmp_path):
    info = write_fashionmnist(tmp_path, n_train=60, n_test=20)
    raw = tmp_path / 'FashionMNIST' / 'raw'
    assert (raw / 'train-images-idx3-ubyte').read_bytes()[:16] == bytes.fromhex('00000803 0000003c 0000001c 0000001c')
    for split, n in (('train', 60), ('test', 20)):
        ds = load_dataset('FASHIONMNIST', tmp_path, split)
        assert ds.x.shape == (n, 1, 28, 28) and ds.x.dtype == torch.uint8 and ds.y.dtype == torch.int64
        np.testing.assert_array_equal(ds.y.numpy(), info['y'][split])
        np.testing.assert_array_equal(nearest_template(ds.x[:, 0].numpy(), 10), ds.y.numpy())
    assert ds.classes == FASHIONMNIST_CLASSES == torchvision.datasets.FashionMNIST.classes


def test_fashionmnist_reads_what_torchvision_reads(tmp_path):
    write_fashionmnist(tmp_path, n_train=60, n_test=20)
    tv = torchvision.datasets.FashionMNIST(str(tmp_path), train=True, download=False)
    ds = load_dataset('FASHIONMNIST', tmp_path, 'train')
    assert torch.equal(ds.x[:, 0], tv.data) and torch.equal(ds.y, tv.targets)


def test_cifar_reads_what_torchvision_reads(tmp_path, monkeypatch):
    info = write_cifar10(tmp_path)
    C = torchvision.datasets.CIFAR10                                   # torchvision checks its own sums: give it ours
    monkeypatch.setattr(C, 'train_list', [[f, info['md5'][f]] for f, _ in C.train_list])
    monkeypatch.setattr(C, 'test_list', [[f, info['md5'][f]] for f, _ in C.test_list])
    monkeypatch.setattr(C, 'meta', {**C.meta, 'md5': info['md5'][C.meta['filename']]})
    tv = torchvision.datasets.CIFAR10(str(tmp_path), train=True, download=False)
    ds = load_dataset('CIFAR10', tmp_path, 'train', verify=False)
    assert np.array_equal(ds.x.permute(0, 2, 3, 1).numpy(), tv.data) and ds.y.tolist() == tv.targets and ds.classes == tv.classes


def test_default_root_is_home_data(tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    write_cifar10(tmp_path / 'data')
    assert len(load_dataset('CIFAR10', verify=False)) == 50


# ---------------------------------------------------------------- Speech Commands

def test_speechcommands_splits_shapes_labels(tmp_path):
    words = ('yes', 'no', 'up')
    info = write_speechcommands(tmp_path, words=words, n_per_word=6)
    seen = {}
    for split in ('train', 'validation', 'test'):
        ds = load_dataset('COMMAND', tmp_path, split)
        assert ds.x.shape == (info['n'][split], 1, 161, 101) and ds.x.is_floating_point() and ds.y.dtype == torch.int64
        assert ds.classes == ['no', 'up', 'yes']                       # word folders, sorted, the same for every split
        # each clip's strongest bin is its word's tone: 300 (k + 1) Hz, 50 Hz per bin
        want = torch.tensor([6 * (words.index(ds.classes[l]) + 1) for l in ds.y])
        assert torch.equal(ds.x.float()[:, 0].mean(2).argmax(1), want)
        z = ds.x.float().flatten(1)
        assert torch.allclose(z.mean(1), torch.zeros(len(z)), atol=1e-2) and torch.allclose(z.std(1), torch.ones(len(z)), atol=1e-2)
        folder, files, labels, classes = audio.speech_split(tmp_path, split)
        assert sorted(files) == sorted(info['splits'][split])          # the list files decide validation and test
        assert labels == ds.y.tolist()
        seen[split] = set(files)
    assert not (seen['train'] & seen['validation']) and not (seen['train'] & seen['test']) and not (seen['validation'] & seen['test'])
    assert not any('_background_noise_' in f for s in seen.values() for f in s)
    assert (info['folder'] / info['background'][0]).is_file()          # present in the tree, excluded from every split
    spk = {s: {Path(f).name.split('_nohash_')[0] for f in fs} for s, fs in seen.items()}
    assert not (spk['train'] & spk['validation']) and not (spk['train'] & spk['test'])


def test_speechcommands_versions_side_by_side(tmp_path):
    "v0.01 (the paper's, the default) and v0.02 read from their own folders; a wrong version is a one-line error."
    v1 = write_speechcommands(tmp_path, words=('yes', 'no', 'up'), n_per_word=6)
    v2 = write_speechcommands(tmp_path, words=('yes', 'no', 'up', 'learn'), n_per_word=6, version='v0.02')
    assert v1['folder'].name == 'speech_commands_v0.01' and v2['folder'].name == 'speech_commands_v0.02'
    assert load_dataset('COMMAND', tmp_path, 'validation').classes == ['no', 'up', 'yes']
    assert load_dataset('COMMAND', tmp_path, 'validation', version='v0.01').classes == ['no', 'up', 'yes']
    d2 = load_dataset('COMMAND', tmp_path, 'validation', version='v0.02')
    assert d2.classes == ['learn', 'no', 'up', 'yes'] and len(d2) == 4
    caches = sorted(p.name.split('-')[0] for p in (tmp_path / 'SpeechCommands' / 'mixup_nb_spectrograms').glob('*.pt'))
    assert caches == ['speech_commands_v0.01', 'speech_commands_v0.02']
    msg = one_line_error(ValueError, lambda: load_dataset('COMMAND', tmp_path, 'train', version='0.01'))
    assert msg == "unknown COMMAND version '0.01': choose one of v0.01 (30 words), v0.02 (35 words)"
    msg = one_line_error(FileNotFoundError, lambda: load_dataset('COMMAND', tmp_path / 'none', 'train', download=False, version='v0.02'))
    assert 'speech_commands_v0.02' in msg


def test_speechcommands_cache_is_reused(tmp_path, monkeypatch):
    info = write_speechcommands(tmp_path, n_per_word=6)
    first = load_dataset('COMMAND', tmp_path, 'train')
    cache_dir = tmp_path / 'SpeechCommands' / 'mixup_nb_spectrograms'
    caches = list(cache_dir.glob('speech_commands_v0.01-train-*.pt'))
    assert len(caches) == 1
    for rel in info['splits']['train']:                                # ruin every wav, keeping its size and time stamp
        p = info['folder'] / rel; st = p.stat(); p.write_bytes(b'\0' * st.st_size); os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    calls = []
    def no_read(*a, **k): calls.append(a); raise AssertionError('a wav was read')
    monkeypatch.setattr(soundfile, 'read', no_read)
    again = load_dataset('COMMAND', tmp_path, 'train')
    assert calls == [] and torch.equal(again.x, first.x) and torch.equal(again.y, first.y) and again.classes == first.classes


def test_speechcommands_cache_not_stale(tmp_path, monkeypatch):
    info = write_speechcommands(tmp_path, n_per_word=6)
    first = load_dataset('COMMAND', tmp_path, 'train')
    write_wav(info['folder'] / 'no' / 'abcdef00_nohash_1.wav', word_wave(1, 16000, np.random.default_rng(0)))
    grown = load_dataset('COMMAND', tmp_path, 'train')                 # a new clip: a new key, the wavs decoded again
    assert len(grown) == len(first) + 1
    caches = list((tmp_path / 'SpeechCommands' / 'mixup_nb_spectrograms').glob('*-train-*.pt'))
    assert len(caches) == 1                                            # the stale cache is gone
    monkeypatch.setattr(audio, 'CACHE_VERSION', audio.CACHE_VERSION + 1)   # a changed recipe: rebuilt, not served stale
    reads = []
    real_read = soundfile.read
    monkeypatch.setattr(soundfile, 'read', lambda *a, **k: (reads.append(a), real_read(*a, **k))[1])
    assert torch.equal(load_dataset('COMMAND', tmp_path, 'train').x, grown.x) and len(reads) == len(grown)


def test_speechcommands_cache_not_stale_after_same_size_replacement(tmp_path):
    "A wav replaced by another clip of the same size (another word) is decoded again, not served from the cache."
    info = write_speechcommands(tmp_path, n_per_word=6)
    first = load_dataset('COMMAND', tmp_path, 'train')
    rel = info['splits']['train'][0]; p = info['folder'] / rel
    old = p.stat()
    other = next(w for w in ('yes', 'no', 'up', 'down') if w != rel.split('/')[0])
    n = len(soundfile.read(str(p))[0])
    write_wav(p, word_wave(('yes', 'no', 'up', 'down').index(other), n, np.random.default_rng(5)))
    assert p.stat().st_size == old.st_size
    if p.stat().st_mtime_ns == old.st_mtime_ns:                        # a file system with coarse time stamps: a later copy
        os.utime(p, ns=(old.st_atime_ns, old.st_mtime_ns + 2 * 10**9))
    again = load_dataset('COMMAND', tmp_path, 'train')
    changed = (again.x != first.x).flatten(1).any(1)
    assert changed.sum() == 1                                          # the new clip's spectrogram, and only it


def test_speechcommands_corrupt_cache_is_rebuilt(tmp_path):
    write_speechcommands(tmp_path, n_per_word=6)
    first = load_dataset('COMMAND', tmp_path, 'test')
    (cache,) = (tmp_path / 'SpeechCommands' / 'mixup_nb_spectrograms').glob('*-test-*.pt')
    cache.write_bytes(cache.read_bytes()[:100])
    assert torch.equal(load_dataset('COMMAND', tmp_path, 'test').x, first.x)
    assert cache.stat().st_size > 1000


# ---------------------------------------------------------------- bad input: one-line errors

HAND = {'CIFAR10': 'save https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz as {root}/cifar-10-python.tar.gz',
        'CIFAR100': 'save https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz as {root}/cifar-100-python.tar.gz',
        'FASHIONMNIST': 'save train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ into {root}/FashionMNIST/raw',
        'COMMAND': 'save http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz as {root}/speech_commands_v0.01.tar.gz'}


@pytest.mark.parametrize('name,where', [('CIFAR10', 'cifar-10-batches-py'), ('CIFAR100', 'cifar-100-python'),
                                        ('FASHIONMNIST', 'FashionMNIST/raw'), ('COMMAND', 'SpeechCommands/speech_commands_v0.01')])
def test_missing_without_download(tmp_path, name, where):
    msg = one_line_error(FileNotFoundError, lambda: load_dataset(name, tmp_path, 'train', download=False))
    assert msg == (f"{name} not found under {tmp_path / where}, and download=False keeps this machine offline. To place it by hand: "
                   f"{HAND[name].format(root=tmp_path)} (it is checked and unpacked at the next run); or allow the download (download=True, drop --no-download)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('name,where', [('CIFAR10', 'cifar-10-batches-py'), ('CIFAR100', 'cifar-100-python'),
                                        ('FASHIONMNIST', 'FashionMNIST/raw'), ('COMMAND', 'SpeechCommands/speech_commands_v0.01')])
def test_missing_and_download_fails(tmp_path, monkeypatch, no_proxy, name, where):
    # every source pointed at a closed local port: what a machine without network sees
    import mixup_nb.data as data
    monkeypatch.setitem(data.SOURCES, name, [{**e, 'url': DEAD_URL + e['file']} for e in data.SOURCES[name]])
    msg = one_line_error(FileNotFoundError, lambda: load_dataset(name, tmp_path, 'train'))
    assert msg.startswith(f"{name} not found under {tmp_path / where}, and fetching {DEAD_URL}"), msg
    assert ' failed: <urlopen error' in msg and msg.endswith("(it is checked and unpacked at the next run)"), msg
    assert list(tmp_path.iterdir()) == []                              # nothing half-written, not even a folder


def test_incomplete_cifar_names_missing_file(tmp_path):
    info = write_cifar10(tmp_path); (info['folder'] / 'data_batch_4').unlink()
    msg = one_line_error(FileNotFoundError, lambda: load_dataset('CIFAR10', tmp_path, 'train', download=False, verify=False))
    assert msg.startswith(f"CIFAR10 not found under {info['folder']}: missing data_batch_4, and download=False keeps this machine offline.")
    assert len(load_dataset('CIFAR10', tmp_path, 'test', download=False, verify=False)) == 20    # the test split needs no training batch


@pytest.mark.parametrize('name,writer,first', [('CIFAR10', write_cifar10, 'data_batch_1'), ('CIFAR100', write_cifar100, 'train')])
def test_md5_mismatch(tmp_path, name, writer, first):
    info = writer(tmp_path)
    msg = one_line_error(ValueError, lambda: load_dataset(name, tmp_path, 'train'))   # torchvision's sums vs our copy
    assert msg.startswith(f"{name}: md5 mismatch for {info['folder'] / first}: expected {CIFAR_FILES[name]['md5'][first]}, got {info['md5'][first]}")
    assert 'verify=False' in msg and 'download=True' in msg
    assert len(load_dataset(name, tmp_path, 'train', verify=False)) == 50      # verify=False reads the local copy


def test_md5_catches_one_changed_byte(tmp_path):
    info = write_cifar10(tmp_path)
    p = info['folder'] / 'data_batch_5'; b = bytearray(p.read_bytes()); b[-50] ^= 1; p.write_bytes(bytes(b))
    msg = one_line_error(ValueError, lambda: load_cifar('CIFAR10', tmp_path, 'train', md5=info['md5']))
    assert f"md5 mismatch for {p}: expected {info['md5']['data_batch_5']}" in msg


def test_truncated_cifar(tmp_path):
    info = write_cifar10(tmp_path)
    p = info['folder'] / 'data_batch_2'; p.write_bytes(p.read_bytes()[:3000])
    msg = one_line_error(ValueError, lambda: load_dataset('CIFAR10', tmp_path, 'train', verify=False))
    assert msg.startswith(f"CIFAR10: cannot read {p}: truncated or not a CIFAR pickle")
    msg = one_line_error(ValueError, lambda: load_cifar('CIFAR10', tmp_path, 'train', md5=info['md5']))   # verify=True: caught by the sum
    assert f"md5 mismatch for {p}" in msg


def test_cifar_wrong_shape(tmp_path):
    import pickle
    info = write_cifar10(tmp_path)
    with open(info['folder'] / 'test_batch', 'wb') as f:
        pickle.dump({'data': np.zeros((4, 1000), np.uint8), 'labels': [0, 1, 2, 3]}, f, protocol=2)
    msg = one_line_error(ValueError, lambda: load_dataset('CIFAR10', tmp_path, 'test', verify=False))
    assert 'expected uint8 N x 3072 and N labels' in msg and 'test_batch' in msg


@pytest.mark.parametrize('file,cut', [('train-images-idx3-ubyte', -1), ('train-labels-idx1-ubyte', -3), ('train-images-idx3-ubyte', 10)])
def test_truncated_fashionmnist(tmp_path, file, cut):
    info = write_fashionmnist(tmp_path)
    p = info['folder'] / file; p.write_bytes(p.read_bytes()[:cut])
    msg = one_line_error(ValueError, lambda: load_dataset('FASHIONMNIST', tmp_path, 'train', verify=False))
    assert msg.startswith(f"FASHIONMNIST: {p} is truncated"), msg


def test_fashionmnist_bad_header(tmp_path):
    info = write_fashionmnist(tmp_path)
    p = info['folder'] / 't10k-labels-idx1-ubyte'; p.write_bytes(b'\x1f\x8b\x08\x00' + p.read_bytes()[4:])   # a gzip, not extracted
    msg = one_line_error(ValueError, lambda: load_dataset('FASHIONMNIST', tmp_path, 'test'))
    assert msg == f"FASHIONMNIST: {p} is not a uint8 idx file (its header starts 1f8b0800, expected 000008xx)"


def test_fashionmnist_gz_md5(tmp_path):
    write_fashionmnist(tmp_path, gz=True)                             # .gz kept beside, as torchvision leaves them
    msg = one_line_error(ValueError, lambda: load_dataset('FASHIONMNIST', tmp_path, 'train'))
    assert 'FASHIONMNIST: md5 mismatch for' in msg and 'train-images-idx3-ubyte.gz: expected 8d4fb7e6c68d591d4c3dfef9ec88bf0d' in msg
    assert len(load_dataset('FASHIONMNIST', tmp_path, 'train', verify=False)) == 60


@pytest.mark.parametrize('kind', ['rate', 'stereo', 'garbage', 'empty'])
def test_bad_wav_names_the_file(tmp_path, kind):
    info = write_speechcommands(tmp_path, n_per_word=6)
    bad = info['folder'] / 'up' / 'badbad00_nohash_0.wav'              # a training clip (in neither list)
    wave = word_wave(0, 16000, np.random.default_rng(0))
    if kind == 'rate': write_wav(bad, wave[:8000], sample_rate=8000)
    elif kind == 'stereo': write_wav(bad, np.stack([wave, wave], 1))
    elif kind == 'garbage': bad.write_bytes(b'RIFF' + bytes(200))
    else: bad.write_bytes(b'')
    msg = one_line_error(ValueError, lambda: load_dataset('COMMAND', tmp_path, 'train'))
    expected = {'rate': f"COMMAND: {bad} is sampled at 8000 Hz: expected a 16 kHz mono wav",
                'stereo': f"COMMAND: {bad} has 2 channels: expected a 16 kHz mono wav"}
    if kind in expected: assert msg == expected[kind]
    else: assert msg.startswith(f"COMMAND: cannot read {bad} (") and msg.endswith("expected a 16 kHz mono wav"), msg
    assert not list((tmp_path / 'SpeechCommands' / 'mixup_nb_spectrograms').glob('*-train-*.pt'))   # nothing cached from garbage


def test_listed_wav_missing(tmp_path):
    info = write_speechcommands(tmp_path, n_per_word=6)
    gone = info['folder'] / info['splits']['validation'][0]; gone.unlink()
    msg = one_line_error(FileNotFoundError, lambda: load_dataset('COMMAND', tmp_path, 'validation'))
    assert msg == f"COMMAND: {gone} is missing (named in validation_list.txt)"


@pytest.mark.parametrize('name,split,accepted', [('CIFAR10', 'validation', 'train, test'), ('CIFAR100', 'val', 'train, test'),
                                                 ('FASHIONMNIST', 'training', 'train, test'), ('COMMAND', 'testing', 'train, validation, test'),
                                                 ('DIGITS', 'dev', 'train, test')])
def test_unknown_split(tmp_path, name, split, accepted):
    msg = one_line_error(ValueError, lambda: load_dataset(name, tmp_path, split))
    assert msg == f"unknown split {split!r} for {name}: choose one of {accepted}"


def test_unknown_dataset():
    msg = one_line_error(ValueError, lambda: load_dataset('SVHN'))
    assert msg == ("unknown dataset 'SVHN': choose one of CIFAR10, CIFAR100, FASHIONMNIST, COMMAND, DIGITS, "
                   "IRIS, ABALONE, ARCENE, ARRHYTHMIA, HTRU2, PHISHING")


# ---------------------------------------------------------------- the device input path

def _cifar_like(n=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (n,), generator=g), CIFAR10_CLASSES, 'CIFAR10', 'train')


def test_loader_matches_per_image_reference():
    "The batched gather equals a per-image pad / crop / flip / normalize, with the same draws from the same generator."
    ds = _cifar_like(300)
    batches = list(DeviceLoader(ds, 128, shuffle=True, augment='crop_flip', generator=torch.Generator().manual_seed(7)))
    g = torch.Generator().manual_seed(7)                               # the draws, in the loader's documented order
    order = torch.randperm(300, generator=g); d = torch.randint(0, 9, (2, 300), generator=g); f = torch.randint(0, 2, (300,), generator=g)
    mean, std = torch.tensor(DATA_INFO['CIFAR10']['mean']).view(3, 1, 1), torch.tensor(DATA_INFO['CIFAR10']['std']).view(3, 1, 1)
    ref = []
    for p, i in enumerate(order.tolist()):
        im = F.pad(ds.x[i], (4, 4, 4, 4))[:, d[0, p]:d[0, p] + 32, d[1, p]:d[1, p] + 32]
        if f[p]: im = im.flip(-1)
        ref.append((im.float() / 255 - mean) / std)
    xs, ys = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    assert [len(b[1]) for b in batches] == [128, 128, 44]
    assert torch.equal(ys, ds.y[order])
    torch.testing.assert_close(xs, torch.stack(ref), rtol=0, atol=1e-5)


def test_loader_randomness_only_from_generator():
    ds = _cifar_like(200)
    def run(gen_seed, global_seed):
        torch.manual_seed(global_seed); before = torch.get_rng_state()
        g = torch.Generator().manual_seed(gen_seed)
        out = [x for x, _ in DeviceLoader(ds, 64, shuffle=True, augment='crop_flip', generator=g)]
        assert torch.equal(torch.get_rng_state(), before)              # the global RNG is never drawn from
        return torch.cat(out)
    assert torch.equal(run(0, 1), run(0, 2))
    assert not torch.equal(run(0, 1), run(1, 1))


def test_loader_resume_from_generator_state():
    "A training loop that saves the generator's state and restores it gets the same epoch again."
    ds = _cifar_like(200)
    g = torch.Generator().manual_seed(0)
    dl = DeviceLoader(ds, 64, shuffle=True, augment='crop_flip', generator=g)
    list(dl); state = g.get_state()
    second = torch.cat([x for x, _ in dl])
    g.set_state(state)
    assert torch.equal(torch.cat([x for x, _ in dl]), second)
    assert not torch.equal(torch.cat([x for x, _ in dl]), second)      # and the next epoch differs


def test_augmentation_statistics():
    "Offsets uniform over 0..8 in each direction and flips at 1/2, over many images."
    n = 20000
    x = torch.zeros(n, 1, 9, 9, dtype=torch.uint8); x[:, 0, 0, 0] = 255           # one marked corner pixel per image
    out = random_crop_flip(x, pad=4, generator=torch.Generator().manual_seed(0))
    flat = out.view(n, -1).float().argmax(1)                           # where the marked pixel landed (if inside the crop)
    seen = out.view(n, -1).amax(1) > 0
    # the marked pixel stays inside for dy <= 4 and (dx <= 4 unflipped or mirrored): 25/81 of crops, flipped or not
    assert abs(seen.float().mean().item() - 25 / 81) < 0.02
    col = (flat % 9)[seen]
    assert abs((col >= 4).float().mean().item() - (0.5 * 1 / 5 + 0.5 * 1)) < 0.03     # left half unflipped only at dx=4; always right when flipped


def test_loader_normalization_and_errors():
    ds = _cifar_like(100)
    xs = torch.cat([x for x, _ in DeviceLoader(ds, 32)])              # test loader: no shuffle, no augmentation
    mean, std = torch.tensor(DATA_INFO['CIFAR10']['mean']).view(1, 3, 1, 1), torch.tensor(DATA_INFO['CIFAR10']['std']).view(1, 3, 1, 1)
    torch.testing.assert_close(xs, (ds.x.float() / 255 - mean) / std, rtol=0, atol=1e-5)
    xs = torch.cat([x for x, _ in DeviceLoader(ds, 32, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))])
    torch.testing.assert_close(xs, (ds.x.float() / 255 - 0.5) / 0.25, rtol=0, atol=1e-5)
    spec = TensorDataset(torch.randn(10, 1, 161, 101).half(), torch.zeros(10, dtype=torch.long), ['a'], 'COMMAND', 'train')
    xb, _ = next(iter(DeviceLoader(spec, 4)))
    assert xb.dtype == torch.float32 and torch.equal(xb, spec.x[:4].float())     # COMMAND: already z-scored, mean 0 / std 1
    with pytest.raises(ValueError, match="unknown augment 'mixup': use None or 'crop_flip'"): DeviceLoader(ds, 8, augment='mixup')
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"): DeviceLoader(ds, 0)
    flat = TensorDataset(torch.zeros(4, 16, dtype=torch.uint8), torch.zeros(4, dtype=torch.long), ['a'], '', 'train')
    with pytest.raises(ValueError, match="augment 'crop_flip' needs N x C x H x W inputs"): DeviceLoader(flat, 2, augment='crop_flip')


def test_loader_feeds_mixup_from_a_real_tree(tmp_path):
    "The training path end to end on a CIFAR tree: loader batches, mixed by mixup_data with the same generator."
    from mixup_nb.mixup import mixup_data
    write_cifar10(tmp_path, n_train=50)
    ds = load_dataset('CIFAR10', tmp_path, 'train', verify=False)
    g = torch.Generator().manual_seed(0)
    n = 0
    for xb, yb in DeviceLoader(ds, 16, shuffle=True, augment=DATA_INFO['CIFAR10']['augment'], generator=g):
        state = g.get_state()
        mx, ya, yb2, lam = mixup_data(xb, yb, 1.0, g)
        # the same draws on labels 0..n-1 give the pairing itself: each mixed image is lam * its own + (1 - lam) * its partner's
        _, _, index, lam2 = mixup_data(torch.zeros(len(yb), 1), torch.arange(len(yb)), 1.0, torch.Generator().set_state(state))
        assert lam2 == lam and 0 < lam < 1 and torch.equal(ya, yb) and torch.equal(yb2, yb[index])
        torch.testing.assert_close(mx, lam * xb + (1 - lam) * xb[index], rtol=0, atol=1e-5)
        n += len(yb)
    assert n == 50
