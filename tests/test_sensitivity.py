"""Frequency sensitivity (Godfrey SI C.2): the K-backward-passes + FFT route against a
complex-Jacobian route and against finite differences; radial averages, moments."""

import numpy as np
import pytest
import torch

import freqlearn as fl
from freqlearn import sensitivity as S
from freqlearn.nets import godfrey as G


def _net():
    torch.manual_seed(0)
    return G.ConvActually(2, width=3, in_channels=2, size=6, n_classes=4).double()


def _complex_jacobian_route(model, x):
    """Independent route: autograd through x = Re IDFT(x̂) w.r.t. a complex leaf x̂."""
    maps = []
    for xi in x:
        xh = torch.fft.fft2(xi, norm="ortho").detach().requires_grad_(True)
        out = model(torch.fft.ifft2(xh, norm="ortho").real[None])[0]
        rows = []
        for k in range(len(out)):
            (g,) = torch.autograd.grad(out[k], xh, retain_graph=True)
            rows.append(g.abs())          # PyTorch: ∂/∂Re + i∂/∂Im (conjugate convention)
        maps.append(torch.stack(rows).pow(2).sum(0).sqrt())
    return torch.stack(maps).mean(0).numpy()


def test_matches_complex_jacobian_route():
    model = _net()
    x = torch.rand(3, 2, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ours = S.frequency_sensitivity(model, x, batch_size=2)
    ref = _complex_jacobian_route(model, x)
    assert ours.shape == (2, 6, 6)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_matches_finite_differences():
    model = _net()
    x = torch.rand(1, 2, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    per = S.frequency_sensitivity(model, x, per_image=True)[0]
    eps = 1e-6
    for c, i, j in [(0, 0, 0), (1, 1, 2), (0, 3, 5), (1, 2, 3)]:
        e = np.zeros((2, 6, 6), complex)
        e[c, i, j] = 1.0
        basis = np.fft.ifft2(e, norm="ortho")        # ê_cij in pixel space (complex)
        d = []
        with torch.no_grad():
            for part in (basis.real, basis.imag):
                p = torch.as_tensor(part)[None]
                d.append((model(x + eps * p) - model(x - eps * p)) / (2 * eps))
        # |∇f·ê| = √(d_re² + d_im²) per class; ℓ2 over classes
        fd = torch.sqrt(d[0] ** 2 + d[1] ** 2).pow(2).sum().sqrt().item()
        assert abs(per[c, i, j] - fd) < 1e-6 * max(1.0, fd)


def test_linear_net_map_is_predictor_norm():
    torch.manual_seed(3)
    m = G.ConvActually(1, width=2, in_channels=1, size=5, n_classes=3, bias=False,
                       linear=True, normalize=False).double()
    x = torch.randn(4, 1, 5, 5, dtype=torch.float64)
    smap = S.frequency_sensitivity(m, x)
    v = fl.nets.dft.effective_predictor(m.weights()).detach()
    np.testing.assert_allclose(smap, v.abs().pow(2).sum(0).sqrt().numpy(), rtol=1e-10)


def test_eval_mode_restored_and_errors():
    m = _net()
    m.train()
    S.frequency_sensitivity(m, torch.rand(2, 2, 6, 6, dtype=torch.float64))
    assert m.training
    with pytest.raises(ValueError, match="batch_size"):
        S.frequency_sensitivity(m, torch.rand(2, 2, 6, 6), batch_size=0)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        S.frequency_sensitivity(m, torch.rand(2, 6, 6))


def test_radial_moments_and_postprocess():
    a = np.zeros((3, 8, 8))
    a[:, 0, 0] = 1.0
    a[:, 0, 1] = a[:, 1, 0] = a[:, 0, -1] = a[:, -1, 0] = 2.0
    r, g = S.radial(a)
    assert r[0] == 0 and r[1] == 1 and g[1] == 2.0 and g[0] == 1.0
    m1, m2 = S.moments(r, g)
    assert 0 < m1 <= 1 and 0 < m2 <= 1
    # low-pass profile has lower moments than a flat one
    flat = np.ones_like(g)
    assert S.moments(r, flat)[0] > m1
    pp = S.postprocess(r, flat + 1.0)
    np.testing.assert_allclose(pp, -np.log(np.trapezoid(np.ones_like(r), r)))
    with pytest.raises(ValueError, match="positive"):
        S.postprocess(r, g)               # zeros: no logarithm
    d = S.display_map(np.random.default_rng(0).random((3, 8, 8)))
    assert d.shape == (8, 8, 3) and d.max() == 1.0
