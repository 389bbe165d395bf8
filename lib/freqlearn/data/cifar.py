"""CIFAR-10/100 from the official python archives (DESIGN.md §4; P6, P7, G, C, R).

- The archive is looked for under ``FREQLEARN_DATA`` (default ``~/.cache/freqlearn``; a
  leading ``~`` is expanded and an empty value means the default).
- It is downloaded only when it is missing, ``download=True`` was asked for and a network
  answers; the download goes to a ``.part`` file that is renamed only after its checksum
  matched, so an interrupted or corrupt download never leaves a half-written archive.
- The MD5 checksum is verified *before* anything is unpickled, and the batches are
  unpickled with a restricted unpickler that admits only the NumPy types the format uses:
  a tampered archive gives an error, never runs code.
- Batches are read straight from the tar stream; nothing is extracted to disk.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _checks as chk

__all__ = ["ARCHIVES", "CIFAR", "CIFARError", "CIFARNotFound", "CIFARCorrupt", "data_dir",
           "load_cifar", "md5sum", "write_archive"]

ARCHIVES = {
    "cifar10": {
        "file": "cifar-10-python.tar.gz",
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "md5": "c58f30108f718f92721af3b95e74349a",
        "folder": "cifar-10-batches-py",
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "meta": "batches.meta",
        "labels": "labels",
        "names": "label_names",
        "title": "CIFAR-10",
    },
    "cifar100": {
        "file": "cifar-100-python.tar.gz",
        "url": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "md5": "eb9058c3a382ffc7106e4002c42a8d85",
        "folder": "cifar-100-python",
        "train": ["train"],
        "test": ["test"],
        "meta": "meta",
        "labels": "fine_labels",
        "names": "fine_label_names",
        "title": "CIFAR-100",
    },
}


class CIFARError(RuntimeError):
    """Base class of the loader's errors."""


class CIFARNotFound(CIFARError):
    """The archive is not on disk and could not be downloaded."""


class CIFARCorrupt(CIFARError):
    """The archive is on disk but its checksum or contents are wrong."""


def data_dir() -> Path:
    """``FREQLEARN_DATA`` (``~`` expanded) or, when unset or empty, ``~/.cache/freqlearn``."""
    env = os.environ.get("FREQLEARN_DATA", "")
    if not env.strip():
        return Path.home() / ".cache" / "freqlearn"
    return Path(env).expanduser()


def write_archive(path: str | os.PathLike, members: dict, name: str = "cifar10") -> Path:
    """Write a CIFAR archive in the official format: a ``tar.gz`` whose members
    ``<folder>/<member>`` are protocol-2 pickles (``ARCHIVES[name]["folder"]``).

    ``members`` maps a member name (``"data_batch_1"``, ``"test_batch"``, ``"meta"``, …) to
    the object to pickle, or to raw ``bytes`` written as they are (to test corrupt members).
    The tests use it to make small archives that :func:`load_cifar` reads like the real ones
    (nothing is ever downloaded in a test); it returns ``path``.
    """
    if name not in ARCHIVES:
        raise ValueError(f"name must be one of {sorted(ARCHIVES)}; got {name!r}")
    if not isinstance(members, dict) or not members:
        raise ValueError(f"members must be a non-empty dict; got {type(members).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for member, obj in members.items():
            raw = obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"{ARCHIVES[name]['folder']}/{member}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """MD5 hex digest of the file at ``path``, read in ``chunk``-byte pieces."""
    chk.integer(chunk, "chunk", minimum=1)
    h = hashlib.md5()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"): ("numpy._core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"): ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
    ("_codecs", "encode"): ("_codecs", "encode"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        target = _ALLOWED.get((module, name))
        if target is None:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: not a type the CIFAR format uses")
        if target[0].startswith("numpy._core") and not hasattr(np, "_core"):
            target = ("numpy.core.multiarray", target[1])  # NumPy 1.x
        return super().find_class(*target)


def _unpickle(raw: bytes) -> dict:
    obj = _RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()
    if not isinstance(obj, dict):
        raise CIFARCorrupt(f"a CIFAR batch must unpickle to a dict; got {type(obj).__name__}")
    for v in obj.values():
        # the format stores its arrays' bytes in the pickle: an array larger than the pickle
        # was conjured by calling numpy.ndarray(shape) (uninitialised memory)
        if isinstance(v, np.ndarray) and v.nbytes > len(raw):
            raise CIFARCorrupt(f"a CIFAR batch of {len(raw)} bytes holds an array of "
                               f"{v.nbytes} bytes ({v.dtype}{v.shape}): not data it stored")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _download(url: str, dest: Path, md5: str) -> None:
    """Stream ``url`` into ``dest`` through :func:`freqlearn.store.atomic_write`: the MD5 is
    checked before the file is renamed into place, so a failed, wrong or interrupted
    download leaves no ``dest`` (and two downloaders never share a temporary file)."""
    import urllib.error
    import urllib.request

    from .. import store

    def write(f):
        h = hashlib.md5()
        with urllib.request.urlopen(url, timeout=30) as r:
            while b := r.read(1 << 20):
                h.update(b)
                f.write(b)
        if h.hexdigest() != md5:
            raise CIFARCorrupt(f"downloaded {url} has MD5 {h.hexdigest()}, expected {md5}")

    try:
        store.atomic_write(dest, write)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise CIFARNotFound(f"could not download {url} to {dest}: {e}") from e


@dataclass
class CIFAR:
    """Decoded archive: images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` int64."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: tuple[str, ...]
    path: Path
    title: str


def _read_batch(tar: tarfile.TarFile, member: str, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    try:
        f = tar.extractfile(member)
    except KeyError:
        f = None
    if f is None:
        raise CIFARCorrupt(f"{member} is missing from the archive")
    d = _unpickle(f.read())
    if "data" not in d or spec["labels"] not in d:
        raise CIFARCorrupt(f"{member} lacks 'data' or '{spec['labels']}'")
    x = np.asarray(d["data"])
    try:
        y = np.asarray(d[spec["labels"]])
    except (ValueError, TypeError) as e:  # ragged nested lists
        raise CIFARCorrupt(f"{member}: labels are not a list of integers: {e}") from e
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.size == 0):
        raise CIFARCorrupt(f"{member}: labels must be a list of integers; got "
                           f"{y.dtype}{y.shape} (floats are not truncated)")
    y = y.astype(np.int64, copy=False)
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072 or len(y) != len(x):
        raise CIFARCorrupt(f"{member}: data {x.dtype}{x.shape} / {len(y)} labels do not fit "
                           "the format (N×3072 uint8, N labels)")
    return x.reshape(-1, 3, 32, 32), y


def load_cifar(name: str = "cifar10", *, root: str | os.PathLike | None = None,
               download: bool = False, md5: str | None = None) -> CIFAR:
    """Load CIFAR-10 (``"cifar10"``) or CIFAR-100 (``"cifar100"``) from the official archive.

    ``root`` (``~`` expanded) overrides :func:`data_dir`; ``md5`` (32 hex digits) overrides
    the known checksum (the tests use it for a tiny archive they write).
    Raises :class:`CIFARNotFound` (with the path and the fix) or :class:`CIFARCorrupt`.
    """
    if not isinstance(name, str) or name not in ARCHIVES:
        raise ValueError(f"name must be one of {sorted(ARCHIVES)}; got {name!r}")
    chk.boolean(download, "download")
    if md5 is not None and not (isinstance(md5, str) and len(md5) == 32
                                and all(ch in "0123456789abcdef" for ch in md5.lower())):
        raise ValueError(f"md5 must be None or 32 hexadecimal digits; got {md5!r}")
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be None or a path; got {root!r} ({type(root).__name__})")
    spec = ARCHIVES[name]
    md5 = (md5 or spec["md5"]).lower()
    root = Path(root).expanduser() if root is not None else data_dir()
    path = root / spec["file"]
    if path.exists() and not path.is_file():
        raise CIFARCorrupt(f"{path} is not a file (a directory?), so it cannot be the "
                           f"{spec['title']} archive. Fix: remove or rename it, or set "
                           f"FREQLEARN_DATA to the folder that holds '{spec['file']}'.")
    if not path.exists():
        if not download:
            raise CIFARNotFound(
                f"{spec['title']} archive not found at {path}. Fix: put the official "
                f"'{spec['file']}' there (or set FREQLEARN_DATA to its folder), or call with "
                f"download=True on a machine with network.")
        _download(spec["url"], path, md5)
    got = md5sum(path)
    if got != md5:
        raise CIFARCorrupt(
            f"{path} has MD5 {got}, expected {md5}: the archive is corrupt or truncated. "
            f"Fix: delete it and download it again.")
    try:
        with tarfile.open(path, "r:gz") as tar:
            parts = [_read_batch(tar, f"{spec['folder']}/{m}", spec) for m in spec["train"]]
            test_x, test_y = _read_batch(tar, f"{spec['folder']}/{spec['test'][0]}", spec)
            mf = tar.extractfile(f"{spec['folder']}/{spec['meta']}")
            meta = _unpickle(mf.read()) if mf is not None else {}
    except (tarfile.TarError, EOFError, OSError, pickle.UnpicklingError, KeyError) as e:
        raise CIFARCorrupt(f"{path} could not be read as a CIFAR archive: {e}") from e
    raw_names = meta.get(spec["names"], [])
    if not isinstance(raw_names, (list, tuple)) or not all(
            isinstance(s, (str, bytes)) for s in raw_names):
        raise CIFARCorrupt(f"{path}: {spec['meta']} '{spec['names']}' must be a list of "
                           f"class names; got {type(raw_names).__name__}")
    names = tuple(str(s) for s in raw_names)
    train_x = np.concatenate([p[0] for p in parts])
    train_y = np.concatenate([p[1] for p in parts])
    if len(train_y) == 0 or len(test_y) == 0:
        raise CIFARCorrupt(f"{path}: holds {len(train_y)} training and {len(test_y)} test "
                           f"images; both must be non-empty")
    n_cls = len(names) or int(train_y.max()) + 1
    if train_y.min() < 0 or train_y.max() >= n_cls or test_y.min() < 0 or test_y.max() >= n_cls:
        raise CIFARCorrupt(f"{path}: labels outside 0..{n_cls - 1}")
    return CIFAR(train_x, train_y, test_x, test_y, names, path, spec["title"])
