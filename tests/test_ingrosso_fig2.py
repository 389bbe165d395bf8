"""Ingrosso & Goldt (2022), Fig. 1 counts and Fig. 2A, B: the finite-data NLGP-vs-GP runner,
cross accuracies, the localised fraction, and dry runs through the paper-preset code paths."""

import math

import numpy as np
import pytest
import torch

from freqlearn.data.nlgp import NLGP
from freqlearn.experiments import ingrosso as ex
from freqlearn.nets import committee as cm
from freqlearn.theory import ingrosso as th

# small tori clip the latent spectrum and warn (tested in test_ingrosso.py)
pytestmark = pytest.mark.filterwarnings("ignore:NLGP.*positive semidefinite")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _run(**kw):
    args = dict(L=6, xis=(1.0, 2.0), g=3.0, K=8, alpha=5, lr=0.5, batch=10, steps=12,
                trials=2, n_test=50, generator=_gen(), n_record=3, checkpoint=False,
                device="cpu")
    args.update(kw)
    return ex.finite_nlgp_vs_gp(**args)


def test_finite_nlgp_vs_gp_shapes_and_paths():
    stored = _run()  # 12 steps · 10 = 120 samples ≤ P = 5 · 36 = 180: streamed
    assert stored["P"] == 180 and not stored["stored"]
    reused = _run(alpha=2)  # P = 72 < 120: the finite set is stored and reused
    assert reused["stored"] and reused["epochs"][-1] == pytest.approx(120 / 72)
    for r in (stored, reused):
        assert r["W"].shape == (2, 2, 8, 6, 6)
        assert r["b"].shape == r["v"].shape == (2, 2, 8)
        assert r["ipr"].shape[1:] == (2, 2, 8) and r["acc"].shape[1:] == (2, 2)
        assert np.all(np.isfinite(r["W"])) and r["t"][-1] == pytest.approx(120 / 36)
        # the IPR recorded last is the final weights' IPR
        np.testing.assert_allclose(r["ipr"][-1], cm.ipr(r["W"].reshape(2, 2, 8, -1)),
                                   rtol=1e-5)


def test_finite_nlgp_vs_gp_reproducible_and_trains():
    a, b = _run(alpha=2), _run(alpha=2)
    np.testing.assert_array_equal(a["W"], b["W"])
    c = _run(alpha=2, generator=_gen(1))
    assert not np.array_equal(a["W"], c["W"])
    # with lr = 0 nothing moves: the biases stay at the authors' ±1
    z = _run(lr=0.0)
    np.testing.assert_array_equal(np.abs(z["b"]), 1.0)


@pytest.mark.parametrize("kw", [dict(K=0), dict(batch=0), dict(steps=-1), dict(trials=1.5),
                                dict(alpha=0), dict(alpha=True), dict(init="nope"),
                                dict(alpha=0.1, batch=10)])
def test_finite_nlgp_vs_gp_bad_args(kw):
    with pytest.raises(ValueError):
        _run(**kw)


def test_cross_accuracy_matches_direct_definition():
    L, K, T = 6, 5, 3
    g = _gen(3)
    W = torch.randn((T, K, L, L), generator=g, dtype=torch.float32).numpy() / L
    b = torch.randn((T, K), generator=g, dtype=torch.float32).numpy()
    v = np.full((T, K), 1.0 / K, dtype=np.float32)
    acc = ex.cross_accuracy(W, b, v, L=L, xis=(1.0, 2.0), g=3.0, n_test=400, generator=_gen(5))
    assert acc.shape == (2, T)
    g2 = _gen(5)
    for d, gaussian in enumerate((False, True)):
        x, y = NLGP(L, (1.0, 2.0), 3.0, dim=2, gaussian=gaussian,
                    dtype=torch.float32).sample((T, 400), g2)
        x, y = x.numpy(), y.numpy()
        h = np.einsum("tkd,tnd->tnk", W.reshape(T, K, -1), x) + b[:, None, :]
        phi = (v[:, None, :] * np.vectorize(math.erf)(h / math.sqrt(2))).sum(-1)
        np.testing.assert_allclose(acc[d], (np.sign(phi) == y).mean(-1), atol=1e-6)


def test_cross_accuracy_bad_shapes():
    W = np.zeros((2, 4, 6, 6))
    with pytest.raises(ValueError, match="must agree"):
        ex.cross_accuracy(W, np.zeros((2, 3)), np.zeros((2, 3)), L=6, xis=(1.0, 2.0), g=3.0,
                          n_test=5, generator=_gen())
    with pytest.raises(ValueError, match="D ="):
        ex.cross_accuracy(np.zeros((2, 4, 5, 5)), np.zeros((2, 4)), np.zeros((2, 4)), L=6,
                          xis=(1.0, 2.0), g=3.0, n_test=5, generator=_gen())


def test_localised_fraction_threshold():
    L = 16
    D = L * L
    i = np.arange(L)
    mode = np.outer(np.cos(2 * np.pi * 3 * i / L), np.cos(2 * np.pi * 5 * i / L)).ravel()
    # the prose's value: a 2D Fourier mode cos·cos has IPR (3/8)² D / (D/4)² = 2.25/D
    assert cm.ipr(mode) * D == pytest.approx(2.25)
    rnd = np.random.default_rng(0).standard_normal((200, D))
    assert cm.ipr(rnd).mean() * D == pytest.approx(3.0, rel=0.1)
    delta = np.zeros(D)
    delta[7] = 1.0
    patch = np.zeros((L, L))
    patch[2:6, 3:7] = 1.0  # spread over 16 sites: IPR 1/16 = 16/D
    W = np.stack([mode, rnd[0], delta, patch.ravel()])
    assert ex.localised_fraction(cm.ipr(W), D) == pytest.approx(0.5)
    assert ex.localised_fraction(cm.ipr(W), D, threshold=20.0) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="threshold"):
        ex.localised_fraction(cm.ipr(W), D, threshold=0.0)


def test_paper_code_paths_dry_run():
    """The paper presets' sizes through their code paths, with a few steps only."""
    # Fig. 2A, B at the paper preset: K = 200, L = 20, batch 1000, α = 10⁵ (streamed)
    r = ex.finite_nlgp_vs_gp(L=20, xis=(2**0.5, 2.0), g=3.0, K=200, alpha=100_000,
                             lr=ex.authors_lr(0.05, 200, 400, 1000), batch=1000, steps=2,
                             trials=1, n_test=20, generator=_gen(), n_record=2,
                             checkpoint=False)
    assert not r["stored"] and r["P"] == 40_000_000 and r["W"].shape == (2, 1, 200, 20, 20)
    # Fig. 2C-E at the paper preset: D = 100, K = 301, batch 1000, 3 nets from the authors'
    # start and step, single precision (α reduced: 10⁵ is 12 GB)
    f = ex.finite_data(L=100, xis=(10**0.5, 20**0.5), g=3.0, K=301, alpha=20,
                       lr=ex.authors_lr(0.05, 301, 100, 1000), batch=1000, steps=3, trials=3,
                       n_test=20, generator=_gen(), n_record=2, checkpoint=False,
                       init="authors", dtype=torch.float32)
    assert f["W_final"].shape == (3, 301, 100) and f["X"].dtype == torch.float32
    net = cm.train_cnn(100, 59, f["X"][0], f["Y"][0], 3, lr=2.0, batch=50, channels=4,
                       generator=_gen(), checkpoint=False)
    assert cm.filters(net).shape == (4, 59)


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("alpha", [2, 60])  # stored and reused / streamed
def test_finite_nlgp_vs_gp_resumes_from_its_checkpoint(tmp_path, monkeypatch, alpha):
    """Killed mid-run at the paper preset (automatic checkpoints), a re-run resumes and gives
    the uninterrupted result exactly."""
    from freqlearn import train

    monkeypatch.setenv("FREQLEARN_CHECKPOINTS", str(tmp_path / "ck"))
    monkeypatch.delenv("FREQLEARN_CHECKPOINT", raising=False)
    monkeypatch.setattr(train, "_context", None)
    train.set_context("ingrosso-goldt2022/test-fig2", "paper", 1)

    def fn():
        return _run(alpha=alpha, steps=200, checkpoint=None, generator=_gen(7))  # 2000 samples

    monkeypatch.setenv("FREQLEARN_CHECKPOINT", "off")
    ref = fn()
    assert ref["stored"] == (alpha == 2)
    monkeypatch.delenv("FREQLEARN_CHECKPOINT")
    real, counts, kill = train.run, [], [True]

    def wrapped(step, budget, **kw):
        def s(t):
            if kill and t == 77:
                kill.clear()
                raise _Interrupt
            counts.append(t)
            return step(t)
        return real(s, budget, **kw)

    monkeypatch.setattr(train, "run", wrapped)
    with pytest.raises(_Interrupt):
        fn()
    counts.clear()
    out = fn()
    assert 0 < counts[0] <= 77 and counts[-1] == 199  # resumed, not restarted
    for k in ("W", "b", "ipr", "acc"):
        np.testing.assert_array_equal(out[k], ref[k])


def test_tiling_statistics_tell_a_diagonal_from_piles_and_noise():
    """Coverage and the sorted diagonal (Fig. 2C): evenly spread bumps pass, bumps piled on
    two positions and unlocalised weights do not; the coverage null only moves fields."""
    D, n = 64, 32
    x = np.arange(D)

    def bumps(centres):
        d = (x[None, :] - np.asarray(centres)[:, None] + D / 2) % D - D / 2
        return np.exp(-0.5 * (d / 1.5) ** 2)

    even = bumps(np.arange(n) * D / n)
    piled = bumps(np.r_[np.full(n // 2, 10.0), np.full(n // 2, 40.0)])
    noise = np.random.default_rng(0).standard_normal((n, D))
    assert th.field_coverage(even) == 1.0
    assert th.field_coverage(piled) < 0.2
    assert th.diagonal_fraction(even, D / 10) > 0.99
    assert th.diagonal_fraction(piled, D / 10) < 0.6
    assert th.diagonal_fraction(noise, D / 10) < 0.35
    # the same diagonal whatever the ring's origin
    assert th.diagonal_fraction(np.roll(even, 7, 1), D / 10) > 0.99
    cov0 = th.field_coverage_null(even, np.random.default_rng(1), draws=200)
    assert cov0.shape == (200,) and 0.5 < cov0.mean() < 1.0
    # the mean-CV null: a lattice is far below it, random sets are not
    cv0 = th.mean_gap_cv_null([n, n, n], D, np.random.default_rng(2), draws=500)
    assert abs(cv0.mean() - 0.97) < 0.05 and cv0.std() < 0.1
    with pytest.raises(ValueError, match="count"):
        th.mean_gap_cv_null([1, 5], D, np.random.default_rng(0))
