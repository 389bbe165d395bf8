"""Unit tests of the Pinson et al. (2023) Fig. 5 / Fig. 6 helpers: plain-SGD deep nets, rate
probe, discovery records, row mixtures, ordering, cascade, long loss runs."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import freqlearn as fl
from freqlearn.experiments import pinson as E
from freqlearn.nets import pinson as P
from freqlearn.theory import pinson as th


def _tiny_set(N=24, size=4, p=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, 3, size, size)).astype(np.float32)
    return SimpleNamespace(x=x, y=np.arange(N) % p, classes=list(range(p)))


def test_train_deep_sgd_is_plain_gradient_descent():
    """One SGD batch equals θ − λ∇L computed directly by autograd, per trial rate."""
    tr = _tiny_set()
    g = torch.Generator().manual_seed(0)
    net = P.DeepCNN(2, 3, 4, 3, channels=2, ksize=2, hidden=3, generator=g, scale=1.0)
    ref = P.DeepCNN(2, 3, 4, 3, channels=2, ksize=2, hidden=3,
                    generator=torch.Generator().manual_seed(0), scale=1.0)
    lr = [0.1, 0.3]
    gen = torch.Generator().manual_seed(5)
    P.train_deep(net, tr, tr, batches=1, batch=8, lr=lr, eval_every=1, n_eval=8,
                 generator=gen, checkpoint=False, optimizer="sgd")
    idx = torch.randperm(len(tr.x), generator=torch.Generator().manual_seed(5))[:8]
    y = torch.eye(3)[torch.as_tensor(tr.y)][idx]
    loss = ((ref.forward(torch.as_tensor(tr.x)[idx]) - y[None]) ** 2).mean(-1).mean(-1).sum()
    grads = torch.autograd.grad(loss, ref.parameters())
    for w, w0, gr in zip(net.parameters(), ref.parameters(), grads, strict=True):
        r = torch.tensor(lr).reshape(-1, *([1] * (w.dim() - 1)))
        assert torch.allclose(w.detach(), w0.detach() - r * gr, atol=1e-6)


def test_train_deep_rejects_bad_optimizer_and_rates():
    tr = _tiny_set()
    net = P.DeepCNN(2, 3, 4, 3, channels=2, ksize=2, hidden=3,
                    generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="optimizer"):
        P.train_deep(net, tr, tr, batches=1, optimizer="rmsprop", checkpoint=False)
    with pytest.raises(ValueError, match="lr"):
        P.train_deep(net, tr, tr, batches=1, optimizer="adam", lr=[1e-3, 1e-3],
                     checkpoint=False)
    with pytest.raises(ValueError, match="lr"):
        P.train_deep(net, tr, tr, batches=1, optimizer="sgd", lr=[0.1], checkpoint=False)
    with pytest.raises(ValueError, match="lr"):
        P.train_deep(net, tr, tr, batches=1, optimizer="sgd", lr=-0.1, checkpoint=False)


def test_sgd_rate_probe_rejects_diverging_rate():
    tr = _tiny_set()

    def mk(T):
        return P.DeepCNN(T, 3, 4, 3, channels=2, ksize=2, hidden=3, scale=1.0,
                         generator=torch.Generator().manual_seed(0))

    out = E.sgd_rate_probe(mk, tr, tr, rates=[0.01, 1e3], batches=12, eval_every=3,
                           n_eval=24, generator_seed=1)
    assert out["stable"].tolist() == [True, False] and out["rate"] == 0.01
    with pytest.raises(ValueError, match="rates"):
        E.sgd_rate_probe(mk, tr, tr, rates=[], batches=2, eval_every=1, n_eval=4,
                         generator_seed=1)


def test_discovery_index_and_censoring():
    t = np.arange(5)
    a = np.array([[[0, .5, .95, 1, 1], [0, 0, 0, .2, .3]]])  # (T=1, p=2, K=5)
    idx, ok = E.discovery_index(a, [1.0, 1.0])
    assert idx.tolist() == [2, 4] and ok.tolist() == [True, False]
    with pytest.raises(ValueError, match="frac"):
        E.discovery_index(a, [1.0, 1.0], frac=0)
    with pytest.raises(ValueError, match="a must"):
        E.discovery_index(a[0], [1.0, 1.0])
    assert t.shape == (5,)


def test_span_fraction_against_projection():
    rng = np.random.default_rng(0)
    V = np.linalg.qr(rng.normal(size=(10, 3)))[0]
    r = rng.normal(size=(4, 10))
    P_ = V @ V.T
    want = ((r @ P_) ** 2).sum(1) / (r ** 2).sum(1)
    assert np.allclose(E.span_fraction(r, V), want)
    assert np.allclose(E.span_fraction(V.T, V), 1.0)
    with pytest.raises(ValueError, match="V must"):
        E.span_fraction(r, V[:5])


def test_mixture_report_uses_the_discovered_records():
    rng = np.random.default_rng(1)
    V = np.linalg.qr(rng.normal(size=(6, 3)))[0]
    rows = rng.normal(size=(3, 2, 2, 6))
    rows[1] = V[:, 0] * 2.0           # record 1: rows along φ0 only
    out = E.mixture_report(rows, V, [1, 2, 2], modes=[0])
    assert np.allclose(out["frac"][0], 1.0)
    assert np.allclose(out["frac_init"][0], E.span_fraction(rows[0], V[:, :1]).ravel())


def test_ordering_fraction_counts_only_decidable_pairs():
    t = np.arange(10.0)
    ramp = lambda t0: np.clip((t - t0) / 2, 0, 1)  # noqa: E731  reaches 1/2 at t0 + 1
    a = np.stack([[ramp(1), ramp(1)], [ramp(4), ramp(20)], [ramp(30), ramp(30)]])
    fr, n = E.ordering_fraction(t, a, np.ones(3))
    assert fr[0] == 1.0 and n[0] == 2          # trial 1 never reaches mode 1: undecidable
    assert np.isnan(fr[1]) and n[1] == 0       # mode 2 never reached: never "later"
    a[1] = ramp(30)
    fr, n = E.ordering_fraction(t, a, np.ones(3))
    assert np.isnan(fr[1]) and n[1] == 0
    # mode 1 earlier than mode 0 in both trials: fraction 0
    b = np.stack([[ramp(6), ramp(6)], [ramp(1), ramp(1)]])
    assert E.ordering_fraction(t, b, np.ones(2))[0][0] == 0.0
    assert np.isclose(th.later_fraction(t, b[1], b[0], np.ones(1)).fraction, 0.0)


def test_cascade_report_on_a_constructed_spectrum():
    n, K, T = 4, 3, 2
    spec = np.full((K, T, n, n), 1e-6)
    # record 0 (mode 0 found): dominant {1, 2}; record 2 (mode 1 found): dominant {1, 5}
    spec[0, :, 0, 1] = spec[0, :, 0, 2] = 1.0
    spec[2, :, 0, 1] = spec[2, :, 1, 1] = 1.0
    spec[1] = spec[0]
    phis = np.zeros((2, n * n))
    phis[1, 1], phis[1, 2], phis[1, 5] = 0.9, 0.1, 0.5
    out = E.cascade_report(spec, phis, [0, 2], k=2)
    assert np.allclose(out["stay_t"][:, 0], 0.9) and np.allclose(out["leave_t"][:, 0], 0.1)
    assert np.allclose(out["diff"], 0.8)
    assert out["stay"][0].tolist() == [1]
    with pytest.raises(ValueError, match="idx"):
        E.cascade_report(spec, phis, [0], k=2)


def test_long_loss_shapes_and_decrease():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 1, 4, 4))
    Y = np.eye(3)[np.arange(12) % 3]
    out = E.long_loss(X, Y, X[:6], Y[:6], T=2, lr=0.02, budget=200,
                      generator=fl.presets.generator(3), steps=8, sigma=0.1)
    for k in ("loss_cnn", "test_cnn", "loss_fc", "test_fc"):
        assert out[k].shape == (len(out["N"]), 2)
    assert out["N"][-1] == 200
    assert (out["loss_fc"][-1] < out["loss_fc"][0]).all()
