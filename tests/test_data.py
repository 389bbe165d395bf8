"""Unit tests of ``freqlearn.data``: the offline stand-in and the CIFAR loader.

The CIFAR tests write a tiny archive in the official format (a tar.gz of protocol-2
pickles) under ``tmp_path``; nothing touches the network (the download path is exercised
only with ``file://`` URLs).
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import freqlearn as fl
from freqlearn import fourier as ff
from freqlearn.data import cifar, natural
from freqlearn.data.cifar import CIFARCorrupt, CIFARNotFound

FOLDER = "cifar-10-batches-py"
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
         "truck"]
PER_BATCH = 6


# ------------------------------------------------------------------------- stand-in
def test_standin_deterministic_and_seeded():
    a = fl.data.standin(20, size=16, channels=3, seed=3)
    b = fl.data.standin(20, size=16, channels=3, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    c = fl.data.standin(20, size=16, channels=3, seed=4)
    assert not np.array_equal(a.x, c.x)


def test_standin_shapes_values_labels():
    for ch in (1, 3):
        d = fl.data.standin(30, size=16, channels=ch, n_classes=5, split="test", seed=1)
        assert d.x.shape == (30, ch, 16, 16) and d.x.dtype == np.float32
        assert d.y.shape == (30,) and d.y.dtype == np.int64
        assert d.x.min() >= 0.0 and d.x.max() <= 1.0
        assert d.x.std() > 0.05  # not blank
        np.testing.assert_array_equal(np.bincount(d.y), [6] * 5)  # balanced
        assert d.classes == natural.CLASSES[:5] and len(d) == 30
        assert "stand-in" in d.source and "test band" in d.source
    # grey = ITU-R 601 luminance of the colour crops (same seed, same crops)
    rgb = fl.data.standin(10, size=16, channels=3, seed=2)
    grey = fl.data.standin(10, size=16, channels=1, seed=2)
    lum = np.tensordot([0.299, 0.587, 0.114], rgb.x.astype(np.float64), axes=([0], [1]))
    np.testing.assert_allclose(grey.x[:, 0], lum, atol=1e-6)
    # crops differ across the labels
    d = fl.data.standin(20, size=16, channels=1, seed=0)
    means = [d.x[d.y == k].mean() for k in range(10)]
    assert np.ptp(means) > 0.05


def _locate(crop, photo):
    """Column offsets where ``crop`` (C, s, s) sits in ``photo`` (H, W, 3), flips included."""
    s = crop.shape[-1]
    win = np.lib.stride_tricks.sliding_window_view(photo.astype(np.float32), (s, s),
                                                   axis=(0, 1))  # (H', W', 3, s, s)
    hits = []
    for c in (crop, crop[..., ::-1]):
        eq = np.all(np.abs(win - c[None, None]) < 1e-6, axis=(2, 3, 4))
        hits.extend(np.argwhere(eq)[:, 1].tolist())
    return hits


def test_standin_train_and_test_crops_come_from_disjoint_bands():
    size = 8
    tr = fl.data.standin(30, size=size, channels=3, seed=0, split="train")
    te = fl.data.standin(30, size=size, channels=3, seed=0, split="test")
    assert not np.array_equal(tr.x, te.x)
    photos = natural.photographs(6 * size)
    for d, is_train in ((tr, True), (te, False)):
        for x, y in zip(d.x, d.y, strict=True):
            W = photos[y].shape[1]
            cut = int(0.75 * W)
            cols = _locate(x, photos[y])
            assert cols, "crop not found in its photograph"
            if is_train:
                assert all(c + size <= cut for c in cols)
            else:
                assert all(c >= cut for c in cols)


def test_standin_power_spectrum_falls_like_natural_images():
    d = fl.data.standin(200, size=32, channels=1, seed=0)
    r, prof = ff.radial_profile(ff.power_spectrum(d.x))
    fit = ff.fit_power_law(r, prof, kmin=1.0)
    assert 1.0 < fit.exponent < 3.5, fit
    assert prof[1] > prof[-1] * 10


def test_standin_bad_args():
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        fl.data.standin(4, channels=2)
    with pytest.raises(ValueError, match="n_classes must be in 1..10"):
        fl.data.standin(4, n_classes=11)
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        fl.data.standin(4, split="val")
    with pytest.raises(ValueError, match="n must be an integer ≥ 0"):
        fl.data.standin(-1)
    empty = fl.data.standin(0, size=8, channels=1)  # zero samples: an empty, shaped set
    assert empty.x.shape == (0, 1, 8, 8) and empty.y.shape == (0,) and len(empty) == 0
    with pytest.raises(ValueError, match="too large"):
        fl.data.standin(4, size=16, context=20)


# ------------------------------------------------------------------ tiny CIFAR archive
def _pickle(obj) -> bytes:
    return pickle.dumps(obj, protocol=2)


def _batch(rng, n):
    return {"batch_label": "tiny", "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "labels": [int(v) for v in rng.integers(0, 10, n)]}


def write_archive(path, *, replace=None, seed=0):
    """The official layout with PER_BATCH images per batch; ``replace`` swaps a member."""
    rng = np.random.default_rng(seed)
    members = {f"data_batch_{i}": _pickle(_batch(rng, PER_BATCH)) for i in range(1, 6)}
    members["test_batch"] = _pickle(_batch(rng, PER_BATCH))
    members["batches.meta"] = _pickle({"label_names": NAMES, "num_vis": 3072})
    members.update(replace or {})
    cifar.write_archive(path, members)
    return path


@pytest.fixture
def archive(tmp_path):
    p = write_archive(tmp_path / "cifar-10-python.tar.gz")
    return p, cifar.md5sum(p)


def _expected(seed=0):
    rng = np.random.default_rng(seed)
    bs = [_batch(rng, PER_BATCH) for _ in range(6)]
    return bs[:5], bs[5]


def test_load_cifar_tiny_archive(archive, tmp_path):
    path, md5 = archive
    c = cifar.load_cifar("cifar10", root=tmp_path, md5=md5)
    tr, te = _expected()
    assert c.train_x.shape == (5 * PER_BATCH, 3, 32, 32) and c.train_x.dtype == np.uint8
    assert c.test_x.shape == (PER_BATCH, 3, 32, 32)
    np.testing.assert_array_equal(c.train_x.reshape(-1, 3072),
                                  np.concatenate([b["data"] for b in tr]))
    np.testing.assert_array_equal(c.train_y, sum((b["labels"] for b in tr), []))
    np.testing.assert_array_equal(c.test_y, te["labels"])
    # channel-major layout: the first 1024 bytes are the red plane, row-major
    np.testing.assert_array_equal(c.test_x[0, 0].ravel(), te["data"][0, :1024])
    assert c.classes == tuple(NAMES) and c.title == "CIFAR-10" and c.path == path
    assert sorted(os.listdir(tmp_path)) == [path.name]  # nothing extracted


def test_wrong_md5_names_the_path(archive, tmp_path):
    path, _ = archive
    with pytest.raises(CIFARCorrupt, match=str(path)):
        cifar.load_cifar("cifar10", root=tmp_path, md5="0" * 32)
    with pytest.raises(CIFARCorrupt, match="expected c58f3010"):  # the official checksum
        cifar.load_cifar("cifar10", root=tmp_path)


def test_truncated_archive_is_corrupt_and_creates_nothing(archive, tmp_path):
    path, _ = archive
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(CIFARCorrupt, match="corrupt or truncated"):
        cifar.load_cifar("cifar10", root=tmp_path, md5=md5_of(raw))
    # even with a matching checksum the tar reader must fail cleanly
    with pytest.raises(CIFARCorrupt, match="could not be read"):
        cifar.load_cifar("cifar10", root=tmp_path, md5=cifar.md5sum(path))
    assert sorted(os.listdir(tmp_path)) == before


def md5_of(raw: bytes) -> str:
    import hashlib

    return hashlib.md5(raw).hexdigest()


def test_missing_archive_names_path_and_fix(tmp_path, monkeypatch):
    with pytest.raises(CIFARNotFound) as e:
        cifar.load_cifar("cifar10", root=tmp_path)
    msg = str(e.value)
    assert str(tmp_path / "cifar-10-python.tar.gz") in msg
    assert "Fix:" in msg and "FREQLEARN_DATA" in msg and "download=True" in msg
    monkeypatch.setenv("FREQLEARN_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(CIFARNotFound, match="elsewhere"):
        cifar.load_cifar("cifar100")
    with pytest.raises(ValueError, match="cifar10"):
        cifar.load_cifar("mnist")
    assert os.listdir(tmp_path) == []


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_tampered_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    raw = _pickle({"data": _Evil(marker), "labels": [0]})
    assert b"system" in raw
    path = write_archive(tmp_path / "c" / "cifar-10-python.tar.gz",
                         replace={"data_batch_3": raw})
    with pytest.raises(CIFARCorrupt, match="refusing to load") as e:
        cifar.load_cifar("cifar10", root=path.parent, md5=cifar.md5sum(path))
    assert isinstance(e.value.__cause__, pickle.UnpicklingError)
    assert not marker.exists()


@pytest.mark.parametrize("member,bad,match", [
    ("data_batch_2", {"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]},
     "do not fit the format"),
    ("data_batch_2", {"data": np.zeros((2, 3072), np.uint8), "labels": [0]},
     "do not fit the format"),
    ("test_batch", {"labels": [0]}, "lacks 'data'"),
    ("test_batch", [1, 2], "must unpickle to a dict"),
    ("test_batch", {"data": np.zeros((1, 3072), np.uint8), "labels": [12]},
     "labels outside 0..9"),
])
def test_malformed_batches_are_corrupt(tmp_path, member, bad, match):
    path = write_archive(tmp_path / "cifar-10-python.tar.gz", replace={member: _pickle(bad)})
    with pytest.raises(CIFARCorrupt, match=match):
        cifar.load_cifar("cifar10", root=tmp_path, md5=cifar.md5sum(path))


def test_missing_member_is_corrupt(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "cifar-10-python.tar.gz"
    cifar.write_archive(path, {"data_batch_1": _batch(rng, 2)})
    with pytest.raises(CIFARCorrupt, match="data_batch_2 is missing"):
        cifar.load_cifar("cifar10", root=tmp_path, md5=cifar.md5sum(path))


# --------------------------------------------------------------- download (file:// only)
def test_download_failure_leaves_no_part(tmp_path):
    dest = tmp_path / "dl" / "cifar-10-python.tar.gz"
    url = (tmp_path / "does-not-exist.tar.gz").as_uri()
    with pytest.raises(CIFARNotFound, match="could not download"):
        cifar._download(url, dest, "0" * 32)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_download_checksum_mismatch_leaves_nothing(archive, tmp_path):
    path, md5 = archive
    dest = tmp_path / "dl" / path.name
    with pytest.raises(CIFARCorrupt, match="MD5"):
        cifar._download(path.as_uri(), dest, "0" * 32)
    assert list(dest.parent.iterdir()) == []
    cifar._download(path.as_uri(), dest, md5)
    assert cifar.md5sum(dest) == md5 and sorted(p.name for p in dest.parent.iterdir()) == [
        path.name]


def test_load_cifar_download_from_local_url(archive, tmp_path, monkeypatch):
    path, md5 = archive
    spec = dict(cifar.ARCHIVES["cifar10"], url=path.as_uri(), md5=md5)
    monkeypatch.setitem(cifar.ARCHIVES, "cifar10", spec)
    root = tmp_path / "cache"
    c = cifar.load_cifar("cifar10", root=root, download=True)
    assert c.train_x.shape[0] == 5 * PER_BATCH
    assert sorted(os.listdir(root)) == ["cifar-10-python.tar.gz"]


# ----------------------------------------------------------------------- load_natural
def test_load_natural_falls_back_to_standin(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FREQLEARN_DATA", str(tmp_path))
    tr, te = fl.data.load_natural(20, 10, n_classes=4, channels=1, size=16, prefer="standin")
    assert tr.name == "stand-in" and tr.x.shape == (20, 1, 16, 16)
    out = capsys.readouterr().out
    assert out.startswith("Data: offline natural-image stand-in") and "falling back" not in out
    tr, te = fl.data.load_natural(20, 10, n_classes=4, channels=3)
    out = capsys.readouterr().out
    assert "stand-in" in out and "falling back" in out and str(tmp_path) in out
    assert tr.x.shape == (20, 3, 32, 32) and te.x.shape == (10, 3, 32, 32)
    assert set(tr.y.tolist()) == {0, 1, 2, 3}
    ref = fl.data.standin(20, size=32, channels=3, n_classes=4, split="train")
    np.testing.assert_array_equal(tr.x, ref.x)
    with pytest.raises(CIFARNotFound, match="Fix:"):
        fl.data.load_natural(20, 10, allow_fallback=False)
    with pytest.raises(ValueError, match="32×32"):
        fl.data.load_natural(20, 10, size=16)
    assert os.listdir(tmp_path) == []


def test_load_natural_picks_cifar_when_present(archive, tmp_path, monkeypatch, capsys):
    path, md5 = archive
    monkeypatch.setenv("FREQLEARN_DATA", str(tmp_path))
    monkeypatch.setitem(cifar.ARCHIVES, "cifar10", dict(cifar.ARCHIVES["cifar10"], md5=md5))
    tr, te = fl.data.load_natural(None, None, n_classes=10, channels=3, seed=0)
    out = capsys.readouterr().out
    assert out.startswith("Data: CIFAR-10 from") and str(path) in out
    assert tr.name == "CIFAR-10" and tr.x.shape == (5 * PER_BATCH, 3, 32, 32)
    assert tr.x.dtype == np.float32 and 0 <= tr.x.min() and tr.x.max() <= 1
    assert tr.classes == tuple(NAMES)
    c = cifar.load_cifar("cifar10", root=tmp_path, md5=md5)
    np.testing.assert_allclose(tr.x, c.train_x / 255.0, atol=1e-7)
    np.testing.assert_array_equal(tr.y, c.train_y)
    # a subset of classes is relabelled 0..k-1, grey is the 601 luminance
    tr2, te2 = fl.data.load_natural(None, None, n_classes=3, channels=1)
    keep = c.train_y < 3
    assert tr2.x.shape == (keep.sum(), 1, 32, 32) and tr2.classes == tuple(NAMES[:3])
    np.testing.assert_array_equal(tr2.y, c.train_y[keep])
    lum = np.tensordot([0.299, 0.587, 0.114], c.train_x[keep] / 255.0, axes=([0], [1]))
    np.testing.assert_allclose(tr2.x[:, 0], lum, atol=1e-6)
    with pytest.raises(ValueError, match="asked for"):
        fl.data.load_natural(10 * PER_BATCH, None)
    tr3, _ = fl.data.load_natural(7, 2, seed=1)
    assert tr3.x.shape[0] == 7


def test_write_archive_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="name must be one of"):
        cifar.write_archive(tmp_path / "x.tar.gz", {"a": 1}, "cifar1000")
    with pytest.raises(ValueError, match="members must be a non-empty dict"):
        cifar.write_archive(tmp_path / "x.tar.gz", {})
