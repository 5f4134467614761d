"""Training steps per second of PreAct ResNet-18 (batch 128, CIFAR-shaped random data) on this machine:
the project's loop (`mixup_nb.train.train_step` fed by `DeviceLoader`, channels_last) against a plain reference loop
in the authors' style (contiguous fp32, torchvision `DataLoader` with PIL RandomCrop + Flip + ToTensor + Normalize).

A benchmark, not a test: run it by hand and quote what it prints.
    python bench/bench_train.py                    # 5 warm-up + 10 timed steps per loop, in 2 alternating rounds
    python bench/bench_train.py --amp --compile    # also the project's loop with bf16 autocast, and with torch.compile
It also times `train_step` alone on one batch prepared once: the most any input path could give in fp32.
"""
import argparse, json, math, os, platform, sys, time
from pathlib import Path
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mixup_nb.data import DeviceLoader, TensorDataset
from mixup_nb.mixup import mixup_data
from mixup_nb.models import get_model
from mixup_nb.train import train_step, amp_setup

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)   # the authors' CIFAR-10 normalization

def fake_cifar(n: int, seed: int = 0) -> TensorDataset:
    "n random CIFAR-shaped uint8 images (3 x 32 x 32) with labels in 0..9."
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (n,), generator=g), [str(i) for i in range(10)], 'CIFAR10', 'train')

def project_steps(ds, batch, channels_last=True, amp=False, compile=False):
    "The project's loop, one step per `next()`: device-resident batches, crop+flip and mixup on tensors, `train_step`."
    torch.manual_seed(0)
    model = get_model('ResNet18_CIFAR10', num_classes=10, in_channels=3)
    if channels_last: model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    fwd = torch.compile(model) if compile else model
    amp_dtype = amp_setup(torch.device('cpu'), amp)[0]
    g = torch.Generator().manual_seed(0)
    dl = DeviceLoader(ds, batch, 'cpu', shuffle=True, augment='crop_flip', mean=MEAN, std=STD, generator=g, drop_last=True)
    model.train()
    while True:
        for xb, yb in dl:
            xb, ya, yb2, lam = mixup_data(xb, yb, 1.0, g)
            if channels_last: xb = xb.contiguous(memory_format=torch.channels_last)
            loss, _ = train_step(fwd, opt, xb, ya, yb2, lam, amp_dtype=amp_dtype)
            loss.item()                                     # fit reads the loss every step (the NaN check)
            yield

def compute_only_steps(ds, batch):
    "The ceiling for any input path: the same model, optimizer and `train_step` (channels_last, fp32) on one batch prepared once."
    torch.manual_seed(0)
    model = get_model('ResNet18_CIFAR10', num_classes=10, in_channels=3).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x = (ds.x[:batch].float() / 255).contiguous(memory_format=torch.channels_last); y = ds.y[:batch]
    model.train()
    while True:
        loss, _ = train_step(model, opt, x, y, y, 1.0)
        loss.item()
        yield

class PILDataset(torch.utils.data.Dataset):
    "The same images as PIL images, through torchvision transforms: how the authors' train.py feeds CIFAR."
    def __init__(self, ds, transform):
        self.x, self.y, self.transform = ds.x.permute(0, 2, 3, 1).numpy(), ds.y.numpy(), transform
    def __len__(self): return len(self.y)
    def __getitem__(self, i):
        from PIL import Image
        return self.transform(Image.fromarray(self.x[i])), int(self.y[i])

def reference_steps(ds, batch, workers=2):
    "The authors' style, one step per `next()`: DataLoader + PIL transforms, numpy lambda, contiguous fp32."
    import torchvision.transforms as T
    torch.manual_seed(0); np.random.seed(0)
    model = get_model('ResNet18_CIFAR10', num_classes=10, in_channels=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    dl = torch.utils.data.DataLoader(PILDataset(ds, tf), batch_size=batch, shuffle=True, num_workers=workers,
                                     drop_last=True, persistent_workers=workers > 0)
    model.train()
    while True:
        for x, y in dl:
            lam = np.random.beta(1.0, 1.0); index = torch.randperm(x.size(0))
            x = lam * x + (1 - lam) * x[index]
            out = model(x)
            loss = lam * F.cross_entropy(out, y) + (1 - lam) * F.cross_entropy(out, y[index])
            opt.zero_grad(); loss.backward(); opt.step()
            loss.item()
            yield

def timed(loops: dict, warmup: int, steps: int, rounds: int, log=print) -> dict:
    "Steps per second of each loop: `warmup` untimed steps each, then `rounds` alternating blocks, `steps` timed steps in all."
    for name, it in loops.items():
        for _ in range(warmup): next(it)
    spent, done = {k: 0.0 for k in loops}, {k: 0 for k in loops}
    for r in range(rounds):
        for name, it in loops.items():
            k = steps // rounds + (r < steps % rounds)
            t0 = time.perf_counter()
            for _ in range(k): next(it)
            spent[name] += time.perf_counter() - t0; done[name] += k
            log(f"  round {r + 1}/{rounds} {name}: {k} steps in {spent[name]:.1f} s so far")
    return {k: done[k] / spent[k] for k in loops}

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--steps', type=int, default=10, help='timed steps per loop (default 10)')
    ap.add_argument('--warmup', type=int, default=5, help='untimed steps first (default 5)')
    ap.add_argument('--batch-size', type=int, default=128)
    ap.add_argument('--rounds', type=int, default=2, help='alternate the loops in this many blocks, so a change in machine load hits both (default 2)')
    ap.add_argument('--workers', type=int, default=2, help="reference DataLoader workers (default 2, the authors')")
    ap.add_argument('--amp', action='store_true', help="also time the project's loop with bf16 autocast")
    ap.add_argument('--compile', action='store_true', help="also time the project's loop with torch.compile (slow to compile)")
    ap.add_argument('--json', help='also write the numbers to this JSON file')
    a = ap.parse_args(argv)
    if min(a.steps, a.batch_size, a.rounds) < 1 or a.warmup < 0 or a.rounds > a.steps: ap.error('--steps, --batch-size and --rounds must be >= 1 (rounds <= steps), --warmup >= 0')
    n = a.batch_size * (a.warmup + a.steps + 1)
    ds = fake_cifar(n)
    print(f"PreAct ResNet-18, batch {a.batch_size}, {a.warmup} warm-up + {a.steps} timed steps; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()})", flush=True)
    loops = {'reference': reference_steps(ds, a.batch_size, a.workers), 'project': project_steps(ds, a.batch_size)}
    if a.amp: loops['project_amp_bf16'] = project_steps(ds, a.batch_size, amp=True)
    if a.compile: loops['project_compile'] = project_steps(ds, a.batch_size, compile=True)
    loops['compute_only'] = compute_only_steps(ds, a.batch_size)
    res = timed(loops, a.warmup, a.steps, a.rounds, log=lambda s: print(s, flush=True))
    what = {'reference': f"reference (DataLoader + PIL, {a.workers} workers, fp32 contiguous)",
            'project': "project (DeviceLoader + mixup on tensors, train_step, channels_last, fp32)",
            'project_amp_bf16': "project + amp (bf16 autocast)", 'project_compile': "project + torch.compile",
            'compute_only': "ceiling: train_step alone on one prepared batch (channels_last, fp32, no input path)"}
    for k, v in res.items(): print(f"{what[k]}: {v:.3f} steps/s ({v * a.batch_size:.1f} img/s)")
    for k in [k for k in res if k != 'reference']:
        print(f"ratio {k} / reference: {res[k] / res['reference']:.2f}x (goal >= 1.2x)")
    if a.json: Path(a.json).write_text(json.dumps({'args': vars(a), 'steps_per_s': res}, indent=2) + '\n')
    return res

if __name__ == '__main__':
    main()
