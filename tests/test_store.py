"""One persistence layer (freqlearn.store): no file the book reads can run code, no write
can be left half-done, and a damaged or foreign file is named.

The rows of the second hostile probe (../shared/notes/probe-reliability-2.md) that concern
the store, the sweeps and train.run each have a test here (their probe id is in the test's
docstring); the chapter runners' rows are tested beside their modules. The last part scans
the package's source for unsafe loads and for writes that bypass the store.
"""

from __future__ import annotations

import ast
import functools
import json
import multiprocessing as mp
import os
import pickle
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from freqlearn import store, train
from freqlearn import sweep as SW

PKG = Path(__file__).resolve().parents[1] / "lib" / "freqlearn"
EXT = Path(__file__).resolve().parents[1] / "book" / "_ext"


class Evil:
    """A pickle payload that creates ``marker`` when unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# ------------------------------------------------------------------------ atomic writes
def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    p = tmp_path / "a.json"
    store.write_json(p, {"v": 1})

    def boom(f):
        f.write(b'{"v": 2, "half')
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        store.atomic_write(p, boom)
    assert store.read_json(p) == {"v": 1}
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.json"]   # no temp file left


def test_atomic_write_never_follows_a_planted_symlink(tmp_path):
    """RS.10: a symlink at the old fixed temp name (``<name>.tmp``) pointing at a victim."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for name in ("c.json.tmp", ".c.json.tmp"):
        (tmp_path / name).symlink_to(victim)
    store.write_json(tmp_path / "c.json", [1, 2])
    assert victim.read_text() == "precious"
    assert store.read_json(tmp_path / "c.json") == [1, 2]


def test_train_checkpoint_never_follows_a_planted_symlink(tmp_path):
    """RS.10 for train.run: ``planted.pt.tmp → victim`` is left alone."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "planted.pt.tmp").symlink_to(victim)
    W = torch.zeros(3)
    train.run(lambda t: W.add_(1.0), 4, state={"W": W}, checkpoint=tmp_path / "planted.pt",
              progress=False)
    assert victim.read_text() == "precious"
    assert train.read_checkpoint(tmp_path / "planted.pt")["t"] == 4


def test_read_json_names_a_damaged_file(tmp_path):
    p = tmp_path / "quick.json"
    p.write_text('{"a": [1, 2,')
    with pytest.raises(store.StoreCorrupt, match=r"quick\.json.*not valid JSON.*line 1") as e:
        store.read_json(p, fix="Re-record it.")
    assert "Re-record it." in str(e.value) and e.value.path == p
    p.write_bytes(b"")
    with pytest.raises(store.StoreCorrupt, match="empty"):
        store.read_json(p)
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(store.StoreCorrupt, match="not UTF-8"):
        store.read_json(p)


# ------------------------------------------------------------------------ trees
def test_tree_round_trip_is_exact(tmp_path):
    obj = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "t": torch.tensor([1.5, -2.0]),
           "s": "text", "n": None, "b": True, "i": 7, "f": 0.1, "nan": float("nan"),
           "inf": -math_inf(), "c": 1 + 2j, "tup": (1, "x"), "lst": [np.float64(2.5), 3],
           "keys": {1: "one", (2, 3): "pair"}, "scalar": np.int64(4),
           "nested": {"h": {"epoch": [1, 2], "acc": [0.5, 0.6]}}}
    store.save_tree(tmp_path / "r.npz", obj)
    back = store.load_tree(tmp_path / "r.npz")
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], obj["a"])
    assert isinstance(back["t"], torch.Tensor) and torch.equal(back["t"], obj["t"])
    assert np.isnan(back["nan"]) and back["inf"] == -math_inf()
    assert back["tup"] == (1, "x") and back["keys"] == {1: "one", (2, 3): "pair"}
    assert back["scalar"] == 4 and isinstance(back["scalar"], np.int64)
    assert back["c"] == 1 + 2j and back["nested"] == obj["nested"]
    assert {k: back[k] for k in "snbif"} == {k: obj[k] for k in "snbif"}


def math_inf():
    return float("inf")


def test_tree_refuses_what_is_not_data(tmp_path):
    with pytest.raises(TypeError, match="cannot be stored as data"):
        store.save_tree(tmp_path / "r.npz", {"f": lambda: 1})
    with pytest.raises(TypeError, match="dtype object"):
        store.save_tree(tmp_path / "r.npz", {"o": np.array([object()])})
    assert not (tmp_path / "r.npz").exists()


@pytest.mark.parametrize("content", ["pickle", "object-npz", "empty", "truncated", "garbage",
                                     "plain-npz"])
def test_tree_load_never_runs_code_and_names_the_file(tmp_path, content):
    """S.34/S.35, S.30–S.33 at the store level: a pickle payload, an .npz holding an object
    array (a pickle inside), and damaged files are all refused by name; nothing runs."""
    marker = tmp_path / "MARKER"
    p = tmp_path / "result.npz"
    if content == "pickle":
        p.write_bytes(pickle.dumps({"y": Evil(marker)}))
    elif content == "object-npz":
        np.savez(p, __tree__=np.array([Evil(marker)], dtype=object))
    elif content == "empty":
        p.write_bytes(b"")
    elif content == "truncated":
        store.save_tree(p, {"y": np.arange(1000)})
        p.write_bytes(p.read_bytes()[:300])
    elif content == "garbage":
        p.write_bytes(os.urandom(4096))
    else:
        np.savez(p, y=np.arange(3))
    with pytest.raises(store.StoreCorrupt, match=r"result\.npz cannot be used") as e:
        store.load_tree(p)
    assert "Delete" in str(e.value)
    assert not marker.exists()


def test_tree_fingerprint_is_checked(tmp_path):
    p = tmp_path / "r.npz"
    store.save_tree(p, [1], fingerprint={"point": {"x": 1}, "function": "m.f"})
    assert store.load_tree(p, fingerprint={"point": {"x": 1}, "function": "m.f"}) == [1]
    with pytest.raises(store.StoreMismatch, match=r"point\.x: saved 1, now 2"):
        store.load_tree(p, fingerprint={"point": {"x": 2}, "function": "m.f"})


def test_torch_load_refuses_code(tmp_path):
    marker = tmp_path / "MARKER"
    torch.save({"model": Evil(marker)}, tmp_path / "ck.pt")
    with pytest.raises(store.StoreCorrupt, match="refused for safety"):
        store.load_torch(tmp_path / "ck.pt")
    assert not marker.exists()


# ------------------------------------------------------------------------ sweeps
def square(*, x, workdir, scale=1):
    return {"x": x, "y": scale * x * x, "arr": np.full(2, x)}


def other_module_square(*, x, workdir):  # renamed below to look like another module's
    return {"x": x, "y": -1}


other_module_square.__name__ = "square"
other_module_square.__module__ = "somewhere.else"
other_module_square.__qualname__ = "square"


def test_tampered_sweep_result_runs_no_code(tmp_path):
    """S.34 (sweep) and S.35 (load): a result replaced by a pickle payload."""
    marker = tmp_path / "MARKER"
    SW.sweep(square, [{"x": 1}], tmp_path / "r", executor="serial")
    res = tmp_path / "r" / SW.point_key(square, {"x": 1}) / SW.RESULT
    res.write_bytes(pickle.dumps({"x": 1, "y": Evil(marker)}))
    with pytest.raises(SW.SweepError, match=r"result\.npz cannot be used.*Delete"):
        SW.sweep(square, [{"x": 1}], tmp_path / "r", executor="serial")
    with pytest.raises(store.StoreCorrupt):
        SW.load(tmp_path / "r", square, {"x": 1})
    assert not marker.exists()


def test_partials_and_same_named_functions_never_share_results(tmp_path):
    """S.21: two partials of one function; S.22: a function of the same name elsewhere."""
    f2, f3 = functools.partial(square, scale=2), functools.partial(square, scale=3)
    assert SW.sweep(f2, [{"x": 5}], tmp_path, executor="serial")[0]["y"] == 50
    assert SW.sweep(f3, [{"x": 5}], tmp_path, executor="serial")[0]["y"] == 75
    assert SW.sweep(other_module_square, [{"x": 5}], tmp_path, executor="serial")[0]["y"] == -1
    assert SW.sweep(square, [{"x": 5}], tmp_path, executor="serial")[0]["y"] == 25
    assert len({SW.point_key(f, {"x": 5}) for f in (f2, f3, other_module_square, square)}) == 4


def test_a_crafted_function_name_stays_inside_the_results_folder(tmp_path):
    """S.23: ``fn.__name__ = "../../escaped"``."""
    def f(*, x, workdir):
        return x

    f.__name__ = "../../escaped"
    f.__qualname__ = "../../escaped"
    key = SW.point_key(f, {"x": 1})
    assert "/" not in key and ".." not in key.split("-")[0]
    SW.sweep(f, [{"x": 1}], tmp_path / "r", executor="serial")
    assert [p.parent.parent for p in tmp_path.rglob(SW.RESULT)] == [tmp_path / "r"]


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04trunc", b"\x80\x04garbage"])
def test_a_damaged_result_fails_its_point_only(tmp_path, damage):
    """S.30–S.33: an empty, truncated or garbage result names the file and the fix; the
    other points' results are still returned (and the sweep with raise_errors=False)."""
    pts = [{"x": 1}, {"x": 2}, {"x": 3}]
    SW.sweep(square, pts, tmp_path, executor="serial")
    bad = tmp_path / SW.point_key(square, pts[1]) / SW.RESULT
    bad.write_bytes(damage)
    with pytest.raises(SW.SweepError, match=str(bad).replace(".", r"\.")) as e:
        SW.sweep(square, pts, tmp_path, executor="serial")
    assert [r and r["y"] for r in e.value.results] == [1, None, 9]
    assert "Delete" in str(e.value)
    out = SW.sweep(square, pts, tmp_path, executor="serial", raise_errors=False)
    assert out[1] is None and out[2]["y"] == 9
    bad.unlink()                                             # the fix the message gives
    assert SW.sweep(square, pts, tmp_path, executor="serial")[1]["y"] == 4


def test_a_result_of_another_point_is_refused(tmp_path):
    """A result copied into another point's folder does not pass as that point's."""
    SW.sweep(square, [{"x": 1}, {"x": 2}], tmp_path, executor="serial")
    a = tmp_path / SW.point_key(square, {"x": 1}) / SW.RESULT
    b = tmp_path / SW.point_key(square, {"x": 2}) / SW.RESULT
    b.write_bytes(a.read_bytes())
    with pytest.raises(store.StoreMismatch, match=r"point\.x: saved 1, now 2"):
        SW.load(tmp_path, square, {"x": 2})


# ------------------------------------------------------------------------ runner fingerprints
def test_explicit_checkpoint_path_checks_the_runners_arguments(tmp_path):
    """P.23 (M5): ``train_twolayer(..., lr=0.01, checkpoint=ck)`` then ``lr=0.5`` with the
    same file resumed the first run; now the second call is refused."""
    from freqlearn.nets import pinson as P

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((12, 1, 8, 8)), np.eye(2)[np.arange(12) % 2]

    def call(lr):
        g = torch.Generator().manual_seed(4)
        net = P.LinearCNN.random(2, 1, 8, 2, 1e-3, g)
        rec = P.train_twolayer(net, X, Y, lr=lr, budget=20, generator=g,
                               steps=train.lin_steps(20, 3), checkpoint=tmp_path / "c.pt")
        return rec.history

    first = call(0.01)
    again = call(0.01)                                       # the same call resumes
    assert all(np.array_equal(first[k], again[k]) for k in first)
    with pytest.raises(train.CheckpointMismatch, match=r"runners.*train_twolayer"):
        call(0.5)


def test_resolve_checkpoint_fingerprints_an_explicit_path(tmp_path):
    ck = tmp_path / "run.pt"
    W = torch.zeros(2)

    def runner(lr, budget=3):
        path = train.resolve_checkpoint(ck, "demo", key=dict(lr=lr, budget=budget))
        train.run(lambda t: W.add_(lr), budget, state={"W": W}, checkpoint=path,
                  progress=False)

    runner(0.1)
    runner(0.1)                                              # the same call resumes
    with pytest.raises(train.CheckpointMismatch, match=r"runners.*test_store\.demo"):
        runner(0.2)


# ------------------------------------------------------------------------ two writers, kills
def _writer(path, n, tag):
    for i in range(n):
        store.write_json(path, {"tag": tag, "i": i, "pad": [tag] * (50 if tag == "a" else 3000)})


def _reader(path, n, q):
    bad = 0
    for _ in range(n):
        try:
            json.loads(Path(path).read_text())
        except (ValueError, FileNotFoundError):
            bad += 1
    q.put(bad)


def test_two_writers_and_a_reader_on_one_file(tmp_path):
    """M8/D.1 at the store level: two processes replace one file 300 times each while a
    third reads it: no write fails and every read parses."""
    ctx = mp.get_context("spawn")
    p = tmp_path / "nb.json"
    store.write_json(p, {})
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(p, 300, t)) for t in "ab"]
    procs.append(ctx.Process(target=_reader, args=(p, 3000, q)))
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(120)
    assert [pr.exitcode for pr in procs] == [0, 0, 0]
    assert q.get(timeout=10) == 0
    assert [x.name for x in tmp_path.iterdir()] == ["nb.json"]


def _train_same_checkpoint(path, seed):
    W = torch.zeros(50)
    train.run(lambda t: W.add_(seed), 200, state={"W": W}, checkpoint=path,
              checkpoint_every=1, progress=False, name="same")


def test_two_runs_on_one_checkpoint_path(tmp_path):
    """D.8: two runs checkpointing to one path never crash on each other's temp file, and
    the file left is a whole checkpoint."""
    ctx = mp.get_context("spawn")
    p = tmp_path / "same.pt"
    procs = [ctx.Process(target=_train_same_checkpoint, args=(p, 1.0)) for _ in range(2)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(120)
    codes = [pr.exitcode for pr in procs]
    # one may resume the other's file mid-way (same fingerprint): both finish
    assert codes == [0, 0], codes
    assert train.read_checkpoint(p)["t"] == 200


def _kill_mid_write(kind, path):
    """Write the file, then start writing it again and die (SIGKILL) half-way."""
    real_replace = os.replace

    def die_instead(src, dst):
        # the new bytes are written and fsynced; kill before the rename
        os.kill(os.getpid(), signal.SIGKILL)

    if kind == "checkpoint":
        W = torch.zeros(3)
        train.run(lambda t: W.add_(1.0), 4, state={"W": W}, checkpoint=path, progress=False,
                  name="k")
        os.replace = die_instead
        W2 = torch.zeros(3)
        train.run(lambda t: W2.add_(1.0), 8, state={"W": W2}, checkpoint=str(path) + "2",
                  progress=False, name="k")
    elif kind == "sweep":
        SW.sweep(square, [{"x": 1}], path, executor="serial")
        os.replace = die_instead
        SW.sweep(square, [{"x": 2}], path, executor="serial")
    elif kind == "json-half":
        store.write_json(path, {"v": list(range(1000))})

        def half(f):
            f.write(b'{"v": [1, 2, 3')
            f.flush()
            os.fsync(f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

        store.atomic_write(path, half)
    os.replace = real_replace


@pytest.mark.parametrize("kind", ["checkpoint", "sweep", "json-half"])
def test_a_kill_during_a_write_leaves_the_old_file(tmp_path, kind):
    """D.5–D.7 (kill -9 during a save): what was there stays whole and readable."""
    ctx = mp.get_context("spawn")
    target = tmp_path / ("ck.pt" if kind == "checkpoint" else
                         "res" if kind == "sweep" else "quick.json")
    pr = ctx.Process(target=_kill_mid_write, args=(kind, target))
    pr.start()
    pr.join(120)
    assert pr.exitcode == -signal.SIGKILL
    if kind == "checkpoint":
        assert train.read_checkpoint(target)["t"] == 4
        assert not Path(str(target) + "2").exists()
    elif kind == "sweep":
        assert SW.load(target, square, {"x": 1})["y"] == 1
        with pytest.raises(KeyError):
            SW.load(target, square, {"x": 2})
        assert SW.sweep(square, [{"x": 2}], target, executor="serial")[0]["y"] == 4
    else:
        assert store.read_json(target) == {"v": list(range(1000))}


# ------------------------------------------------------------------------ the source scan
#: the exceptions to the scan, each with its reason: "<file>:<function or class>"
ALLOWED = {
    "data/cifar.py:write_archive": "writes the tiny CIFAR-format archives the tests build "
                                   "(a tar of pickles is that format); nothing reads it "
                                   "back but load_cifar, which checks the MD5 first",
    "data/cifar.py:_RestrictedUnpickler": "CIFAR's own format is pickles: the MD5 is verified "
                                          "before anything is unpickled, and find_class "
                                          "admits only the NumPy types the format uses",
}

WRITE_METHODS = {"write_text", "write_bytes", "savefig", "tofile"}
SAVE_FUNCS = {("torch", "save"), ("np", "save"), ("np", "savez"), ("np", "savez_compressed"),
              ("np", "savetxt"), ("numpy", "save"), ("numpy", "savez"), ("json", "dump"),
              ("pickle", "dump"), ("os", "replace"), ("os", "rename")}
PICKLE_LOADS = {("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"),
                ("dill", "load"), ("dill", "loads"), ("joblib", "load"),
                ("cloudpickle", "load"), ("cloudpickle", "loads"), ("marshal", "loads"),
                ("shelve", "open")}


def _dotted(f) -> tuple[str, str] | None:
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        return f.value.id, f.attr
    return None


def _kw(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _const(v):
    return v.value if isinstance(v, ast.Constant) else object()


def _mode(call, pos):
    m = call.args[pos] if len(call.args) > pos else _kw(call, "mode")
    return m.value if isinstance(m, ast.Constant) and isinstance(m.value, str) else "r"


def scan(path: Path, root: Path) -> list[str]:
    """Every unsafe load and every write that bypasses freqlearn.store in ``path``, as
    ``"<file>:<enclosing def>:<line>: <what>"``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(root).as_posix()
    found = []

    def visit(node, owner):
        for child in ast.iter_child_nodes(node):
            name = owner
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = child.name if owner == "<module>" else owner
                if isinstance(child, ast.ClassDef) and any(
                        _dotted(b) == ("pickle", "Unpickler") for b in child.bases):
                    found.append((f"{rel}:{child.name}", child.lineno,
                                  "subclasses pickle.Unpickler"))
            if isinstance(child, ast.Call):
                what = check(child)
                if what:
                    found.append((f"{rel}:{name}", child.lineno, what))
            visit(child, name)

    def check(call) -> str | None:
        d = _dotted(call.func)
        fname = call.func.id if isinstance(call.func, ast.Name) else None
        if d in PICKLE_LOADS:
            return f"{'.'.join(d)} (can run code)"
        if d == ("torch", "load") and _const(_kw(call, "weights_only")) is not True:
            return "torch.load without weights_only=True (can run code)"
        if d in (("np", "load"), ("numpy", "load")):
            ap = _kw(call, "allow_pickle")
            if ap is not None and _const(ap) is not False:
                return "np.load with allow_pickle (can run code)"
        if d in SAVE_FUNCS:
            return f"{'.'.join(d)} outside freqlearn.store (not atomic)"
        if fname == "open" and any(c in _mode(call, 1) for c in "wax+"):
            return f"open(..., {_mode(call, 1)!r}) outside freqlearn.store (not atomic)"
        if d in (("tarfile", "open"), ("zipfile", "ZipFile")) and any(
                c in _mode(call, 1) for c in "wax"):
            return f"{'.'.join(d)}(..., {_mode(call, 1)!r}) writes in place"
        if isinstance(call.func, ast.Attribute) and call.func.attr in WRITE_METHODS \
                and d != ("store", call.func.attr):
            return f".{call.func.attr}() outside freqlearn.store (not atomic)"
        return None

    visit(tree, "<module>")
    return [f"{where}:{line}: {what}" for where, line, what in found]


def _sources():
    files = [p for p in sorted(PKG.rglob("*.py")) if p.name != "store.py"]
    return [(p, PKG) for p in files] + [(p, EXT) for p in sorted(EXT.rglob("*.py"))]


def test_no_unsafe_load_and_no_write_outside_the_store():
    bad = []
    used = set()
    for path, root in _sources():
        for hit in scan(path, root):
            where = ":".join(hit.split(":")[:2])
            if where in ALLOWED:
                used.add(where)
            else:
                bad.append(hit)
    assert not bad, ("unsafe loads or writes outside freqlearn.store (route them through "
                     "freqlearn.store, or list the exception with its reason in ALLOWED):\n  "
                     + "\n  ".join(bad))
    assert used == set(ALLOWED), f"stale exceptions: {sorted(set(ALLOWED) - used)}"


def test_the_scan_sees_every_unsafe_pattern(tmp_path):
    """The scan can fail: each forbidden pattern in a planted file is reported."""
    src = tmp_path / "planted.py"
    src.write_text(
        "import pickle, torch, json, os\nimport numpy as np\n"
        "def f(p):\n"
        "    pickle.load(open(p, 'rb'))\n"
        "    pickle.loads(b'')\n"
        "    torch.load(p)\n"
        "    torch.load(p, weights_only=False)\n"
        "    np.load(p, allow_pickle=True)\n"
        "    open(p, 'w').write('x')\n"
        "    p.write_text('x')\n"
        "    torch.save({}, p)\n"
        "    json.dump({}, open(p, 'a'))\n"
        "    os.replace(p, p)\n"
        "    store.write_text(p, 'x')\n"                          # fine: the store
        "    torch.load(p, weights_only=True)\n"                   # fine
        "    np.load(p)\n"                                        # fine (no pickles)
        "    open(p).read()\n"                                    # fine
        "class U(pickle.Unpickler):\n    pass\n")
    hits = scan(src, tmp_path)
    lines = sorted({int(h.split(":")[2]) for h in hits})
    assert lines == [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 18], hits


def test_the_package_imports_store_without_the_training_loop():
    """store is the bottom layer: it imports nothing of freqlearn."""
    tree = ast.parse((PKG / "store.py").read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m.startswith("freqlearn") for m in mods) and not any(
        isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))
    assert "freqlearn.store" in sys.modules


def test_points_with_numpy_values_are_keyed_and_saved(tmp_path):
    """A point holding NumPy scalars (a grid from np.logspace) is written as JSON too."""
    pts = [{"x": np.int64(2)}, {"x": np.float64(3.0)}]
    out = SW.sweep(square, pts, tmp_path, executor="serial")
    assert [o["y"] for o in out] == [4, 9.0]
    saved = store.read_json(tmp_path / SW.point_key(square, pts[1]) / "point.json")
    assert saved["point"] == {"x": 3.0} and saved["function"]["function"].endswith(".square")
    assert SW.sweep(square, pts, tmp_path, executor="serial")[0]["y"] == 4   # found again


def test_write_figure_is_atomic_and_takes_the_format_of_its_suffix(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    svg, png = tmp_path / "f.svg", tmp_path / "sub" / "f.png"
    store.write_figure(svg, fig)
    store.write_figure(png, fig, dpi=50)
    plt.close(fig)
    assert svg.read_text().lstrip().startswith("<?xml")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["f.png", "f.svg", "sub"]
