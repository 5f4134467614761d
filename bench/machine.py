"""The provenance every benchmark prints beside its figures: the machine it measured (CPU model, cores, load average),
torch (version, threads), the device, and the code's commit. A ratio is quoted with the line printed next to it, never
without: the same script gives 53x on an idle 2-core machine and 9-27x on the same machine shared with other jobs."""
import os, platform
import torch
from mixup_nb.core import git_info


def cpu_model() -> str:
    "The CPU's marketing name from /proc/cpuinfo (Linux), else what `platform` knows."
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


def device_label(device) -> str:
    "The device, by name: the GPU's name, compute capability and memory, or 'CPU'."
    device = torch.device(device)
    if device.type == 'cuda':
        p = torch.cuda.get_device_properties(device)
        return f"{device} {p.name} (compute capability {p.major}.{p.minor}, {p.total_memory / 2**30:.0f} GiB)"
    return str(device)


def machine(device='cpu') -> dict:
    "What measured: CPU model, cores (all and usable by this process), load average now, torch, device, git commit."
    usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    return {'cpu_model': cpu_model(), 'cpu_count': os.cpu_count(), 'usable_cores': usable,
            'load_average': [round(x, 2) for x in os.getloadavg()], 'torch': torch.__version__,
            'torch_threads': torch.get_num_threads(), 'device': device_label(device), 'python': platform.python_version(),
            'git': git_info(os.path.dirname(os.path.abspath(__file__)))}


def loaded(info: dict) -> bool:
    "Busy with other work: a 1-minute load average above half the usable cores."
    return info['load_average'][0] > 0.5 * (info['usable_cores'] or 1)


def describe(info: dict, flag: bool = True) -> str:
    "One line: `machine(...)` as printed beside a figure, flagging a loaded machine (unless `flag` is False)."
    g = info['git']
    commit = f"{g['commit'][:10]}{' (uncommitted changes)' if g['dirty'] else ''}" if g.get('commit') else 'not a git checkout'
    la = ' '.join(f'{x:.2f}' for x in info['load_average'])
    return (f"CPU {info['cpu_model']}, {info['cpu_count']} cores ({info['usable_cores']} usable); load average {la}; "
            f"torch {info['torch']} ({info['torch_threads']} threads); device {info['device']}; python {info['python']}; "
            f"commit {commit}" + (" -- a loaded machine: these figures are not its speed" if flag and loaded(info) else ""))


def ratio_line(name: str, ratio: float, start: dict, device='cpu') -> str:
    "A ratio with the machine that measured it: the provenance at the start and the load average at the end."
    end = machine(device)
    worst = max(start['load_average'][0], end['load_average'][0])
    return (f"{name}: {ratio:.2f}x, measured on {describe(start, flag=False)}; load average at the end "
            f"{' '.join(f'{x:.2f}' for x in end['load_average'])}"
            + (" -- a loaded machine: this ratio is not its speed" if worst > 0.5 * (start['usable_cores'] or 1) else ""))
