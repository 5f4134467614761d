"""Small dataset trees in the REAL on-disk formats, written for tests (and the data notebooks).

Each writer lays out exactly what the real download leaves on disk, with far fewer examples, and
returns a small dict of what it wrote. Every example carries a class-dependent signal (an image
template per class, a tone per word) so that a model could learn it and a test can check that each
loaded input still sits beside its own label.

- CIFAR-10:  ROOT/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}, python pickles
             (protocol 2, as the real files) with keys data (N x 3072 uint8, channel-first), labels,
             filenames, batch_label; meta label_names, num_cases_per_batch, num_vis.
- CIFAR-100: ROOT/cifar-100-python/{train, test, meta}, keys data, fine_labels, coarse_labels,
             filenames, batch_label; meta fine_label_names, coarse_label_names.
- Fashion-MNIST: ROOT/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte, big-endian idx
             headers (0x00000803 n 28 28 / 0x00000801 n) then uint8 (optionally the .gz archives too).
- Speech Commands v0.01 (the paper's, 30 words) or v0.02 (35 words), one layout, as torchaudio extracts them:
             ROOT/SpeechCommands/speech_commands_v0.0x/<word>/<speaker>_nohash_<k>.wav (16 kHz mono int16),
             validation_list.txt, testing_list.txt, _background_noise_/*.wav (+ its README.md), README.md, LICENSE.
"""
from __future__ import annotations
import gzip, hashlib, pickle, struct
from pathlib import Path
import numpy as np

CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
CIFAR100_COARSE = ['aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables',
                   'household_electrical_devices', 'household_furniture', 'insects', 'large_carnivores',
                   'large_man-made_outdoor_things', 'large_natural_outdoor_scenes', 'large_omnivores_and_herbivores',
                   'medium_mammals', 'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals', 'trees',
                   'vehicles_1', 'vehicles_2']
CIFAR100_CLASSES = ['apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
    'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle', 'chair',
    'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur', 'dolphin',
    'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard', 'lamp',
    'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain', 'mouse',
    'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree', 'plain',
    'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket', 'rose', 'sea', 'seal',
    'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider', 'squirrel', 'streetcar', 'sunflower',
    'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor', 'train', 'trout', 'tulip',
    'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm']
FASHIONMNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
SAMPLE_RATE = 16000


def md5(path) -> str:
    "The md5 hex digest of a file."
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def class_templates(num_classes: int, shape: tuple) -> np.ndarray:
    "One fixed uint8 image per class (the same whatever the seed): the signal each example of that class carries."
    return np.stack([np.random.default_rng(1000 + c).integers(0, 256, shape, dtype=np.uint8) for c in range(num_classes)])


def class_images(labels: np.ndarray, shape: tuple, num_classes: int, rng) -> np.ndarray:
    "uint8 images: 3/4 of each is its class template, 1/4 noise, so the class can be read back from the pixels."
    t = class_templates(num_classes, shape).astype(np.float32)[labels]
    noise = rng.integers(0, 256, (len(labels),) + shape).astype(np.float32)
    return np.round(0.75 * t + 0.25 * noise).astype(np.uint8)


def nearest_template(x: np.ndarray, num_classes: int) -> np.ndarray:
    "The class whose template is nearest to each image of `x` (N x ...): recovers the label the writers used."
    t = class_templates(num_classes, x.shape[1:]).reshape(num_classes, -1).astype(np.float32)
    d = ((x.reshape(len(x), 1, -1).astype(np.float32) - t[None]) ** 2).sum(-1)
    return d.argmin(1)


def _labels(n: int, num_classes: int, rng) -> np.ndarray:
    "Labels 0, 1, ..., num_classes-1, 0, 1, ... (every class present when n >= num_classes), shuffled."
    return rng.permutation(np.arange(n) % num_classes).astype(np.int64)


def _pickle(path: Path, obj: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'wb') as f: pickle.dump(obj, f, protocol=2)


def write_cifar10(root, n_train: int = 50, n_test: int = 20, seed: int = 0) -> dict:
    "Write a CIFAR-10 tree (`cifar-10-batches-py`, five training batches) with `n_train` / `n_test` images."
    rng = np.random.default_rng(seed)
    folder = Path(root) / 'cifar-10-batches-py'
    ytr, yte = _labels(n_train, 10, rng), _labels(n_test, 10, rng)
    xtr, xte = class_images(ytr, (3, 32, 32), 10, rng), class_images(yte, (3, 32, 32), 10, rng)
    parts = np.array_split(np.arange(n_train), 5)
    for b, idx in enumerate(parts, 1):
        _pickle(folder / f'data_batch_{b}', {'batch_label': f'training batch {b} of 5', 'labels': ytr[idx].tolist(),
                'data': xtr[idx].reshape(len(idx), 3072), 'filenames': [f'img_{i:05d}.png' for i in idx]})
    _pickle(folder / 'test_batch', {'batch_label': 'testing batch 1 of 1', 'labels': yte.tolist(),
            'data': xte.reshape(n_test, 3072), 'filenames': [f'test_{i:05d}.png' for i in range(n_test)]})
    _pickle(folder / 'batches.meta', {'label_names': CIFAR10_CLASSES, 'num_cases_per_batch': len(parts[0]), 'num_vis': 3072})
    files = [f'data_batch_{b}' for b in range(1, 6)] + ['test_batch', 'batches.meta']
    return {'folder': folder, 'n': {'train': n_train, 'test': n_test}, 'classes': CIFAR10_CLASSES,
            'y': {'train': ytr, 'test': yte}, 'files': files, 'md5': {f: md5(folder / f) for f in files}}


def write_cifar100(root, n_train: int = 50, n_test: int = 20, seed: int = 0) -> dict:
    "Write a CIFAR-100 tree (`cifar-100-python`: train, test, meta) with fine and coarse labels."
    rng = np.random.default_rng(seed)
    folder = Path(root) / 'cifar-100-python'
    ytr, yte = _labels(n_train, 100, rng), _labels(n_test, 100, rng)
    xtr, xte = class_images(ytr, (3, 32, 32), 100, rng), class_images(yte, (3, 32, 32), 100, rng)
    for name, x, y in (('train', xtr, ytr), ('test', xte, yte)):
        # coarse = fine // 5 is a stand-in for the real superclass table: the loaders use fine labels only
        _pickle(folder / name, {'filenames': [f'{name}_{i:05d}.png' for i in range(len(y))], 'batch_label': f'{name} batch',
                'fine_labels': y.tolist(), 'coarse_labels': (y // 5).tolist(), 'data': x.reshape(len(y), 3072)})
    _pickle(folder / 'meta', {'fine_label_names': CIFAR100_CLASSES, 'coarse_label_names': CIFAR100_COARSE})
    files = ['train', 'test', 'meta']
    return {'folder': folder, 'n': {'train': n_train, 'test': n_test}, 'classes': CIFAR100_CLASSES,
            'y': {'train': ytr, 'test': yte}, 'files': files, 'md5': {f: md5(folder / f) for f in files}}


def idx_bytes(a: np.ndarray) -> bytes:
    "The idx encoding of a uint8 array: magic 0x0000 08 <ndim>, big-endian int32 dims, then the bytes."
    a = np.ascontiguousarray(a, dtype=np.uint8)
    return struct.pack('>I', 0x0800 + a.ndim) + struct.pack(f'>{a.ndim}I', *a.shape) + a.tobytes()


def write_fashionmnist(root, n_train: int = 60, n_test: int = 20, seed: int = 0, gz: bool = False) -> dict:
    "Write a Fashion-MNIST tree (`FashionMNIST/raw`, the four idx files; with `gz`, also their .gz archives)."
    rng = np.random.default_rng(seed)
    folder = Path(root) / 'FashionMNIST' / 'raw'; folder.mkdir(parents=True, exist_ok=True)
    ytr, yte = _labels(n_train, 10, rng), _labels(n_test, 10, rng)
    xtr, xte = class_images(ytr, (28, 28), 10, rng), class_images(yte, (28, 28), 10, rng)
    files = {}
    for prefix, x, y in (('train', xtr, ytr), ('t10k', xte, yte)):
        for kind, arr in (('images-idx3', x), ('labels-idx1', y)):
            name = f'{prefix}-{kind}-ubyte'; data = idx_bytes(arr)
            (folder / name).write_bytes(data); files[name] = folder / name
            if gz: (folder / (name + '.gz')).write_bytes(gzip.compress(data, mtime=0))
    return {'folder': folder, 'n': {'train': n_train, 'test': n_test}, 'classes': FASHIONMNIST_CLASSES,
            'y': {'train': ytr, 'test': yte}, 'files': files}


def write_wav(path, wave: np.ndarray, sample_rate: int = SAMPLE_RATE, subtype: str = 'PCM_16'):
    "Write a wav file (int16 PCM by default), creating its folder."
    import soundfile as sf
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wave, sample_rate, subtype=subtype)
    return path


def word_wave(k: int, n_samples: int, rng) -> np.ndarray:
    "A clip for the k-th word: a tone at 300 * (k + 1) Hz under a smooth envelope, plus a little noise."
    t = np.arange(n_samples) / SAMPLE_RATE
    env = np.sin(np.pi * np.arange(n_samples) / max(n_samples - 1, 1)) ** 2
    return (0.5 * env * np.sin(2 * np.pi * 300 * (k + 1) * t) + 0.02 * rng.standard_normal(n_samples)).astype(np.float32)


def write_speechcommands(root, words=('yes', 'no', 'up'), n_per_word: int = 6, seed: int = 0, version: str = 'v0.01') -> dict:
    """Write a Speech Commands tree of `version` ('v0.01', the paper's, or 'v0.02'; both archives extract to the same
    layout under ROOT/SpeechCommands/speech_commands_<version>): `n_per_word` clips per word, the two list files and
    `_background_noise_`.
    Clip j of every word belongs to speaker j, and a speaker's clips are all in one split (as in the real lists):
    j % 6 == 4 -> validation, j % 6 == 5 -> testing, else training. Every third clip is shorter than 1 s."""
    rng = np.random.default_rng(seed)
    assert version in ('v0.01', 'v0.02'), version
    folder = Path(root) / 'SpeechCommands' / f'speech_commands_{version}'
    speakers = [hashlib.sha1(f'{seed}-{j}'.encode()).hexdigest()[:8] for j in range(n_per_word)]
    splits = {'train': [], 'validation': [], 'test': []}
    for k, w in enumerate(words):
        for j, spk in enumerate(speakers):
            rel = f'{w}/{spk}_nohash_0.wav'
            n = SAMPLE_RATE if j % 3 else int(0.8 * SAMPLE_RATE)
            write_wav(folder / rel, word_wave(k, n, rng))
            splits['validation' if j % 6 == 4 else 'test' if j % 6 == 5 else 'train'].append(rel)
    (folder / 'validation_list.txt').write_text(''.join(r + '\n' for r in splits['validation']))
    (folder / 'testing_list.txt').write_text(''.join(r + '\n' for r in splits['test']))
    background = []
    for name in ('white_noise.wav', 'running_tap.wav'):   # long noise recordings, no _nohash_ in their names
        background.append(f'_background_noise_/{name}')
        write_wav(folder / background[-1], (0.1 * rng.standard_normal(3 * SAMPLE_RATE)).astype(np.float32))
    (folder / '_background_noise_' / 'README.md').write_text('Long recordings of background noise (not a word: in no split)\n')
    (folder / 'README.md').write_text(f'Speech Commands {version} (a small test tree in the real layout)\n')
    (folder / 'LICENSE').write_text('Creative Commons BY 4.0\n')
    return {'folder': folder, 'version': version, 'words': sorted(words), 'splits': splits, 'background': background,
            'n': {s: len(v) for s, v in splits.items()}}

# --- UCI tables (paper section 3.6), each in the layout the UCI repository publishes --------------------------
PHISHING_ATTRIBUTES = ['having_IP_Address', 'URL_Length', 'Shortining_Service', 'having_At_Symbol', 'double_slash_redirecting',
    'Prefix_Suffix', 'having_Sub_Domain', 'SSLfinal_State', 'Domain_registeration_length', 'Favicon', 'port', 'HTTPS_token',
    'Request_URL', 'URL_of_Anchor', 'Links_in_tags', 'SFH', 'Submitting_to_email', 'Abnormal_URL', 'Redirect', 'on_mouseover',
    'RightClick', 'popUpWidnow', 'Iframe', 'age_of_domain', 'DNSRecord', 'web_traffic', 'Page_Rank', 'Google_Index',
    'Links_pointing_to_page', 'Statistical_report']

def write_uci(root, n: int = 60, seed: int = 0) -> dict:
    """The five downloadable UCI sets under ROOT/uci/<name>/ in their real layouts, `n` rows each (Arcene: n // 3 per file);
    returns {name: rows written}. Abalone: `abalone.data` (sex,7 measurements,rings); Arcene: `arcene_{train,valid}.data`
    (space-separated integers, a trailing space, as the real files) and `.labels` (+1/-1); Arrhythmia: `arrhythmia.data`
    (280 comma-separated fields, `?` for missing); HTRU2: `HTRU_2.csv` (8 statistics, class 0/1); Phishing:
    `Training Dataset.arff` (@relation, 31 nominal @attributes, @data)."""
    rng = np.random.default_rng(seed); root = Path(root) / 'uci'; out = {}
    d = root / 'abalone'; d.mkdir(parents=True, exist_ok=True)
    rings = np.resize([5, 7, 9, 10, 12, 15], n)
    lines = [f"{'MFI'[i % 3]},{0.3 + r / 50:.3f},{0.2 + r / 60:.3f},{0.1:.3f},{r / 20:.4f},{r / 40:.4f},{r / 80:.4f},{r / 70:.3f},{r}" for i, r in enumerate(rings)]
    (d / 'abalone.data').write_text('\n'.join(lines) + '\n'); out['ABALONE'] = n
    d = root / 'arcene'; d.mkdir(parents=True, exist_ok=True); m = n // 3
    for part in ('train', 'valid'):
        y = np.resize([1, -1], m); x = rng.integers(0, 1000, (m, 10000)); x[:, 0] = 500 + 400 * y
        (d / f'arcene_{part}.data').write_text(''.join(' '.join(map(str, r)) + ' \n' for r in x))
        (d / f'arcene_{part}.labels').write_text(''.join(f"{v}\n" for v in y))
    out['ARCENE'] = 2 * m
    d = root / 'arrhythmia'; d.mkdir(parents=True, exist_ok=True)
    y = np.resize([1, 2, 10, 16], n); x = rng.normal(size=(n, 279)).round(2); x[:, 0] = y
    rows = [[str(v) for v in r] + [str(c)] for r, c in zip(x, y)]
    for r in rows[::7]: r[10] = '?'                       # missing values, as in the real file
    (d / 'arrhythmia.data').write_text(''.join(','.join(r) + '\n' for r in rows)); out['ARRHYTHMIA'] = n
    d = root / 'htru2'; d.mkdir(parents=True, exist_ok=True)
    y = np.resize([0, 1], n); x = rng.normal(size=(n, 8)) + y[:, None] * 2
    (d / 'HTRU_2.csv').write_text(''.join(','.join(f"{v:.8f}" for v in r) + f",{c}\n" for r, c in zip(x, y))); out['HTRU2'] = n
    d = root / 'phishing'; d.mkdir(parents=True, exist_ok=True)
    head = ['@relation phishing', ''] + [f"@attribute {a}  {{ -1,0,1 }}" for a in PHISHING_ATTRIBUTES] + ['@attribute Result  { -1,1 }', '', '@data']
    y = np.resize([-1, 1], n); x = rng.integers(-1, 2, (n, 30)); x[:, 7] = y
    (d / 'Training Dataset.arff').write_text('\n'.join(head) + '\n' + ''.join(','.join(map(str, r)) + f",{c}\n" for r, c in zip(x, y)))
    out['PHISHING'] = n
    return out
