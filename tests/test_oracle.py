"""The authors' mixup as an oracle for ours. `authors_mixup_data` and `authors_mixup_criterion` below are the two functions
of facebookresearch/mixup-cifar10 `train.py` (commit eaff31a, lines 119-138), rewritten with one change: the lambda and the
permutation they draw (`np.random.beta`, `torch.randperm`) are passed in, so that both implementations mix with the same
ones. Given those, ours must give the same mixed inputs, the same two targets and the same loss."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
import mixup_nb.mixup as M


def authors_mixup_data(x, y, lam, index):
    "The authors' `mixup_data` once lam (their `np.random.beta(alpha, alpha)`, or 1 when alpha <= 0) and index are drawn."
    mixed_x = lam * x + (1 - lam) * x[index, :]
    y_a, y_b = y, y[index]
    return mixed_x, y_a, y_b, lam


def authors_mixup_criterion(criterion, pred, y_a, y_b, lam):
    return lam * criterion(pred, y_a) + (1 - lam) * criterion(pred, y_b)


def batch(seed=0, n=32, classes=10):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 4, 4, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)          # repeated labels, as in any real batch
    w = torch.randn(3 * 4 * 4, classes, generator=g)
    return x, y, (lambda inp: inp.flatten(1) @ w)            # a fixed linear "network"


def permutation_drawn(alpha, n, seed):
    """The pairing ours draws for this alpha and generator seed (None: torch's global generator, seeded), read from its
    output: with labels 0..n-1, `y_b` is the permutation itself."""
    _, _, yb, _ = M.mixup_data(torch.zeros(n, 1), torch.arange(n), alpha, generator(seed))
    return yb


def generator(seed):
    "A generator seeded `seed`; None: torch's global generator, seeded (the training loop passes its own generator)."
    if seed is None: torch.manual_seed(1234); return None
    return torch.Generator().manual_seed(seed)


def ours_and_authors(x, y, alpha, seed):
    "Ours with `generator(seed)`, and the authors' with the lam and the permutation ours drew."
    mx, ya, yb, lam = M.mixup_data(x, y, alpha, generator(seed))
    index = permutation_drawn(alpha, len(x), seed)
    assert sorted(index.tolist()) == list(range(len(x)))      # a permutation of the batch
    return (mx, ya, yb, lam), authors_mixup_data(x, y, lam, index), index


@pytest.mark.parametrize('alpha', [0.2, 1.0, 4.0])
@pytest.mark.parametrize('seed', [0, 7, None], ids=['generator0', 'generator7', 'global'])
def test_same_mix_and_loss_as_the_authors(alpha, seed):
    x, y, net = batch(seed or 0)
    (mx, ya, yb, lam), (ax, aya, ayb, alam), index = ours_and_authors(x, y, alpha, seed)
    assert 0 < lam < 1 and lam == alam
    assert not torch.equal(index, torch.arange(len(x)))       # the batch really is paired with other examples
    # ours computes lerp(x[index], x, lam) in one op; the authors' lam * x + (1 - lam) * x[index]: equal up to rounding
    torch.testing.assert_close(mx, ax, rtol=0, atol=1e-6)
    assert torch.equal(ya, aya) and torch.equal(yb, ayb)
    # the loss, both through mixup_criterion and through the Mixed batch the training step uses
    ce = torch.nn.CrossEntropyLoss()
    want = authors_mixup_criterion(ce, net(ax), aya, ayb, alam)
    torch.testing.assert_close(M.mixup_criterion(ce, net(mx), ya, yb, lam), want, rtol=1e-6, atol=1e-6)
    m = M.mixup(x, y, alpha, generator(seed))
    assert torch.equal(m.x, mx) and torch.equal(m.y_a, ya) and torch.equal(m.y_b, yb) and m.lam == lam and m.eps == 0
    torch.testing.assert_close(M.mixed_loss(net(m.x), m), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('lam', [0.0, 0.25, 0.5, 0.9, 1.0])
def test_same_mix_at_a_given_lambda_including_the_ends(lam, monkeypatch):
    "lam set (0 and 1 included, which Beta draws almost never give): ours and the authors' agree, exactly at the ends."
    x, y, net = batch(3)
    monkeypatch.setattr(M, 'sample_lam', lambda alpha, generator=None: lam)
    (mx, ya, yb, got), (ax, aya, ayb, _), index = ours_and_authors(x, y, 1.0, 5)
    assert got == lam and torch.equal(ya, aya) and torch.equal(yb, ayb)
    if lam == 1.0: assert torch.equal(mx, x) and torch.equal(ax, x)              # all of x, none of its partner
    elif lam == 0.0: assert torch.equal(mx, x[index]) and torch.equal(ax, x[index])  # all of the partner
    else: torch.testing.assert_close(mx, ax, rtol=0, atol=1e-6)
    ce = torch.nn.CrossEntropyLoss()
    want = authors_mixup_criterion(ce, net(ax), aya, ayb, lam)
    torch.testing.assert_close(M.mixed_loss(net(mx), M.Mixed(mx, ya, yb, lam)), want, rtol=1e-6, atol=1e-6)
    if lam in (0.0, 1.0):                                       # one target only: plain cross-entropy against it
        torch.testing.assert_close(want, F.cross_entropy(net(ax), aya if lam == 1.0 else ayb), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('seed', [0, None], ids=['generator', 'global'])
def test_alpha_zero_is_the_authors_erm(seed):
    """alpha = 0: the authors set lam = 1 and still draw a permutation, whose labels get weight 0; ours draws nothing and
    returns the batch as it is. The inputs, the first target and the loss agree; the second target differs (weight 0)."""
    x, y, net = batch(1)
    state = torch.get_rng_state()
    g = torch.Generator().manual_seed(0) if seed is not None else None
    gstate = g.get_state() if g is not None else None
    mx, ya, yb, lam = M.mixup_data(x, y, 0.0, g)
    assert lam == 1.0 and torch.equal(mx, x) and torch.equal(ya, y) and torch.equal(yb, y)
    assert torch.equal(torch.get_rng_state(), state) and (g is None or torch.equal(g.get_state(), gstate))   # nothing drawn
    ax, aya, ayb, alam = authors_mixup_data(x, y, 1, torch.randperm(len(x), generator=torch.Generator().manual_seed(9)))
    assert torch.equal(ax, mx) and torch.equal(aya, ya) and not torch.equal(ayb, yb)
    ce = torch.nn.CrossEntropyLoss()
    assert torch.equal(M.mixup_criterion(ce, net(mx), ya, yb, lam), authors_mixup_criterion(ce, net(ax), aya, ayb, alam))


@pytest.mark.parametrize('alpha', [0.2, 1.0])
def test_lambda_follows_the_authors_beta(alpha):
    "The authors draw lam with np.random.beta(alpha, alpha); ours from a numpy generator seeded by torch's: the same law."
    g = torch.Generator().manual_seed(11)
    ours = np.array([M.sample_lam(alpha, g) for _ in range(3000)])
    assert ((ours > 0) & (ours < 1)).all()
    assert stats.kstest(ours, stats.beta(alpha, alpha).cdf).pvalue > 0.01
    np.random.seed(11)
    authors = np.random.beta(alpha, alpha, 3000)
    assert stats.ks_2samp(ours, authors).pvalue > 0.01
    assert abs(ours.mean() - 0.5) < 0.03                       # Beta(a, a) is symmetric about 1/2
