"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A scratch book root (``FREQLEARN_ROOT``) at the quick preset, baseline off."""
    monkeypatch.setenv("FREQLEARN_ROOT", str(tmp_path))
    monkeypatch.setenv("BOOK_PRESET", "quick")
    monkeypatch.setenv("FREQLEARN_BASELINE", "off")
    monkeypatch.delenv("FREQLEARN_CLAIMS_DIR", raising=False)
    monkeypatch.delenv("BOOK_SEED", raising=False)
    return tmp_path
