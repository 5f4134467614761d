"""Training speed of each of the paper's networks on one device, and the projected wall-clock time of its full recipe.

For each network (PreAct ResNet-18, WRN-28-10, DenseNet-BC-190 on CIFAR-shaped input; VGG-11 and LeNet on Speech
Commands spectrograms, 1 x 161 x 101) it trains a fixed number of steps with the recipe's batch size and optimizer on
random data of the right shape (`mixup_nb.train.train_step`, mixup alpha 1), once per setting: fp32, + amp,
+ channels_last, + compile, and all three. It prints steps/s, images/s, the peak memory and the projected time of the
recipe's training steps (200 CIFAR epochs of 50,000 images; 30 speech epochs of 84,843 clips, v0.02's training split;
evaluation not included).

A benchmark, not a test. On a GPU (the default when there is one):
    python bench/bench_models.py                                   # every network, every setting: 3 warm-up + 10 timed steps
On a CPU, keep it small (a few minutes):
    python bench/bench_models.py --device cpu --steps 1 --warmup 1 --settings fp32 amp --batch-size 8
(`--batch-size` overrides the recipe's; the projection then scales the measured images/s to the recipe: a rough figure.)
"""
import argparse, sys, time
from pathlib import Path
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mixup_nb.core import get_device
from mixup_nb.models import get_model, MODELS
from mixup_nb.recipes import get_recipe
from mixup_nb.mixup import mixup_data
from mixup_nb.config import resolve_config
from mixup_nb.config import amp_setup
from mixup_nb.train import train_step, make_optimizer
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import sync, device_name, peak_memory
from machine import machine, describe, loaded

# network -> (dataset whose recipe it trains with, input shape, training examples per epoch)
NETWORKS = {'ResNet18_CIFAR10': ('CIFAR10', (3, 32, 32), 50_000), 'WRN28_10': ('CIFAR10', (3, 32, 32), 50_000),
            'DenseNet190': ('CIFAR10', (3, 32, 32), 50_000), 'VGG11': ('COMMAND', (1, 161, 101), 84_843),
            'LeNet': ('COMMAND', (1, 161, 101), 84_843)}
SETTINGS = {'fp32': {}, 'amp': dict(amp=True), 'channels_last': dict(channels_last=True), 'compile': dict(compile=True),
            'all': dict(amp=True, channels_last=True, compile=True)}

def measure(name, device, batch, steps, warmup, amp=False, channels_last=False, compile=False) -> tuple:
    "Steps per second and peak memory of `steps` training steps of network `name` on random data of its input shape."
    dataset, shape, _ = NETWORKS[name]
    cfg = resolve_config(dataset=dataset, model=name, device='cpu', batch_size=batch)
    torch.manual_seed(0); g = torch.Generator().manual_seed(0)
    model = get_model(name, num_classes=MODELS[name].num_classes, in_channels=shape[0]).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt, _ = make_optimizer(model, cfg)                     # the recipe's optimizer (SGD for CIFAR, Adam for speech)
    amp_dtype, use_scaler = amp_setup(device, amp)
    scaler = torch.amp.GradScaler(device.type) if use_scaler else None
    fwd = torch.compile(model) if compile else model
    x = torch.randn(batch, *shape, device=device); y = torch.randint(0, MODELS[name].num_classes, (batch,), device=device)
    model.train()
    if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)
    def step():
        xb, ya, yb, lam = mixup_data(x, y, 1.0, g)
        train_step(fwd, opt, xb.contiguous(memory_format=fmt), ya, yb, lam, scaler, amp_dtype)
    for _ in range(warmup): step()
    sync(device); t0 = time.perf_counter()
    for _ in range(steps): step()
    sync(device)
    return steps / (time.perf_counter() - t0), peak_memory(device)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default=None, help="cuda, cuda:N, cpu or mps (default: cuda when a GPU is present, else cpu)")
    ap.add_argument('--models', nargs='+', default=list(NETWORKS), choices=list(NETWORKS), metavar='NAME', help=f"default: all of {', '.join(NETWORKS)}")
    ap.add_argument('--settings', nargs='+', default=list(SETTINGS), choices=list(SETTINGS), help=f"default: all of {', '.join(SETTINGS)}")
    ap.add_argument('--steps', type=int, default=10, help='timed steps per network and setting (default 10)')
    ap.add_argument('--warmup', type=int, default=3, help='untimed steps first (default 3; compile happens there)')
    ap.add_argument('--batch-size', type=int, default=None, help="default: each recipe's (CIFAR 128, speech 100)")
    a = ap.parse_args(argv)
    if a.steps < 1 or a.warmup < 0 or (a.batch_size is not None and a.batch_size < 1): ap.error('--steps and --batch-size must be >= 1, --warmup >= 0')
    try: device = get_device(a.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    except ValueError as e: sys.exit(f"bench_models.py: {e}")
    start = machine(device)
    print(f"{device}: {device_name(device)}; {a.warmup} warm-up + {a.steps} timed steps", flush=True)
    print(f"measured on: {describe(start)}", flush=True)
    print(f"{'network':<18}{'setting':<15}{'batch':>6}{'steps/s':>10}{'images/s':>11}  {'peak memory':<30}full recipe", flush=True)
    for name in a.models:
        dataset, _, n_train = NETWORKS[name]
        r = get_recipe(dataset, name); batch = a.batch_size or r.batch_size
        for s in a.settings:
            try: sps, peak = measure(name, device, batch, a.steps, a.warmup, **SETTINGS[s])
            except Exception as e:                   # a setting this machine cannot run (no compiler, out of memory): say so, go on
                print(f"{name:<18}{s:<15}{batch:>6}  failed: {type(e).__name__}: {str(e).splitlines()[0][:100]}", flush=True); continue
            ips = sps * batch
            hours = r.epochs * n_train / ips / 3600          # at the measured images/s; exact steps when batch is the recipe's
            when = f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
            print(f"{name:<18}{s:<15}{batch:>6}{sps:>10.3f}{ips:>11.1f}  {peak:<30}{r.epochs} epochs: {when}", flush=True)
    end = machine(device)
    print(f"load average {' '.join(f'{x:.2f}' for x in end['load_average'])} at the end" +
          (" (a loaded machine: these figures are not its speed)" if loaded(start) or loaded(end) else ""))

if __name__ == '__main__':
    main()
