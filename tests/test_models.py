"Every model in the registry: its documented size, its output shape, and one training step on the CPU."
import math
import pytest
import torch
import torch.nn.functional as F
from mixup_nb.models import MODELS, get_model, count_params, check_model_input
from mixup_nb.mixup import mixup_data, mixup_criterion

def vgg11_params(num_classes, in_channels=1):
    "VGG-11 conv stack (conv with bias + BN), then 7680 -> 512 -> classes (GCommandsPytorch's two linear layers)."
    n, cin = 0, in_channels
    for v in (64, 128, 256, 256, 512, 512, 512, 512):
        n += cin * v * 9 + v + 2 * v; cin = v
    return n + (7680 * 512 + 512) + (512 * num_classes + num_classes)

def lenet_params(num_classes, in_channels=1):
    "Two 5 x 5 convs of 20 channels, fc 16280 -> 1000 -> classes (GCommandsPytorch's)."
    return (in_channels * 20 * 25 + 20) + (20 * 20 * 25 + 20) + (16280 * 1000 + 1000) + (1000 * num_classes + num_classes)

# name -> (documented parameter count, tolerance as a fraction)
DOCUMENTED = {
    'ResNet18_CIFAR10': (11.17e6, 0.001),     # PreAct ResNet-18, 10 classes: "11.17 M"
    'ResNet18_CIFAR100': (11.17e6 + 90 * 513, 0.001),
    'ResNet18_FMNIST': (11.17e6, 0.001),      # one input channel: 2 x 576 fewer stem weights
    'WRN28_10': (36.5e6, 0.002),              # WRN-28-10, 10 classes: "36.5 M"
    'PreActResNet18_kuangliu': (11.17e6 - 128, 0.001),   # no stem batch norm
    'DenseNet190': (25.6e6, 0.001),           # DenseNet-BC-190, k = 40, 10 classes: "25.6 M" (Huang et al. 2017)
    'VGG11': (vgg11_params(30), 0),
    'LeNet': (lenet_params(30), 0),
    'DigitsNet': ((32 * 9 + 64) + (32 * 64 * 9 + 128) + (64 * 16 * 128 + 128) + (128 * 10 + 10), 0),
    # the paper's UCI network (section 3.6): features -> 128 -> 128 -> classes
    **{f'MLP_{d}': (f * 128 + 128 + 128 * 128 + 128 + 128 * c + c, 0)
       for d, (f, c) in {'IRIS': (4, 3), 'ABALONE': (10, 3), 'ARCENE': (10000, 2), 'ARRHYTHMIA': (279, 16), 'HTRU2': (8, 2), 'PHISHING': (30, 2)}.items()},
}

def test_every_model_is_documented():
    assert set(DOCUMENTED) == set(MODELS)

@pytest.mark.parametrize('name', list(MODELS))
def test_parameter_count(name):
    expected, tol = DOCUMENTED[name]
    n = count_params(get_model(name))
    assert abs(n - expected) <= tol * expected, (name, n, expected)

def test_speech_models_as_published():
    "GCommandsPytorch's model.py at its 30 classes: VGG11 13,172,894 parameters, LeNet 16,321,570."
    assert count_params(get_model('VGG11', num_classes=30)) == 13_172_894
    assert count_params(get_model('LeNet', num_classes=30)) == 16_321_570
    vgg = get_model('VGG11', num_classes=30)
    assert [(m.in_features, m.out_features) for m in vgg.modules() if isinstance(m, torch.nn.Linear)] == [(7680, 512), (512, 30)]

# the big network's step stays a few seconds on a CPU: 2 images of 8 x 8 (it pools adaptively; 32 x 32 is checked in the notebook)
SMALL = {'DenseNet190': (2, (3, 8, 8))}

@pytest.mark.parametrize('name', list(MODELS))
def test_one_training_step(name):
    torch.manual_seed(0)
    spec = MODELS[name]
    bs, shape = SMALL.get(name, (4, spec.input_shape))
    model = get_model(name).train()
    x = torch.randn(bs, *shape)
    y = torch.randint(0, spec.num_classes, (bs,))
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    xm, ya, yb, lam = mixup_data(x, y, 1.0, torch.Generator().manual_seed(0))
    out = model(xm)
    assert out.shape == (bs, spec.num_classes)
    loss = mixup_criterion(torch.nn.CrossEntropyLoss(), out, ya, yb, lam)
    assert math.isfinite(loss.item())
    opt.zero_grad(); loss.backward()
    params = list(model.named_parameters())
    missing = [n for n, p in params if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"{name}: no finite gradient for {missing}"
    opt.step()
    changed = [not torch.equal(b, p) for b, (_, p) in zip(before, params)]
    # every tensor gets a gradient, but a few can be too small to move float32 weights in one step: a batch-norm
    # scale followed only by another batch norm (the authors' PreAct stem) has a zero gradient at initialization
    assert sum(changed) >= 0.9 * len(changed), f"{name}: {changed.count(False)} of {len(changed)} parameter tensors did not change"
    assert changed[0] and changed[-1], f"{name}: the first or the last layer did not change"
    model.eval()
    with torch.no_grad(): assert torch.isfinite(model(x)).all()

@pytest.mark.parametrize('name,num_classes,in_channels,size', [
    ('ResNet18_CIFAR10', 7, 3, (32, 32)), ('ResNet18_FMNIST', 10, 1, (28, 28)), ('VGG11', 12, 1, (160, 101)),
    ('LeNet', 35, 1, (160, 101)), ('DigitsNet', 4, 1, (28, 28)), ('WRN28_10', 100, 3, (32, 32)), ('DenseNet190', 100, 3, (8, 8))])
def test_classes_channels_and_sizes_follow_the_data(name, num_classes, in_channels, size):
    m = get_model(name, num_classes=num_classes, in_channels=in_channels).eval()
    with torch.no_grad(): assert m(torch.randn(2, in_channels, *size)).shape == (2, num_classes)

def test_preact_block_carries_the_preactivated_input():
    "As in the authors' code: with an identity shortcut the block adds relu(bn1(x)), not x."
    from mixup_nb.models import PreActBlock
    b = PreActBlock(8, 8).eval()
    for conv in (b.conv1, b.conv2): torch.nn.init.zeros_(conv.weight)
    x = torch.randn(2, 8, 4, 4)
    with torch.no_grad(): assert torch.allclose(b(x), F.relu(b.bn1(x)))

def test_kuangliu_block_carries_x():
    "kuangliu's variant: with an identity shortcut the block adds x itself."
    from mixup_nb.models import PreActBlock
    b = PreActBlock(8, 8, preact_shortcut=False).eval()
    for conv in (b.conv1, b.conv2): torch.nn.init.zeros_(conv.weight)
    x = torch.randn(2, 8, 4, 4)
    with torch.no_grad(): assert torch.allclose(b(x), x)

def test_unknown_model_and_channel_mismatch_are_one_line_errors():
    with pytest.raises(ValueError, match=r"^unknown model 'ResNet50': choose one of DigitsNet, ") as e:
        get_model('ResNet50')
    assert '\n' not in str(e.value)
    with pytest.raises(ValueError, match="model ResNet18_CIFAR10 takes 3-channel input but FASHIONMNIST has 1 channel: choose one of") as e:
        check_model_input('ResNet18_CIFAR10', 1, 'FASHIONMNIST')
    assert 'ResNet18_FMNIST' in str(e.value) and 'WRN28_10' not in str(e.value) and '\n' not in str(e.value)
    assert check_model_input('WRN28_10', 3, 'CIFAR100') == 'WRN28_10'
