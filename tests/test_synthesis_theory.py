"""Closed forms added for the synthesis chapter: the minimum-norm least-squares map."""

import numpy as np
import pytest
import torch

from freqlearn.theory import godfrey as G


def _data(n=60, shape=(2, 4, 4), k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *shape, generator=g, dtype=torch.float64)
    x = x - x.mean((2, 3), keepdim=True)          # DC removed: S is singular
    y = torch.randn(n, k, generator=g, dtype=torch.float64)
    return x, y


def test_min_norm_least_squares_is_pinv_and_stationary():
    x, y = _data()
    S, B = G.statistics(x, y)
    assert torch.linalg.matrix_rank(S) < len(S)          # singular: least_squares fails
    v = G.min_norm_least_squares(S, B, (2, 4, 4))
    W = torch.fft.ifft2(v, norm="ortho").real.reshape(3, -1)
    ref = B @ torch.linalg.pinv(S, hermitian=True)
    assert torch.allclose(W, ref, atol=1e-9)
    assert float((W @ S - B).norm()) < 1e-9              # gradient of the data term
    X = x.reshape(len(x), -1)
    assert np.allclose((X @ W.T).numpy(), (X @ ref.T).numpy())


def test_min_norm_least_squares_matches_ridge_limit_and_checks():
    x, y = _data(n=100, shape=(1, 3, 3), seed=1)
    x = x + 0.1 * torch.randn_like(x)                    # full rank: = least_squares
    S, B = G.statistics(x, y)
    v = G.min_norm_least_squares(S, B, (1, 3, 3))
    assert torch.allclose(v, G.least_squares(S, B, (1, 3, 3)), atol=1e-8)
    assert torch.allclose(v, G.ridge_exact(S, B, 1e-12, (1, 3, 3)), atol=1e-6)
    with pytest.raises(ValueError):
        G.min_norm_least_squares(S, B, (1, 3, 3), rcond=-1)
