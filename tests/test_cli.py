"""`mixup-train`, the seed's command line: its Quickstart commands on small trees in the real on-disk formats,
its defaults, its files, and its one-line errors. Runs in-process through `main(argv)` where it can; the console
script and `python -m mixup_nb` run as separate processes."""
import json, shlex, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
import datatrees
from conftest import run_main, check_run_numbers
from mixup_nb.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]
MIXUP_TRAIN = Path(sys.executable).parent / 'mixup-train'

# The seed README's five Quickstart commands, as written there.
QUICKSTART = {
    'c10_erm': "python -u train2.py --model ResNet18_CIFAR10 --dataset CIFAR10   --adjustlr 100-150 --lr 0.1 --alpha 0 --seed 42 --name ResNet_C10 --amp",
    'c10_mixup': "python -u train2.py --model ResNet18_CIFAR10 --dataset CIFAR10   --adjustlr 100-150 --lr 0.1 --alpha 1.0 --seed 42 --name ResNet_C10_Mixup --amp",
    'c100_mixup': "python -u train2.py --model ResNet18_CIFAR100 --dataset CIFAR100   --adjustlr 100-150 --lr 0.1 --alpha 1.0 --seed 42 --name ResNet_C100_Mixup --amp",
    'fmnist': "python -u train2.py --model ResNet18_FMNIST --dataset FASHIONMNIST   --adjustlr 100-150 --lr 0.1 --alpha 1.0 --seed 42 --name ResNet_FMNIST --amp",
    'command': "python -u train2.py --model VGG11 --dataset COMMAND   --lr 0.001 --alpha 1.0 --epoch 30 --batch-size 128 --seed 42   --name VGG11_Commands --amp",
}
WRITERS = {'CIFAR10': datatrees.write_cifar10, 'CIFAR100': datatrees.write_cifar100,
           'FASHIONMNIST': datatrees.write_fashionmnist, 'COMMAND': datatrees.write_speechcommands}

def as_mixup_train(cmd: str) -> list:
    "The seed's command with `mixup-train` in place of `python -u train2.py`, as an argument list."
    prefix = 'python -u train2.py '
    assert cmd.startswith(prefix)
    return ['mixup-train'] + shlex.split(cmd[len(prefix):])

def flag(argv: list, name: str) -> str:
    "The value of the last `name` flag in `argv`."
    return argv[len(argv) - 1 - argv[::-1].index(name) + 1]


def check_seed_files(out: Path, argv: list, n_epochs: int = 1):
    "The seed's files are under `out`, named from the command's --model, --name and --seed: the log, one row per epoch, and both checkpoints."
    model, name, seed = flag(argv, '--model'), flag(argv, '--name'), flag(argv, '--seed')
    csv = out / 'results' / f'log_{model}_{name}_{seed}.csv'
    written = sorted(str(p.relative_to(out)) for p in out.rglob('*'))
    assert csv.exists(), written
    for kind in ('best', 'last'):
        assert (out / 'checkpoint' / f'ckpt_{name}_{kind}_{seed}.pt').is_file(), (kind, written)
    log = pd.read_csv(csv)
    pred = out / 'results' / f'pred_{model}_{name}_{seed}.npz'
    check_run_numbers(out, {'csv': csv, 'pred': pred, 'final_test_error': log.test_error.iloc[-1]}, epochs=None)
    assert log.epoch.tolist() == list(range(1, n_epochs + 1)) and log.train_loss.notna().all()
    assert log.lr.iloc[0] == pytest.approx(float(flag(argv, '--lr')))
    return log

@pytest.fixture(scope='module')
def trees(tmp_path_factory):
    "One small tree per dataset, in the real on-disk format (written once for the module)."
    root = tmp_path_factory.mktemp('data')
    for w in WRITERS.values(): w(root)
    return root

# --- the seed README's Quickstart --------------------------------------------------------------------------

@pytest.mark.parametrize('key', [k for k in QUICKSTART if k != 'c10_erm'])
def test_quickstart_in_process(key, trees, tmp_path):
    argv = as_mixup_train(QUICKSTART[key]) + ['--epoch', '1', '--data-root', str(trees), '--no-verify', '--out', str(tmp_path)]
    code, out, err = run_main(argv[1:])
    assert code == 0, err
    dataset, model = flag(argv, '--dataset'), flag(argv, '--model')
    shown = f"{dataset} v0.01" if dataset == 'COMMAND' else dataset     # speech: the paper's v0.01 unless told
    assert f"{model} on {shown}, mixup alpha 1, seed 42: 1 epoch" in out
    check_seed_files(tmp_path, argv)

def test_quickstart_console_script_writes_under_the_current_directory(trees, tmp_path):
    "The ERM command through the installed `mixup-train` script, without --out: files land in the working directory."
    argv = as_mixup_train(QUICKSTART['c10_erm']) + ['--epoch', '1', '--data-root', str(trees), '--no-verify']
    p = subprocess.run([str(MIXUP_TRAIN), *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'ResNet18_CIFAR10 on CIFAR10, ERM, seed 42: 1 epoch, batch 128, sgd lr 0.1 (x0.1 after 100-150)' in p.stdout
    check_seed_files(tmp_path, argv)

# --- defaults and files ------------------------------------------------------------------------------------

def dry_config(*argv) -> dict:
    code, out, err = run_main([*argv, '--dry-run'])
    assert code == 0, err
    return json.loads(out.split('\n', 1)[1])

@pytest.mark.parametrize('dataset', list(RECIPES))
def test_model_and_settings_default_to_the_recipe(dataset):
    c, r = dry_config('--dataset', dataset)['config'], RECIPES[dataset]
    assert (c['model'], c['epochs'], c['batch_size'], c['lr'], c['optimizer'], c['milestones'], c['alpha']) == \
           (r.model, r.epochs, r.batch_size, r.lr, r.optimizer, list(r.milestones), r.alpha)

def test_wrn_gets_its_own_milestones_and_flags_win():
    assert dry_config('--dataset', 'CIFAR100', '--model', 'WRN28_10')['config']['milestones'] == [60, 120, 180]
    c = dry_config('--dataset', 'cifar10', '--model', 'wrn28_10', '--adjustlr', '100-150', '--decay', '5e-4', '--batch-size', '64')['config']
    assert (c['dataset'], c['model'], c['milestones'], c['weight_decay'], c['batch_size']) == ('CIFAR10', 'WRN28_10', [100, 150], 5e-4, 64)

def test_digits_run_in_process(tmp_path):
    argv = ['--dataset', 'DIGITS', '--alpha', '0.5', '--seed', '7', '--name', 'D', '--lr', '0.05', '--epoch', '2',
            '--num-workers', '8', '--out', str(tmp_path)]
    code, out, err = run_main(argv)
    assert code == 0, err
    log = check_seed_files(tmp_path, ['--model', 'DigitsNet', *argv], n_epochs=2)
    assert f"wrote {tmp_path / 'results' / 'log_DigitsNet_D_7.csv'}" in out
    assert 'epoch 2/2' in out and log.test_error.iloc[-1] < 60

def test_resume(tmp_path):
    "--resume continues from the last checkpoint; a finished run does nothing; a changed setting is refused."
    base = ['--dataset', 'DIGITS', '--seed', '1', '--name', 'R', '--out', str(tmp_path)]
    assert run_main(base + ['--epoch', '1'])[0] == 0
    code, out, err = run_main(base + ['--epoch', '2', '--resume'])
    assert code == 0, err
    assert 'epoch 2/2' in out and 'epoch 1/2' not in out           # only the missing epoch is trained
    assert pd.read_csv(tmp_path / 'results' / 'log_DigitsNet_R_1.csv').epoch.tolist() == [1, 2]
    code, out, err = run_main(base + ['--epoch', '2', '--resume'])
    assert code == 0 and 'already finished' in out and 'epoch 2/2' not in out
    code, out, err = run_main(base + ['--epoch', '3', '--resume', '--alpha', '0'])
    assert code == 1 and 'train loss' not in out                   # the header (and the milestone warning), no training
    assert err.strip().splitlines() == [err.strip()] and 'cannot resume from' in err and 'alpha=1.0' in err

def test_python_dash_m_mixup_nb(tmp_path):
    p = subprocess.run([sys.executable, '-m', 'mixup_nb', '--dataset', 'DIGITS', '--alpha', '0', '--epoch', '1',
                        '--seed', '3', '--out', 'o'], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (tmp_path / 'o' / 'results' / 'log_DigitsNet_DIGITS_alpha0_3.csv').exists()
    assert 'DigitsNet on DIGITS, ERM, seed 3' in p.stdout

def test_help_names_every_flag_of_the_seed():
    code, out, _ = run_main(['--help'])
    assert code == 0
    for f in ('--model', '--dataset', '--adjustlr', '--lr', '--alpha', '--seed', '--name', '--amp', '--epoch', '--batch-size',
              '--data-root', '--num-workers', '--no-verify', '--resume', '--download', '--out', '--device', '--decay'):
        assert f in out, f
    assert 'ignored' in out and 'results/log_<Model>_<Name>_<Seed>.csv' in out

# --- bad flags: argparse's one-line error, exit status 2 ---------------------------------------------------

@pytest.mark.parametrize('argv,message', [
    (['--adjustlr', '100-abc'], "argument --adjustlr: expected epochs joined by '-', e.g. 100-150 (or 'none'), got '100-abc'"),
    (['--adjustlr', '150-100'], "argument --adjustlr: lr milestones must be increasing epochs >= 1, e.g. 100-150, got '150-100'"),
    (['--dataset', 'CIFAR10', '--model', 'ResNet99'], "unknown model 'ResNet99': choose one of DigitsNet, ResNet18_CIFAR10,"),
    (['--dataset', 'FASHIONMNIST', '--model', 'ResNet18_CIFAR10'],
     "model ResNet18_CIFAR10 takes 3-channel input but FASHIONMNIST has 1 channel: choose one of"),
    (['--dataset', 'CIFAR10', '--model', 'VGG11'], "model VGG11 takes 1-channel input but CIFAR10 has 3 channels"),
    (['--dataset', 'DIGITS', '--model', 'WRN28_10'], "model WRN28_10 takes 3-channel input but DIGITS has 1 channel"),
    (['--dataset', 'MNIST'], "unknown dataset 'MNIST': choose one of DIGITS, CIFAR10, CIFAR100, FASHIONMNIST, COMMAND"),
    (['--alpha', '-1'], "argument --alpha: must be a number >= 0, got '-1'"),
    (['--batch-size', '0'], "argument --batch-size: must be an integer >= 1, got '0'"),
    (['--epoch', '0'], "argument --epoch/--epochs: must be an integer >= 1, got '0'"),
    (['--lr', '-0.1'], "argument --lr: must be a number > 0, got '-0.1'"),
    (['--optimizer', 'rmsprop'], "argument --optimizer: invalid choice: 'rmsprop'"),
    (['--dataset', 'COMMAND', '--data-version', 'v0.03'], "unknown COMMAND version 'v0.03': choose one of v0.01 (30 words), v0.02 (35 words)"),
])
def test_bad_flags(argv, message):
    code, out, err = run_main(argv + ['--dry-run'])
    assert code == 2 and out == ''
    last = err.strip().splitlines()[-1]
    assert last.startswith('mixup-train: error: ') and message in last, last

def test_bad_flag_through_the_console_script(tmp_path):
    p = subprocess.run([str(MIXUP_TRAIN), '--model', 'ResNet18_CIFAR10', '--dataset', 'FASHIONMNIST'], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ''
    assert p.stderr.strip().splitlines()[-1].startswith('mixup-train: error: model ResNet18_CIFAR10 takes 3-channel input')
    assert not any(tmp_path.iterdir())       # nothing written

def test_missing_data_is_a_one_line_error(tmp_path):
    code, out, err = run_main(['--dataset', 'CIFAR10', '--data-root', str(tmp_path / 'empty'), '--epoch', '1', '--out', str(tmp_path)])
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('mixup-train: error: ') and 'CIFAR10' in lines[0], err
    assert not (tmp_path / 'results').exists()
