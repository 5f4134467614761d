"""The benchmarks stay runnable and say what measured them: every script imports (the package's functions they time
still exist), and a ratio is printed with the machine's provenance (CPU model, cores, load average, torch, device)."""
import re, sys
import torch
from conftest import ROOT

sys.path.insert(0, str(ROOT / 'bench'))
import machine


def test_provenance_names_the_machine():
    info = machine.machine('cpu')
    line = machine.describe(info)
    assert info['cpu_model'] and info['cpu_model'] in line and f"{info['cpu_count']} cores" in line
    assert re.search(r'load average \d+\.\d\d \d+\.\d\d \d+\.\d\d', line) and f"torch {torch.__version__}" in line
    assert 'device cpu' in line and f"({torch.get_num_threads()} threads)" in line
    busy = {**info, 'load_average': [info['usable_cores'] * 2.0] * 3}
    assert 'a loaded machine' in machine.describe(busy) and 'a loaded machine' not in machine.describe(busy, flag=False)


def test_bench_data_prints_its_ratio_with_the_machine(capsys):
    import bench_data, bench_train, bench_models
    assert bench_train.main and bench_models.main              # the other two import: the names they time still exist
    bench_data.main(['--n', '128', '--clips', '60', '--repeats', '1', '--workers', '0'])
    out = capsys.readouterr().out
    ratios = [l for l in out.splitlines() if l.startswith('ratio ')]
    assert [l.split(':')[0] for l in ratios] == ['ratio (a) / (b)', 'ratio (c) cached / cold'], out
    for l in ratios:
        assert re.match(r'ratio [^:]+: \d+\.\d\dx, measured on CPU ', l) and 'load average' in l and 'at the end' in l, l
        assert f"torch {torch.__version__}" in l and 'device cpu' in l, l
    assert out.splitlines()[0].startswith('measured on: CPU ')
