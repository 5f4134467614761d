"""Training steps per second of PreAct ResNet-18 (batch 128, CIFAR-shaped random data) on one device (the GPU when
there is one, else the CPU; `--device` chooses): the project's loop (`mixup_nb.train.train_step` fed by `DeviceLoader`,
with `fit`'s default settings for that device) against a plain reference loop in the authors' style (contiguous fp32,
torchvision `DataLoader` with PIL RandomCrop + Flip + ToTensor + Normalize on CPU workers, batches copied to the device).

A benchmark, not a test: run it by hand and quote what it prints.
    python bench/bench_train.py                    # 5 warm-up + 10 timed steps per loop, in 2 alternating rounds
    python bench/bench_train.py --amp --compile    # also the project's loop with amp, and with torch.compile
    python bench/bench_train.py --device cpu       # the CPU even where a GPU is present
It also times `train_step` alone on one batch prepared once on the device: the most any input path could give.
The clock is read only after the device has finished its queued work (`torch.cuda.synchronize`); it prints the device's
name, each loop's peak memory, the load average, and the projected time of the paper's 200-epoch CIFAR recipe.
"""
import argparse, json, math, os, resource, sys, time
from pathlib import Path
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mixup_nb.data import DeviceLoader, TensorDataset
from mixup_nb.mixup import mixup_data
from mixup_nb.models import get_model
from mixup_nb.core import get_device
from mixup_nb.config import amp_setup
from mixup_nb.train import train_step
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine, describe, ratio_line, cpu_model

EPOCH, RECIPE_EPOCHS = 50_000, 200     # CIFAR's training set and the paper's epochs (section 3.2)

def sync(device):
    "Wait for the device to finish its queued work: the clock must not stop while kernels still run."
    if device.type == 'cuda': torch.cuda.synchronize(device)
    elif device.type == 'mps': torch.mps.synchronize()

def device_name(device) -> str:
    if device.type == 'cuda':
        p = torch.cuda.get_device_properties(device)
        return f"{p.name} (compute capability {p.major}.{p.minor}, {p.total_memory / 2**30:.0f} GiB)"
    return f"CPU {cpu_model()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"

def peak_memory(device) -> str:
    "The device's peak allocated memory since the last reset (CUDA), else the process's peak resident memory."
    if device.type == 'cuda': return f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB peak on the GPU"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB process peak RSS"

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)   # the authors' CIFAR-10 normalization

def fake_cifar(n: int, seed: int = 0) -> TensorDataset:
    "n random CIFAR-shaped uint8 images (3 x 32 x 32) with labels in 0..9."
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                         torch.randint(0, 10, (n,), generator=g), [str(i) for i in range(10)], 'CIFAR10', 'train')

def project_steps(ds, batch, device, channels_last=False, amp=False, compile=False, check_every=50):
    "The project's loop, one step per `next()`: device-resident batches, crop+flip and mixup on tensors, `train_step`."
    torch.manual_seed(0)
    model = get_model('ResNet18_CIFAR10', num_classes=10, in_channels=3).to(device)
    if channels_last: model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    fwd = torch.compile(model) if compile else model
    amp_dtype, use_scaler = amp_setup(device, amp)
    scaler = torch.amp.GradScaler(device.type) if use_scaler else None
    g = torch.Generator().manual_seed(0)
    dl = DeviceLoader(ds, batch, device, shuffle=True, augment='crop_flip', mean=MEAN, std=STD, generator=g, drop_last=True)
    model.train(); losses = []
    while True:
        for xb, yb in dl:
            xb, ya, yb2, lam = mixup_data(xb, yb, 1.0, g)
            if channels_last: xb = xb.contiguous(memory_format=torch.channels_last)
            loss, _ = train_step(fwd, opt, xb, ya, yb2, lam, scaler, amp_dtype)
            losses.append(loss)
            if len(losses) == check_every: torch.stack(losses).tolist(); losses = []   # fit reads the losses every 50 steps
            yield

def compute_only_steps(ds, batch, device, channels_last=False, amp=False):
    "The ceiling for any input path: the same model, optimizer and `train_step` on one batch prepared once on the device."
    torch.manual_seed(0)
    model = get_model('ResNet18_CIFAR10', num_classes=10, in_channels=3).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    amp_dtype, use_scaler = amp_setup(device, amp)
    scaler = torch.amp.GradScaler(device.type) if use_scaler else None
    x = (ds.x[:batch].float() / 255).to(device).contiguous(memory_format=fmt); y = ds.y[:batch].to(device)
    model.train()
    while True:
        train_step(model, opt, x, y, y, 1.0, scaler, amp_dtype)
        yield

class PILDataset(torch.utils.data.Dataset):
    "The same images as PIL images, through torchvision transforms: how the authors' train.py feeds CIFAR."
    def __init__(self, ds, transform):
        self.x, self.y, self.transform = ds.x.permute(0, 2, 3, 1).numpy(), ds.y.numpy(), transform
    def __len__(self): return len(self.y)
    def __getitem__(self, i):
        from PIL import Image
        return self.transform(Image.fromarray(self.x[i])), int(self.y[i])

def reference_steps(ds, batch, device, workers=2):
    "The authors' style, one step per `next()`: DataLoader + PIL transforms, numpy lambda, contiguous fp32, `loss.item()` each step."
    import torchvision.transforms as T
    torch.manual_seed(0); np.random.seed(0)
    model = get_model('ResNet18_CIFAR10', num_classes=10, in_channels=3).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    dl = torch.utils.data.DataLoader(PILDataset(ds, tf), batch_size=batch, shuffle=True, num_workers=workers,
                                     drop_last=True, persistent_workers=workers > 0, pin_memory=device.type == 'cuda')
    model.train()
    while True:
        for x, y in dl:
            x, y = x.to(device), y.to(device)                  # the authors' train.py: inputs.cuda(), targets.cuda()
            lam = np.random.beta(1.0, 1.0); index = torch.randperm(x.size(0), device=device)
            x = lam * x + (1 - lam) * x[index]
            out = model(x)
            loss = lam * F.cross_entropy(out, y) + (1 - lam) * F.cross_entropy(out, y[index])
            opt.zero_grad(); loss.backward(); opt.step()
            train_loss = loss.item()                            # the authors' train.py: train_loss += loss.item()
            yield

def timed(loops: dict, warmup: int, steps: int, rounds: int, device, log=print) -> tuple:
    "Steps per second and peak memory of each loop: `warmup` untimed steps each, then `rounds` alternating blocks, `steps` timed steps in all."
    peaks = {}
    for name, it in loops.items():
        if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)
        for _ in range(warmup): next(it)
        sync(device); peaks[name] = peak_memory(device)
    spent, done = {k: 0.0 for k in loops}, {k: 0 for k in loops}
    for r in range(rounds):
        for name, it in loops.items():
            k = steps // rounds + (r < steps % rounds)
            sync(device); t0 = time.perf_counter()
            for _ in range(k): next(it)
            sync(device); spent[name] += time.perf_counter() - t0; done[name] += k
            log(f"  round {r + 1}/{rounds} {name}: {k} steps in {spent[name]:.1f} s so far")
    return {k: done[k] / spent[k] for k in loops}, peaks

def projected(steps_per_s: float, batch: int) -> str:
    "The paper's CIFAR recipe (200 epochs of 50,000 images) at this rate, training steps only (evaluation not included)."
    h = RECIPE_EPOCHS * math.ceil(EPOCH / batch) / steps_per_s / 3600
    return f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} days"

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--steps', type=int, default=10, help='timed steps per loop (default 10)')
    ap.add_argument('--warmup', type=int, default=5, help='untimed steps first (default 5)')
    ap.add_argument('--batch-size', type=int, default=128)
    ap.add_argument('--rounds', type=int, default=2, help='alternate the loops in this many blocks, so a change in machine load hits both (default 2)')
    ap.add_argument('--workers', type=int, default=2, help="reference DataLoader workers (default 2, the authors')")
    ap.add_argument('--device', default=None, help="cuda, cuda:N, cpu or mps (default: cuda when a GPU is present, else cpu)")
    ap.add_argument('--amp', action='store_true', help="also time the project's loop with amp (bf16, or fp16 + grad scaler before compute capability 8.0)")
    ap.add_argument('--compile', action='store_true', help="also time the project's loop with torch.compile (slow to compile)")
    ap.add_argument('--json', help='also write the numbers to this JSON file')
    a = ap.parse_args(argv)
    if min(a.steps, a.batch_size, a.rounds) < 1 or a.warmup < 0 or a.rounds > a.steps: ap.error('--steps, --batch-size and --rounds must be >= 1 (rounds <= steps), --warmup >= 0')
    try: device = get_device(a.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    except ValueError as e: sys.exit(f"bench_train.py: {e}")
    cuda = device.type == 'cuda'           # fit's defaults there: amp and channels_last on (CPU: fp32, contiguous)
    n = a.batch_size * (a.warmup + a.steps + 1)
    ds = fake_cifar(n)
    start = machine(device)
    print(f"PreAct ResNet-18, batch {a.batch_size}, {a.warmup} warm-up + {a.steps} timed steps on {device}: {device_name(device)}", flush=True)
    print(f"measured on: {describe(start)}", flush=True)
    default = 'amp, channels_last' if cuda else 'fp32, contiguous'
    loops = {'reference': reference_steps(ds, a.batch_size, device, a.workers),
             'project': project_steps(ds, a.batch_size, device, channels_last=cuda, amp=cuda)}
    if a.amp and not cuda: loops['project_amp'] = project_steps(ds, a.batch_size, device, amp=True)
    if a.compile: loops['project_compile'] = project_steps(ds, a.batch_size, device, channels_last=cuda, amp=cuda, compile=True)
    loops['compute_only'] = compute_only_steps(ds, a.batch_size, device, channels_last=cuda, amp=cuda)
    res, peaks = timed(loops, a.warmup, a.steps, a.rounds, device, log=lambda s: print(s, flush=True))
    amp_name = str(amp_setup(device, True)[0]).replace('torch.', '')
    what = {'reference': f"reference (DataLoader + PIL, {a.workers} workers, fp32 contiguous)",
            'project': f"project (DeviceLoader + mixup on tensors, train_step, fit's default here: {default})",
            'project_amp': f"project + amp ({amp_name} autocast)", 'project_compile': f"project + torch.compile ({default})",
            'compute_only': f"ceiling: train_step alone on one prepared batch ({default}, no input path)"}
    for k, v in res.items():
        print(f"{what[k]}: {v:.3f} steps/s ({v * a.batch_size:.1f} img/s), {peaks[k]}; 200 CIFAR epochs: {projected(v, a.batch_size)}")
    for k in [k for k in res if k != 'reference']:
        print(ratio_line(f"ratio {k} / reference", res[k] / res['reference'], start, device))
    if a.json: Path(a.json).write_text(json.dumps({'args': vars(a), 'device': str(device), 'device_name': device_name(device),
                                                    'steps_per_s': res, 'peak_memory': peaks, 'machine': start,
                                                    'machine_at_end': machine(device)}, indent=2) + '\n')
    return res

if __name__ == '__main__':
    main()
