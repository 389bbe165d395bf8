"""The synthesis chapter's loss condition: cross-entropy beside MSE in the converged linear
nets (``fit_linear_cnn(..., loss=)``, ``converged_linear(..., loss=)``)."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from freqlearn.experiments import godfrey as G
from freqlearn.experiments import synthesis as S


def _problem(n=40, k=3, seed=5):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, 4, 4, generator=g, dtype=torch.float64)
    y = torch.randn(n, k, generator=g, dtype=torch.float64)
    labels = torch.randint(0, k, (n,), generator=g)
    return x, y, labels


def _flat(model):
    return torch.cat([p.detach().ravel() for p in model.parameters()])


def test_mse_default_unchanged():
    """The default (MSE) path is the one the Godfrey chapter used before ``loss=`` existed:
    values stored from the code before the change, and bitwise equal to ``loss="mse"``."""
    x, y, _ = _problem()
    kw = dict(width=2, max_iter=50)
    m, info = G.fit_linear_cnn(x, y, 2, 0.05, generator=torch.Generator().manual_seed(1), **kw)
    w = _flat(m)
    assert info["loss"] == pytest.approx(0.7237921196324448, rel=1e-9)
    assert float(w.sum()) == pytest.approx(-0.6104582008245947, rel=1e-8)
    assert float((w ** 2).sum()) == pytest.approx(6.736278228556582, rel=1e-9)
    m2, info2 = G.fit_linear_cnn(x, y, 2, 0.05, generator=torch.Generator().manual_seed(1),
                                 loss="mse", **kw)
    assert torch.equal(w, _flat(m2))
    assert info2 == info


def _objective(model, x, labels, lam):
    """Eq. sy-eq-ce by the direct sample path (integer labels, no basis trick)."""
    return F.cross_entropy(model(x), labels) + lam * G.penalty(model)


def test_ce_fit_is_a_stationary_point():
    x, _, labels = _problem()
    Y = F.one_hot(labels, 3).double()
    lam = 0.05
    model, info = G.fit_linear_cnn(x, Y, 2, lam, width=2, max_iter=100, loss="ce",
                                   generator=torch.Generator().manual_seed(2))
    obj = _objective(model, x, labels, lam)
    params = list(model.parameters())
    grads = torch.autograd.grad(obj, params)
    gnorm = math.sqrt(sum(float((g ** 2).sum()) for g in grads))
    assert gnorm < 1e-6
    assert info["grad_norm"] == pytest.approx(gnorm, abs=1e-6)
    with torch.no_grad():
        assert info["loss"] == pytest.approx(float(F.cross_entropy(model(x), labels)),
                                             rel=1e-10)
    # central finite difference along a random direction: ~0 at the optimum ...
    g = torch.Generator().manual_seed(3)
    d = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params]
    h = 1e-4

    def shifted(t):
        with torch.no_grad():
            for p, di in zip(params, d, strict=True):
                p.add_(t * di)
            v = float(_objective(model, x, labels, lam))
            for p, di in zip(params, d, strict=True):
                p.sub_(t * di)
        return v

    fd = (shifted(h) - shifted(-h)) / (2 * h)
    assert abs(fd) < 1e-5
    # ... but not for another λ's objective (the check can fail)
    g1 = torch.autograd.grad(_objective(model, x, labels, 10 * lam), params)
    assert math.sqrt(sum(float((gi ** 2).sum()) for gi in g1)) > 1e-2


def test_ce_basis_path_equals_sample_path():
    x, _, labels = _problem()
    Y = F.one_hot(labels, 3).double()
    kw = dict(width=2, max_iter=5, loss="ce")
    a, ia = G.fit_linear_cnn(x, Y, 3, 0.1, generator=torch.Generator().manual_seed(4), **kw)
    b, ib = G.fit_linear_cnn(x, Y, 3, 0.1, generator=torch.Generator().manual_seed(4),
                             via_basis=False, **kw)
    assert torch.allclose(_flat(a), _flat(b), rtol=1e-6, atol=1e-9)
    assert ia["loss"] == pytest.approx(ib["loss"], rel=1e-8)


def test_small_logit_expansion():
    """Eq. sy-eq-ce2: −log softmax(z)_y = const + (1/2K)‖K y_c − P z‖² + O(‖z‖³)."""
    K = 5
    g = torch.Generator().manual_seed(0)
    y = F.one_hot(torch.tensor(2), K).double()
    yc = y - 1.0 / K
    P = torch.eye(K, dtype=torch.float64) - 1.0 / K
    z0 = torch.randn(K, generator=g, dtype=torch.float64)
    errs = []
    for eps in (1e-1, 1e-2):
        z = eps * z0
        ce = -F.log_softmax(z, 0)[2]
        quad = math.log(K) + ((K * yc - P @ z) ** 2).sum() / (2 * K) - K * (yc ** 2).sum() / 2
        errs.append(abs(float(ce - quad)))
    assert errs[1] < errs[0] / 500                        # third order: ×1000 per decade


def test_bad_loss_raises():
    x, y, labels = _problem(n=8)
    with pytest.raises(ValueError, match="loss"):
        G.fit_linear_cnn(x, y, 2, 0.1, loss="hinge")
    with pytest.raises(ValueError, match="loss"):
        G.fit_linear_cnn(x, y, 2, 0.1, loss=None)
    with pytest.raises(ValueError, match="probabilities"):     # y not one-hot
        G.fit_linear_cnn(x, y, 2, 0.1, loss="ce")
    D = {"x": x.numpy(), "Y": F.one_hot(labels, 3).numpy(), "y": labels.numpy(),
         "x_test": x.numpy()}
    with pytest.raises(ValueError, match="loss"):
        S.converged_linear(D, loss="CE")


def test_converged_linear_ce_record():
    x, _, labels = _problem(n=24)
    D = {"x": x.numpy(), "Y": F.one_hot(labels, 3).numpy().astype(float),
         "y": labels.numpy(), "x_test": x.numpy()}
    r = S.converged_linear(D, lam=0.1, loss="ce", max_iter=20, n_eval=4)
    assert r["loss_kind"] == "ce" and 0.0 <= r["acc"] <= 1.0
    assert r["w"].shape[:2] == (2, 1) and r["smap"].shape[:2] == (2, 1)
    assert 0.0 < r["loss"] < math.log(3) + 1e-9           # below chance: it learnt
    m = S.converged_linear(D, lam=0.1, max_iter=20, n_eval=4)
    assert m["loss_kind"] == "mse"
    assert not np.allclose(m["w"][1], r["w"][1])
