"""Benchmark of the input paths, in one run on one machine (not a test: it asserts nothing).

(a) this project's training input path: `DeviceLoader` (whole split on the device, random crop with
    padding 4 + horizontal flip + normalization for a whole batch at once) then `mixup_data`, over a
    full epoch of CIFAR-shaped uint8 images, batch 128 (the loader is built once, as `fit` builds it once per
    run; its one-time set-up is printed apart);
(b) the reference: torchvision's `DataLoader` (2 workers, batch 128, shuffled) over a dataset that
    returns PIL images exactly as `torchvision.datasets.CIFAR10` does, with `RandomCrop(32, padding=4)`,
    `RandomHorizontalFlip()`, `ToTensor()`, `Normalize(...)`, then the same `mixup_data`;
(a0) the loader alone, without mixing;
(c) Speech Commands preparation in clips/s: cold (decode wavs + spectrograms + write the cache) and
    cached (read the cache), on a generated v0.01-format tree (the paper's version).

    python bench/bench_data.py                 # the full measurement (50,000 images)
    python bench/bench_data.py --n 5000        # a quick check
"""
import argparse, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / 'tests'))
from mixup_nb.data import DATA_INFO, TensorDataset, DeviceLoader
from mixup_nb.mixup import mixup_data
from mixup_nb.data.audio import load_speechcommands
sys.path.insert(0, str(ROOT / 'bench'))
from machine import machine, describe, ratio_line


class PILCifar(torch.utils.data.Dataset):
    "What torchvision.datasets.CIFAR10 does per item: HWC uint8 array -> PIL image -> transform."
    def __init__(self, data, targets, transform): self.data, self.targets, self.transform = data, targets, transform
    def __len__(self): return len(self.data)
    def __getitem__(self, i):
        from PIL import Image
        return self.transform(Image.fromarray(self.data[i])), self.targets[i]


def make_loader(ds, seed):
    "The project's training loader, built once per run as `fit` does (the whole split and its crop bank on the device)."
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    dl = DeviceLoader(ds, 128, 'cpu', shuffle=True, augment='crop_flip', generator=g)
    return dl, g, time.perf_counter() - t0


def epoch_project(dl, g, alpha):
    "One epoch of the project's path: the loader's batches mixed by `mixup_data`; returns (seconds, images)."
    t0 = time.perf_counter(); n = 0
    for xb, yb in dl:
        mx, ya, yb2, lam = mixup_data(xb, yb, alpha, g); n += len(yb)
    return time.perf_counter() - t0, n


def epoch_loader_only(dl):
    "One epoch of the loader's batches, not mixed; returns (seconds, images)."
    t0 = time.perf_counter(); n = 0
    for xb, yb in dl: n += len(yb)
    return time.perf_counter() - t0, n


def epoch_reference(data_hwc, targets, alpha, seed, workers):
    "One epoch of the reference pipeline (worker start-up included, as in a training loop without persistent workers)."
    import torchvision.transforms as T
    mean, std = DATA_INFO['CIFAR10']['mean'], DATA_INFO['CIFAR10']['std']
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)])
    g = torch.Generator().manual_seed(seed)
    dl = torch.utils.data.DataLoader(PILCifar(data_hwc, targets, tf), batch_size=128, shuffle=True, num_workers=workers, generator=g)
    t0 = time.perf_counter(); n = 0
    for xb, yb in dl:
        mx, ya, yb2, lam = mixup_data(xb, yb, alpha, g); n += len(yb)
    return time.perf_counter() - t0, n


def bench_images(n, repeats, workers, alpha=1.0):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8); y = rng.integers(0, 10, n)
    ds = TensorDataset(torch.from_numpy(x), torch.from_numpy(y), [str(i) for i in range(10)], 'CIFAR10', 'train')
    hwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)); targets = y.tolist()
    dl, g, setup = make_loader(ds, 0)
    print(f"  DeviceLoader set-up, once per run (the split and its padded + mirrored crop bank): {setup:.2f} s")
    proj, ref, only = [], [], []
    for r in range(repeats):     # interleaved, so all see the same machine load
        s, m = epoch_loader_only(dl); only.append(m / s)
        print(f"  repeat {r + 1}: (a0) loader alone      {m / s:>10,.0f} images/s ({s:.2f} s)", flush=True)
        s, m = epoch_project(dl, g, alpha); proj.append(m / s)
        print(f"  repeat {r + 1}: (a)  project           {m / s:>10,.0f} images/s ({s:.2f} s)", flush=True)
        s, m = epoch_reference(hwc, targets, alpha, r, workers); ref.append(m / s)
        print(f"  repeat {r + 1}: (b)  reference         {m / s:>10,.0f} images/s ({s:.2f} s)", flush=True)
    return max(proj), max(ref), max(only)


def bench_audio(clips, repeats):
    from datatrees import write_speechcommands
    words = tuple(f'w{k:02d}' for k in range(10))
    with tempfile.TemporaryDirectory() as d:
        info = write_speechcommands(d, words=words, n_per_word=max(1, clips // len(words)))
        n = sum(info['n'].values()); cold, warm = [], []
        for r in range(repeats):
            shutil.rmtree(Path(d) / 'SpeechCommands' / 'mixup_nb_spectrograms', ignore_errors=True)
            t0 = time.perf_counter()
            for s in ('train', 'validation', 'test'): load_speechcommands(d, s, log=None)
            cold.append(n / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for s in ('train', 'validation', 'test'): load_speechcommands(d, s, log=None)
            warm.append(n / (time.perf_counter() - t0))
        return n, max(cold), max(warm)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--n', type=int, default=50_000, help='CIFAR-shaped images per epoch (default 50,000: one CIFAR epoch)')
    p.add_argument('--clips', type=int, default=400, help='clips in the generated Speech Commands tree (default 400)')
    p.add_argument('--repeats', type=int, default=3, help='epochs / passes of each; the best of them is reported (default 3)')
    p.add_argument('--workers', type=int, default=2, help="the reference DataLoader's num_workers (default 2)")
    p.add_argument('--threads', type=int, default=None, help="torch intra-op threads in this process (default: torch's)")
    a = p.parse_args(argv)
    if a.threads is not None: torch.set_num_threads(a.threads)
    if a.n < 128 or a.clips < 60 or a.repeats < 1 or a.workers < 0:
        p.error("need --n >= 128, --clips >= 60 (6 per word: every split has clips), --repeats >= 1, --workers >= 0")
    start = machine('cpu')
    print(f"measured on: {describe(start)}", flush=True)
    print(f"CIFAR-shaped epoch: {a.n:,} uint8 images 3 x 32 x 32, batch 128, crop (pad 4) + flip + normalize + mixup_data (alpha 1)")
    proj, ref, only = bench_images(a.n, a.repeats, a.workers)
    print(f"best of {a.repeats}:")
    print(f"(a0) project: DeviceLoader alone (crop + flip + normalize, no mixing) {only:>8,.0f} images/s")
    print(f"(a)  project: DeviceLoader + mixup_data                            {proj:>10,.0f} images/s")
    print(f"(b)  reference: DataLoader({a.workers} workers) + PIL transforms + mixup_data {ref:>8,.0f} images/s")
    print(ratio_line('ratio (a) / (b)', proj / ref, start))
    n, cold, warm = bench_audio(a.clips, a.repeats)
    print(f"(c) Speech Commands, {n} clips (16 kHz, 1 s): cold (decode + spectrogram + cache) {cold:,.0f} clips/s; "
          f"cached {warm:,.0f} clips/s")
    print(ratio_line('ratio (c) cached / cold', warm / cold, start))


if __name__ == '__main__':
    main()
