"""One persistence layer: every file the book writes or reads back goes through here.

Three promises, for every file (checkpoints, sweep results, claims, records, baselines,
cached arrays):

1. **Reading never runs code.** JSON is read as JSON; tensors with
   ``torch.load(..., weights_only=True)`` (:func:`load_torch`); trees of arrays and plain
   values as an ``.npz`` holding only numeric arrays and a JSON skeleton, read with
   ``np.load(..., allow_pickle=False)`` (:func:`save_tree`, :func:`load_tree`). Nothing here
   calls ``pickle``; ``tests/test_store.py`` scans the package and fails on any unsafe load.
2. **Every write is atomic.** :func:`atomic_write` writes a uniquely named temporary file in
   the target's folder (``mkstemp``: never a fixed ``.tmp`` name two writers could share,
   never following a planted symlink), ``fsync``\\ s it, and ``os.replace``\\ s it onto the
   target: a reader sees the old file or the new one, never half of one, and a kill leaves
   the old file (or none) behind.
3. **A damaged or foreign file is named.** :class:`StoreCorrupt` (unreadable, truncated,
   not of this format) and :class:`StoreMismatch` (it belongs to another run: its
   fingerprint differs) name the file and say what to do.

Fingerprints are plain JSON data; :func:`callable_identity` names a function by module and
qualified name, and a ``functools.partial`` by its function *and* its bound arguments, so
two partials of one function never share a result. :func:`digest` hashes numbers, strings,
arrays, tensors and generators stably across processes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import math
import numbers
import os
import pickle
import tempfile
import types
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

__all__ = ["StoreError", "StoreCorrupt", "StoreMismatch", "atomic_write", "write_bytes",
           "write_text", "write_figure", "write_json", "read_json", "save_torch",
           "load_torch", "save_tree", "load_tree", "digest", "value_id",
           "callable_identity", "check_fingerprint", "TREE_FORMAT"]

TREE_FORMAT = "freqlearn.store tree"
TREE_VERSION = 1


class StoreError(ValueError):
    """A file of the book that cannot be used (base of the two below)."""


class StoreCorrupt(StoreError):
    """The file is unreadable, truncated, malformed, or holds objects that are refused."""

    def __init__(self, path, why: str, fix: str | None = None):
        self.path, self.why = Path(path), why
        self.fix = fix or f"Delete {path} to start over."
        super().__init__(f"{path} cannot be used: {why}. {self.fix}")


class StoreMismatch(StoreError):
    """The file belongs to another run: its fingerprint differs from this run's."""

    def __init__(self, path, differences: list[str], fix: str | None = None):
        self.path, self.differences = Path(path), differences
        self.fix = fix or f"Delete {path} to start over, or use another path."
        super().__init__(f"{path} belongs to another run; what differs (saved vs now):\n"
                         + "\n".join(differences) + f"\n{self.fix}")


# ---------------------------------------------------------------------- atomic writes
def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


_MODE = 0o666 & ~_umask()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path, writer: Callable[[io.BufferedWriter], object]) -> Path:
    """Write ``path`` atomically: ``writer(f)`` fills a binary file object.

    The bytes go to a unique temporary file in the same folder (``mkstemp``: created with
    ``O_EXCL``, so a symlink planted there is never followed), are ``fsync``\\ ed, and the
    file is renamed onto ``path`` (``os.replace``, atomic on POSIX). On any error, or a
    kill, the old ``path`` is left as it was and the temporary file is removed (or, after
    a kill, left as a dot-file that no reader opens). Returns ``path``.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def write_bytes(path, data: bytes) -> Path:
    """:func:`atomic_write` of ``data``."""
    return atomic_write(path, lambda f: f.write(data))


def write_text(path, text: str) -> Path:
    """:func:`atomic_write` of ``text`` (UTF-8)."""
    return write_bytes(path, text.encode("utf-8"))


def write_figure(path, fig, **savefig_kw) -> Path:
    """:func:`atomic_write` of a matplotlib figure, in the format of ``path``'s suffix
    (``.svg``, ``.png``, …): rendered in memory first, so a reader never sees half a file."""
    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip(".") or "png", **savefig_kw)
    return write_bytes(path, buf.getvalue())


def write_json(path, obj, *, sort_keys: bool = False, indent: int | None = 1) -> Path:
    """:func:`atomic_write` of ``obj`` as JSON (UTF-8, a final newline)."""
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=False)
    return write_text(path, text + "\n")


def read_json(path, *, fix: str | None = None):
    """``path`` parsed as JSON. A file that is not valid UTF-8 JSON (truncated by a kill,
    edited by hand, garbage) raises :class:`StoreCorrupt` naming it and ``fix``;
    ``FileNotFoundError`` passes through."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise StoreCorrupt(path, f"it is not UTF-8 text ({e.reason} at byte {e.start})",
                           fix) from None
    except json.JSONDecodeError as e:
        why = ("it is empty" if not raw.strip() else
               f"it is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}; "
               "truncated by an interrupted write, or edited by hand?)")
        raise StoreCorrupt(path, why, fix) from None


# ---------------------------------------------------------------------- torch files
def save_torch(path, blob) -> Path:
    """``torch.save(blob)`` atomically. ``blob`` should hold only tensors and plain
    ``dict``/``list``/``int``/``float``/``str``/``None``: what :func:`load_torch` admits."""
    import torch

    return atomic_write(path, lambda f: torch.save(blob, f))


def load_torch(path, *, map_location="cpu", fix: str | None = None):
    """``torch.load(path, weights_only=True)``: tensors and plain data only, never code.

    Raises :class:`StoreCorrupt` naming the file (its ``why`` says: empty or truncated,
    objects refused for safety, not a torch file); ``FileNotFoundError`` passes through.
    """
    import torch

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file path")
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": refused anyway
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever torch/pickle raise on a bad file
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        msg = lines[0][:200] if lines else ""
        if isinstance(e, (OSError, EOFError)):  # e.g. "[Errno 22] Invalid argument"
            why = "it is empty or truncated (an interrupted copy?)"
        elif isinstance(e, pickle.UnpicklingError) and "weights only" in msg.lower():
            detail = next((lines[i + 1] for i, ln in enumerate(lines[:-1])
                           if "WeightsUnpickler error" in ln), "")
            why = ("it holds objects other than tensors and plain data, which are refused for "
                   f"safety ({detail[:200]})")
        else:
            why = f"it is not a readable torch file ({type(e).__name__}: {msg})"
        raise StoreCorrupt(path, why, fix) from None


# ---------------------------------------------------------------------- trees (.npz)
_MARK = "__fl__"


def _encode(obj, arrays: list, where: str):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.generic) or isinstance(obj, np.ndarray):
        a = np.asarray(obj)
        if a.dtype.hasobject or a.dtype.kind not in "biufcSUM?m":
            raise TypeError(f"{where}: an array of dtype {a.dtype} cannot be stored as data")
        arrays.append(a)
        return {_MARK: "scalar" if isinstance(obj, np.generic) else "array",
                "i": len(arrays) - 1}
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        x = float(obj)
        return x if math.isfinite(x) else {_MARK: "float", "v": repr(x)}
    if isinstance(obj, numbers.Complex):
        return {_MARK: "complex", "v": [_encode(obj.real, arrays, where),
                                        _encode(obj.imag, arrays, where)]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(x, arrays, f"{where}[{i}]") for i, x in enumerate(obj)]
        return items if isinstance(obj, list) else {_MARK: "tuple", "v": items}
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) for k in obj) and _MARK not in obj:
            return {k: _encode(v, arrays, f"{where}[{k!r}]") for k, v in obj.items()}
        return {_MARK: "dict", "v": [[_encode(k, arrays, f"{where} key"),
                                      _encode(v, arrays, f"{where}[{k!r}]")]
                                     for k, v in obj.items()]}
    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
    if torch is not None and isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        try:
            a = t.numpy().copy()
        except TypeError as e:
            raise TypeError(f"{where}: a {t.dtype} tensor has no NumPy dtype to store it as "
                            "data; convert it first") from e
        arrays.append(a)
        return {_MARK: "tensor", "i": len(arrays) - 1}
    raise TypeError(f"{where}: a {type(obj).__name__} cannot be stored as data; results "
                    "must be numbers, strings, None, arrays, tensors and lists, tuples or "
                    "dicts of them")


def _decode(obj, arrays: dict, path: Path):
    if isinstance(obj, list):
        return [_decode(x, arrays, path) for x in obj]
    if not isinstance(obj, dict):
        return obj
    if _MARK not in obj:
        return {k: _decode(v, arrays, path) for k, v in obj.items()}
    kind = obj[_MARK]
    if kind in ("array", "scalar", "tensor"):
        name = f"a{obj.get('i')}"
        if name not in arrays:
            raise ValueError(f"array {name} is missing")
        a = arrays[name]
        if kind == "scalar":
            return a[()]
        if kind == "tensor":
            import torch

            return torch.from_numpy(a.copy())
        return a
    if kind == "float":
        v = obj.get("v")
        if v not in ("nan", "inf", "-inf"):
            raise ValueError(f"bad non-finite float {v!r}")
        return float(v)
    if kind == "complex":
        re_, im = (_decode(x, arrays, path) for x in obj["v"])
        return complex(re_, im)
    if kind == "tuple":
        return tuple(_decode(x, arrays, path) for x in obj["v"])
    if kind == "dict":
        return {_hashable(_decode(k, arrays, path)): _decode(v, arrays, path)
                for k, v in obj["v"]}
    raise ValueError(f"unknown entry kind {kind!r}")


def _hashable(k):
    if isinstance(k, np.ndarray):
        raise ValueError("an array cannot be a dict key")
    return k


def save_tree(path, obj, *, fingerprint: Mapping | None = None) -> Path:
    """Store ``obj`` — numbers, strings, None, NumPy arrays and scalars, tensors, and
    lists/tuples/dicts of them — as an ``.npz`` of numeric arrays plus a JSON skeleton,
    atomically, with an optional ``fingerprint`` (plain JSON data) checked on load."""
    arrays: list = []
    tree = _encode(obj, arrays, "result")
    head = {"format": TREE_FORMAT, "version": TREE_VERSION,
            "fingerprint": None if fingerprint is None else _plain(fingerprint, "fingerprint"),
            "tree": tree}
    skeleton = np.frombuffer(json.dumps(head, allow_nan=False).encode("utf-8"), dtype=np.uint8)
    members = {f"a{i}": a for i, a in enumerate(arrays)}

    def write(f):
        np.savez(f, __tree__=skeleton, **members)

    return atomic_write(path, write)


def load_tree(path, *, fingerprint: Mapping | None = None, fix: str | None = None):
    """The object :func:`save_tree` stored at ``path``; never runs code (``allow_pickle``
    is off). With ``fingerprint``, the saved one must equal it, else
    :class:`StoreMismatch`; a damaged file raises :class:`StoreCorrupt`."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file path")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "__tree__" not in z.files:
                raise ValueError("it has no __tree__ member (not a freqlearn.store file)")
            head = json.loads(z["__tree__"].tobytes().decode("utf-8"))
            if not (isinstance(head, dict) and head.get("format") == TREE_FORMAT):
                raise ValueError("it is not a freqlearn.store tree (no format marker)")
            if head.get("version") != TREE_VERSION:
                raise ValueError(f"its format version is {head.get('version')!r}, this "
                                 f"freqlearn reads {TREE_VERSION}")
            arrays = {k: z[k] for k in z.files if k != "__tree__"}
    except FileNotFoundError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise StoreCorrupt(path, f"it is empty, truncated or not an .npz file "
                                 f"({type(e).__name__}: {str(e)[:120]})", fix) from None
    except (ValueError, KeyError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StoreCorrupt(path, f"it is not a readable data file: {str(e)[:200]}",
                           fix) from None
    if fingerprint is not None:
        check_fingerprint(path, head.get("fingerprint"), _plain(fingerprint, "fingerprint"),
                          fix=fix)
    try:
        return _decode(head.get("tree"), arrays, path)
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise StoreCorrupt(path, f"its contents are malformed: {str(e)[:200]}", fix) from None


# ---------------------------------------------------------------------- fingerprints
def _plain(v, where: str):
    """``v`` as JSON data (tuples become lists); anything else is refused."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        x = float(v)
        if not math.isfinite(x):
            return repr(x)
        return x
    if isinstance(v, (list, tuple)):
        return [_plain(x, f"{where}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, Mapping):
        return {str(k): _plain(x, f"{where}[{k!r}]") for k, x in v.items()}
    raise TypeError(f"{where} must be plain data (numbers, strings, None, lists, dicts); "
                    f"got {type(v).__name__}")


def callable_identity(fn) -> dict:
    """What names ``fn`` in a fingerprint: ``{"function": "module.qualname"}``; for a
    ``functools.partial``, also its bound ``args`` and ``keywords`` (plain values as they
    are, anything else by :func:`digest`)."""
    if isinstance(fn, functools.partial):
        return {"partial": callable_identity(fn.func),
                "args": [value_id(a) for a in fn.args],
                "keywords": {k: value_id(v) for k, v in sorted(fn.keywords.items())}}
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {type(fn).__name__}")
    mod = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(qual, str) or not qual:
        qual = type(fn).__qualname__
        mod = type(fn).__module__
    return {"function": f"{mod}.{qual}"}


def value_id(v):
    """``v`` in a fingerprint: plain data as it is, anything else (arrays, tensors,
    generators, functions) as ``{"digest": digest(v)}``; ``TypeError`` if neither."""
    try:
        return _plain(v, "argument")
    except TypeError:
        return {"digest": digest(v)}


def _short(v) -> str:
    if isinstance(v, list) and len(v) > 8:
        return f"[{', '.join(map(repr, v[:3]))}, …, {', '.join(map(repr, v[-2:]))}] " \
               f"({len(v)} entries)"
    return repr(v) if not isinstance(v, str) else v


def _diff(saved, now, prefix: str = "") -> list[str]:
    if isinstance(saved, dict) and isinstance(now, dict):
        out = []
        for k in list(now) + [k for k in saved if k not in now]:
            a, b = saved.get(k, "(absent)"), now.get(k, "(absent)")
            if a != b:
                if isinstance(a, dict) and isinstance(b, dict):
                    out += _diff(a, b, f"{prefix}{k}.")
                else:
                    out.append(f"  {prefix}{k}: saved {_short(a)}, now {_short(b)}")
        return out
    return [] if saved == now else [f"  {prefix or 'fingerprint'}: saved {_short(saved)}, "
                                    f"now {_short(now)}"]


def check_fingerprint(path, saved, now, *, fix: str | None = None) -> None:
    """Raise :class:`StoreMismatch` listing each field where ``saved`` differs from
    ``now`` (both plain data)."""
    diff = _diff(saved, now)
    if diff:
        raise StoreMismatch(path, diff, fix)


# ---------------------------------------------------------------------- digest
def _feed(h, obj) -> None:
    import torch

    if obj is None:
        h.update(b"N;")
    elif isinstance(obj, (bool, np.bool_)):
        h.update(b"B1;" if obj else b"B0;")
    elif isinstance(obj, numbers.Integral):
        h.update(b"I%d;" % int(obj))
    elif isinstance(obj, numbers.Real):
        h.update(b"F" + float(obj).hex().encode() + b";")
    elif isinstance(obj, numbers.Complex):
        h.update(b"C" + complex(obj).real.hex().encode() + complex(obj).imag.hex().encode())
    elif isinstance(obj, (str, os.PathLike)):
        s = os.fspath(obj).encode()
        h.update(b"S%d:" % len(s) + s)
    elif isinstance(obj, bytes):
        h.update(b"Y%d:" % len(obj) + obj)
    elif isinstance(obj, (list, tuple)):
        h.update(b"L%d[" % len(obj))
        for x in obj:
            _feed(h, x)
        h.update(b"]")
    elif isinstance(obj, Mapping):
        h.update(b"D%d{" % len(obj))
        for k in sorted(obj, key=str):
            _feed(h, str(k))
            _feed(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError("digest: cannot fingerprint an object array")
        h.update(b"A" + obj.dtype.str.encode() + repr(obj.shape).encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(b"T" + str(t.dtype).encode() + repr(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, torch.Generator):
        h.update(b"G" + str(obj.device).encode())
        h.update(obj.get_state().numpy().tobytes())
    elif isinstance(obj, (torch.dtype, torch.device, np.dtype)):
        h.update(b"O" + str(obj).encode() + b";")
    elif isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                          functools.partial)):
        _feed(h, callable_identity(obj))
    else:
        raise TypeError(f"digest: cannot fingerprint a {type(obj).__name__}; pass numbers, "
                        "strings, arrays, tensors, generators or lists/dicts of them")


def digest(*objs, **named) -> str:
    """A short stable hash (12 hex digits) of numbers, strings, arrays, tensors (dtype, shape,
    bytes), torch generators (their current state), functions (module and name; a
    ``partial`` with its arguments) and lists/tuples/dicts of them.

    The same arguments give the same digest in every process.
    """
    h = hashlib.blake2b(digest_size=16)
    _feed(h, (objs, named))
    return h.hexdigest()[:12]
