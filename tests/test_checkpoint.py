"""Checkpoints of ``freqlearn.train``: safe loading, fingerprints, corrupt files, auto paths.

One test per BAD row of section 3 of ``../shared/notes/probe-reliability.md`` (row ids in
the docstrings), plus the notebook-level interrupt-and-resume of issue 14, item 3.
"""

from __future__ import annotations

import json
import pickle
import random
import types

import numpy as np
import pytest
import torch

from freqlearn import train

FMT = train.FORMAT


# ----------------------------------------------------------------------------- helpers
class Exp:
    """A noisy update drawing from a torch generator, the global torch RNG and NumPy."""

    def __init__(self, seed=123, shape=(4, 3), dtype=torch.float64, metrics=("W", "norm"),
                 recorder=True):
        self.g = torch.Generator().manual_seed(seed)
        self.W = torch.zeros(shape, dtype=dtype)
        self.calls = []
        fns = {"W": lambda: self.W, "norm": lambda: self.W.abs().sum(), "loss": lambda: 0.0}
        self.rec = (train.Recorder({m: fns[m] for m in metrics}, steps=train.lin_steps(100, 11))
                    if recorder else None)

    def step(self, t):
        self.calls.append(t)
        noise = torch.randn(self.W.shape, generator=self.g, dtype=torch.float64)
        self.W.mul_(0.97).add_((noise + 0.1 * torch.rand(1, dtype=torch.float64).item()
                                + 0.01 * np.random.standard_normal()).to(self.W.dtype))

    def run(self, budget, ckpt, gens=True, **kw):
        return train.run(self.step, budget, recorder=self.rec, state={"W": self.W},
                         generators=[self.g] if gens else [], checkpoint=ckpt, progress=False,
                         **kw)


def saved(path, budget=100, **kw):
    """A checkpoint of an :class:`Exp` run for ``budget`` updates."""
    torch.manual_seed(0)
    np.random.seed(0)
    Exp(**{k: v for k, v in kw.items() if k != "gens"}).run(budget, path,
                                                              gens=kw.get("gens", True))
    return path


def snapshot(e: Exp):
    """Everything a failed load must leave alone."""
    return (e.W.clone(), e.g.get_state().clone(), torch.get_rng_state().clone(),
            np.random.get_state()[1].copy(), random.getstate(),
            None if e.rec is None else (list(e.rec.recorded), dict(e.rec._values)))


def assert_untouched(e: Exp, before):
    after = snapshot(e)
    assert torch.equal(after[0], before[0]), "state W was modified"
    assert torch.equal(after[1], before[1]), "the generator was modified"
    assert torch.equal(after[2], before[2]), "the global torch RNG was modified"
    np.testing.assert_array_equal(after[3], before[3])
    assert after[4] == before[4], "Python's random state was modified"
    assert after[5] == before[5], "the recorder was modified"
    assert e.calls == []


def refused(path, exc, match, **kw):
    """Resume ``path`` in a fresh :class:`Exp`; assert ``exc`` and that nothing changed."""
    torch.manual_seed(7)
    np.random.seed(7)
    e = Exp(**{k: v for k, v in kw.items() if k not in ("budget", "gens")})
    e.W.fill_(0.25)
    before = snapshot(e)
    with pytest.raises(exc, match=match) as info:
        e.run(kw.get("budget", 100), path, gens=kw.get("gens", True))
    assert str(path) in str(info.value)
    assert_untouched(e, before)
    return str(info.value)


def edit(path, fn):
    """Rewrite a checkpoint's blob with ``fn`` (a hand-crafted file that keeps the format)."""
    blob = torch.load(path, weights_only=True)
    fn(blob)
    torch.save(blob, path)
    return path


# ------------------------------------------------------------- 1. no code execution
class _Payload:
    """Unpickling this calls ``open(marker, "w")``: it creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_payload_is_live(tmp_path):
    """Control: the payload really creates its marker when unpickled unsafely."""
    marker = tmp_path / "PWNED"
    pickle.loads(pickle.dumps(_Payload(marker))).close()
    assert marker.exists()


def test_crafted_torch_checkpoint_cannot_run_code(tmp_path):
    """probe 3.26 (3.11): a torch.save file whose pickle would create a marker file."""
    marker = tmp_path / "PWNED_BY_CHECKPOINT"
    ck = tmp_path / "evil.pt"
    good = saved(tmp_path / "good.pt")
    blob = torch.load(good, weights_only=True)
    blob["x"] = _Payload(marker)
    torch.save(blob, ck)
    msg = refused(ck, train.CheckpointCorrupt, "Delete .* to start over")
    assert "refused for safety" in msg
    assert not marker.exists()
    with pytest.raises(train.CheckpointCorrupt):
        train.read_checkpoint(ck)
    assert not marker.exists()
    torch.load(ck, weights_only=False)["x"].close()  # control: the file was live
    assert marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_crafted_plain_pickle_cannot_run_code(tmp_path):
    """probe 3.27 (3.11b): a legacy plain pickle ran its payload before any error."""
    marker = tmp_path / "PWNED_BY_PICKLE"
    ck = tmp_path / "evil.pt"
    ck.write_bytes(pickle.dumps({"t": 0, "x": _Payload(marker)}))
    refused(ck, train.CheckpointCorrupt, "not a readable checkpoint")
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_crafted_checkpoint_through_the_automatic_path(tmp_path, monkeypatch):
    """probe 3.26 via the notebook resume path: the file a runner would resume from."""
    from freqlearn.nets import committee as cm

    monkeypatch.setenv("FREQLEARN_CHECKPOINTS", str(tmp_path / "ck"))
    monkeypatch.delenv("FREQLEARN_CHECKPOINT", raising=False)
    monkeypatch.setattr(train, "_context", None)
    train.set_context("test/evil", "paper", 1)
    marker = tmp_path / "PWNED_AUTO"
    X = torch.randn(20, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    Y = torch.sign(X[:, 0])
    args = dict(D=8, ks=3, X=X, Y=Y, steps=10, lr=0.1, batch=4, channels=1, read_lr=0.1,
                generator=torch.Generator().manual_seed(1), desc="CNN")
    path = train.resolve_checkpoint(None, "train_cnn", key=args)
    assert path.parent == tmp_path / "ck" / "paper-seed1" / "test" / "evil"
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps(_Payload(marker)))
    for k in ("D", "ks", "X", "Y", "steps"):
        args.pop(k)
    with pytest.raises(train.CheckpointCorrupt, match="evil"):
        cm.train_cnn(8, 3, X, Y, 10, **args)
    assert not marker.exists()


def test_checkpoint_holds_only_plain_data(tmp_path):
    """probe 3.38 (3.12): a good checkpoint loads with weights_only=True."""
    blob = torch.load(saved(tmp_path / "c.pt"), weights_only=True)
    assert blob["format"] == FMT and blob["format_version"] == train.FORMAT_VERSION
    assert blob["t"] == 100
    fp = blob["fingerprint"]
    assert fp["budget"] == 100 and fp["state"] == {"W": "tensor float64 [4, 3] cpu"}
    assert fp["metrics"] == ["W", "norm"] and fp["record_steps"] == list(range(0, 101, 10))
    assert fp["generators"] == ["cpu"] and fp["name"] == "training"
    assert isinstance(fp["version"], str)


# ------------------------------------------------------------- 2. corrupt files
@pytest.mark.parametrize("kind", ["half", "minus10", "garbage", "empty", "text", "tensor",
                                  "dict", "old"])
def test_corrupt_files_name_the_file_and_the_fix(tmp_path, kind):
    """probe 3.3 (3.4), 3.4 (3.4b), 3.5 (3.5), 3.6 (3.5b), 3.7 (3.5c), 3.8 (3.5d), 3.9
    (3.5e) and an old-format (weights_only=False) file: CheckpointCorrupt naming the file."""
    ck = saved(tmp_path / "c.pt")
    raw = ck.read_bytes()
    if kind == "half":
        ck.write_bytes(raw[: len(raw) // 2])
    elif kind == "minus10":
        ck.write_bytes(raw[:-10])
    elif kind == "garbage":
        ck.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "empty":
        ck.write_bytes(b"")
    elif kind == "text":
        ck.write_text("these are notes, not a checkpoint\n" * 20)
    elif kind == "tensor":
        torch.save(torch.arange(5.0), ck)
    elif kind == "dict":
        edit(ck, lambda b: b.pop("state"))
    else:  # the format before this one: NumPy RNG arrays, needs weights_only=False
        torch.save({"t": 0, "rng": {"numpy": np.random.get_state()}, "state": {}}, ck)
    msg = refused(ck, train.CheckpointCorrupt, "Delete .* to start over")
    assert isinstance(train.CheckpointCorrupt("x"), ValueError)
    assert "Errno" not in msg


def test_directory_as_checkpoint(tmp_path):
    """probe 3.24 (3.10d): a directory is refused up front, naming it."""
    with pytest.raises(ValueError, match="is a directory"):
        train.run(lambda t: None, 3, checkpoint=tmp_path, progress=False)


# ------------------------------------------------------------- 2. fingerprint mismatches
@pytest.mark.parametrize("shape,row", [((3,), "3.11 (3.6b), 3.30"), ((), "3.12 (3.6c), 3.31"),
                                       ((5, 7), "3.10 (3.6)")])
def test_other_shape_is_refused_not_broadcast(tmp_path, shape, row):
    """probe 3.11, 3.12, 3.30, 3.31 (and WEAK 3.10): a checkpoint of another shape was
    broadcast into every trial."""
    ck = saved(tmp_path / "c.pt", shape=shape)
    msg = refused(ck, train.CheckpointMismatch, r"state\['W'\]")
    assert f"saved tensor float64 {list(shape)} cpu, now tensor float64 [4, 3] cpu" in msg
    assert f"delete {ck} to start over, or use another checkpoint path" in msg


@pytest.mark.parametrize("dtype", [torch.float16, torch.int64, torch.complex128])
def test_other_dtype_is_refused_not_cast(tmp_path, dtype):
    """probe 3.13 (3.6d), 3.32, 3.33, 3.34: float16/int64/complex cast silently."""
    ck = tmp_path / "c.pt"
    e = Exp(dtype=dtype)
    train.run(lambda t: None, 100, recorder=e.rec, state={"W": e.W}, generators=[e.g],
              checkpoint=ck, progress=False)
    msg = refused(ck, train.CheckpointMismatch, "float64")
    assert str(dtype).removeprefix("torch.") in msg


@pytest.mark.parametrize("dtype", [torch.float16, torch.complex128])
def test_payload_that_lies_about_its_fingerprint(tmp_path, dtype):
    """probe 3.32/3.34 by hand: the fingerprint says float64 but the tensor is not."""
    ck = edit(saved(tmp_path / "c.pt"),
              lambda b: b["state"].__setitem__("W", b["state"]["W"].to(dtype)))
    refused(ck, train.CheckpointCorrupt, "state 'W' is")


def test_meta_tensor_in_payload(tmp_path):
    """probe 3.36 (3.6x meta): a meta tensor in the file is refused with a clear error."""
    ck = edit(saved(tmp_path / "c.pt"),
              lambda b: b["state"].__setitem__("W", torch.empty(4, 3, dtype=torch.float64,
                                                                 device="meta")))
    refused(ck, train.CheckpointCorrupt, "Delete")


def test_generator_count_mismatch_leaves_everything_untouched(tmp_path):
    """probe 3.15 (3.6f): 0 generators saved, 1 passed; W and the RNGs were overwritten."""
    ck = saved(tmp_path / "c.pt", gens=False)
    msg = refused(ck, train.CheckpointMismatch, "generators")
    assert "saved [], now ['cpu']" in msg


def test_recorder_metrics_mismatch_leaves_everything_untouched(tmp_path):
    """probe 3.16 (3.6g): the checkpoint recorded 'loss', this run 'W', 'norm'."""
    ck = saved(tmp_path / "c.pt", metrics=("loss",))
    msg = refused(ck, train.CheckpointMismatch, "metrics")
    assert "saved ['loss'], now ['W', 'norm']" in msg


def test_garbage_generator_state_leaves_everything_untouched(tmp_path):
    """probe 3.17 (3.6h): a 3-byte generator state; torch's error came after W was replaced."""
    ck = edit(saved(tmp_path / "c.pt"),
              lambda b: b["generators"].__setitem__(0, torch.zeros(3, dtype=torch.uint8)))
    refused(ck, train.CheckpointCorrupt, "generator states")


def test_garbage_rng_and_recorder_payloads(tmp_path):
    """probe 3.17 variants: malformed NumPy RNG state and recorder values are refused."""
    ck = edit(saved(tmp_path / "a.pt"), lambda b: b["rng"]["numpy"].__setitem__("pos", 999))
    refused(ck, train.CheckpointCorrupt, "NumPy RNG")
    ck = edit(saved(tmp_path / "b.pt"),
              lambda b: b["recorder"]["values"]["W"].pop())
    refused(ck, train.CheckpointCorrupt, "metric 'W'")


def test_smaller_budget_is_refused(tmp_path):
    """probe 3.18 (3.7): budget 50 on a checkpoint saved at t = 100 returned 100 updates."""
    ck = saved(tmp_path / "c.pt", budget=100)
    msg = refused(ck, train.CheckpointMismatch, "budget: saved 100, now 50", budget=50)
    assert "delete" in msg


def test_other_budget_is_another_run(tmp_path):
    """A budget extended from 50 to 100 is another run too (its checkpoints, its schedule)."""
    ck = saved(tmp_path / "c.pt", budget=50)
    refused(ck, train.CheckpointMismatch, "budget: saved 50, now 100", budget=100)


def test_other_experiment_is_refused(tmp_path):
    """probe 3.19 (3.8): another generator seed, same shapes, was resumed silently."""
    ck = saved(tmp_path / "c.pt", seed=124)
    refused(ck, train.CheckpointMismatch, "generators_start")


def test_other_name_preset_seed_or_args_is_refused(tmp_path, monkeypatch):
    """probe 3.19 (3.8), realistic: the same path reused across experiments and presets."""
    ck = saved(tmp_path / "c.pt")
    refused_msg = None
    e = Exp()
    with pytest.raises(train.CheckpointMismatch, match="name: saved training, now other"):
        e.run(100, ck, name="other")
    with pytest.raises(train.CheckpointMismatch, match=r"args\['lr'\]: saved \(absent\)"):
        e.run(100, ck, fingerprint={"lr": 0.1})
    monkeypatch.setattr(train, "_context", None)
    train.set_context("nb/x", "paper", 5)
    with pytest.raises(train.CheckpointMismatch, match="preset: saved None, now paper") as i:
        e.run(100, ck)
    refused_msg = str(i.value)
    assert "seed: saved None, now 5" in refused_msg
    assert e.calls == []


def test_recorder_absent_then_present(tmp_path):
    """probe 3.20 (3.9): saved without a recorder, re-run with one: history lacked 0–50."""
    ck = saved(tmp_path / "c.pt", recorder=False)
    refused(ck, train.CheckpointMismatch, "metrics: saved None")


def test_version_is_part_of_the_fingerprint(tmp_path):
    """A checkpoint of another freqlearn version is refused, saying so."""
    ck = edit(saved(tmp_path / "c.pt"),
              lambda b: b["fingerprint"].__setitem__("version", "0.0.1"))
    refused(ck, train.CheckpointMismatch, "version: saved 0.0.1")


# ------------------------------------------------------------- resume stays exact
def test_resume_after_exception_is_exact_and_finished_run_does_nothing(tmp_path):
    """probe 3.1 / 3.28 (GOOD, kept): bit-identical resume with the new format."""
    torch.manual_seed(0)
    np.random.seed(0)
    ref = Exp()
    ref.run(100, None)
    ck = tmp_path / "c.pt"
    torch.manual_seed(0)
    np.random.seed(0)
    first = Exp()
    first.step = lambda t, f=first.step: (_ for _ in ()).throw(KeyboardInterrupt) \
        if t == 45 else f(t)
    with pytest.raises(KeyboardInterrupt):
        first.run(100, ck)
    torch.manual_seed(99)
    np.random.seed(99)
    again = Exp()
    again.run(100, ck)
    assert again.calls == list(range(40, 100))
    assert torch.equal(again.W, ref.W)
    for k in ref.rec.history:
        np.testing.assert_array_equal(again.rec.history[k], ref.rec.history[k])
    done = Exp()
    done.run(100, ck)
    assert done.calls == [] and torch.equal(done.W, ref.W)


def test_a_resumed_run_is_recorded_with_its_claims(tmp_path, monkeypatch):
    """A record's wall time means nothing for a run restored from disk: the restores are
    listed in the notebook's .run.json (and so in a paper record's provenance)."""
    from freqlearn import claims, presets

    monkeypatch.setattr(presets, "_REUSED", [])
    ck = tmp_path / "c.pt"
    first = Exp()
    first.step = lambda t, f=first.step: (_ for _ in ()).throw(KeyboardInterrupt) \
        if t == 45 else f(t)
    with pytest.raises(KeyboardInterrupt):
        first.run(100, ck)
    assert presets.reused() == []  # a fresh start restores nothing
    Exp().run(100, ck)
    assert presets.reused() == [f"checkpoint {ck} (update 40 of 100)"]
    monkeypatch.setenv("FREQLEARN_CLAIMS_DIR", str(tmp_path / "claims"))
    c = claims.Claims("toolkit/x", preset="quick", seed=1)
    c.at_most("X1", "a check", measured=0.0, expected=1.0)
    c.write()
    run = json.loads((tmp_path / "claims" / "toolkit" / "x.run.json").read_text())
    assert run["reused"] == presets.reused()
    assert claims.load_meta(tmp_path / "claims")["toolkit/x"]["reused"] == run["reused"]


# ------------------------------------------------------------- 3. automatic paths
@pytest.fixture
def ctx(tmp_path, monkeypatch):
    monkeypatch.setenv("FREQLEARN_CHECKPOINTS", str(tmp_path / "ck"))
    monkeypatch.delenv("FREQLEARN_CHECKPOINT", raising=False)
    monkeypatch.setattr(train, "_context", None)
    return tmp_path / "ck"


def test_checkpoint_path_follows_context_and_env(ctx, monkeypatch, tmp_path):
    """probe 3.37 (3.0): the automatic path; on for paper, off for quick, env overrides."""
    assert train.checkpoint_path("a") is None  # no context
    train.set_context("pinson2023/cosines", "quick", 3)
    assert train.checkpoint_path("a") is None and not train.checkpointing()
    train.set_context("pinson2023/cosines", "paper", 20220601)
    assert train.checkpoint_path("run-1") == ctx / "paper-seed20220601/pinson2023/cosines/run-1.pt"
    monkeypatch.setenv("FREQLEARN_CHECKPOINT", "off")
    assert train.checkpoint_path("a") is None
    monkeypatch.setenv("FREQLEARN_CHECKPOINT", "ALWAYS")
    train.set_context("nb", "quick", 3)
    assert train.checkpoint_path("a") == ctx / "quick-seed3/nb/a.pt"
    train.clear_context()
    monkeypatch.delenv("BOOK_PRESET", raising=False)
    assert train.checkpoint_path("a").parent.name == "_interactive"
    monkeypatch.setenv("FREQLEARN_CHECKPOINT", "sometimes")
    with pytest.raises(ValueError, match="FREQLEARN_CHECKPOINT='sometimes'"):
        train.checkpointing()
    monkeypatch.setenv("FREQLEARN_CHECKPOINT", "always")
    monkeypatch.setenv("FREQLEARN_CHECKPOINTS", "~/somewhere")
    assert "~" not in str(train.checkpoint_root())
    monkeypatch.setenv("FREQLEARN_CHECKPOINTS", "  ")
    monkeypatch.setenv("FREQLEARN_ROOT", str(tmp_path))
    assert train.checkpoint_root() == tmp_path / "_build" / "checkpoints"


@pytest.mark.parametrize("bad", ["../x", "/abs", "a/../b", "", "a b", ".hidden"])
def test_context_and_names_refuse_paths_outside(ctx, bad):
    """Notebook and checkpoint names cannot climb out of the checkpoint folder."""
    with pytest.raises(ValueError, match="notebook"):
        train.set_context(bad, "paper", 1)
    train.set_context("nb", "paper", 1)
    with pytest.raises(ValueError, match="checkpoint name"):
        train.checkpoint_path(bad)
    with pytest.raises(TypeError, match="seed"):
        train.set_context("nb", "paper", 1.5)


def test_resolve_checkpoint(ctx):
    g = torch.Generator().manual_seed(1)
    assert train.resolve_checkpoint(False, "r", key={"a": 1}) is None
    assert train.resolve_checkpoint("x/run.pt", "r", part="cnn").name == "run-cnn.pt"
    assert train.resolve_checkpoint(None, "r", key={"g": g}) is None  # no context: off
    train.set_context("nb", "paper", 1)
    a = train.resolve_checkpoint(None, "r", key={"lr": 0.1, "g": g})
    b = train.resolve_checkpoint(None, "r", key={"lr": 0.2, "g": g})
    torch.rand(1, generator=g)
    c = train.resolve_checkpoint(None, "r", key={"lr": 0.1, "g": g})
    assert len({a, b, c}) == 3 and a.name.startswith("r-") and a.parent == ctx / "paper-seed1/nb"
    assert a == train.resolve_checkpoint(None, "r", key={"lr": 0.1, "g":
                                                          torch.Generator().manual_seed(1)})
    with pytest.raises(TypeError, match="checkpoint must be"):
        train.resolve_checkpoint(True, "r")
    with pytest.raises(TypeError, match="cannot fingerprint"):
        train.digest(object())


class _Interrupt(Exception):
    pass


def interrupted_then_resumed(monkeypatch, fn, kill_at):
    """Run ``fn`` with the first training loop killed at update ``kill_at``, re-run it (a
    fresh notebook run: same seeds) counting the updates done; return (result, counts)."""
    real = train.run
    counts = []

    def wrapped(step, budget, **kw):
        def s(t):
            if kill and t == kill_at:
                kill.clear()
                raise _Interrupt(f"killed at {t}")
            counts.append(t)
            return step(t)
        return real(s, budget, **kw)

    monkeypatch.setattr(train, "run", wrapped)
    kill = [True]
    with pytest.raises(_Interrupt):
        torch.manual_seed(0), np.random.seed(0), random.seed(0)
        fn()
    counts.clear()
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    out = fn()
    monkeypatch.setattr(train, "run", real)
    return out, list(counts)


def assert_equal_tree(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            assert_equal_tree(a[k], b[k])
    elif isinstance(a, (torch.Tensor, np.ndarray)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    elif isinstance(a, (list, tuple)):
        for x, y in zip(a, b, strict=True):
            assert_equal_tree(x, y)
    elif hasattr(a, "state"):
        assert_equal_tree({k: v for k, v in a.state().items()},
                          {k: v for k, v in b.state().items()})
    else:
        assert a == b or (a != a and b != b)


def reference(monkeypatch, fn):
    monkeypatch.setenv("FREQLEARN_CHECKPOINT", "off")
    torch.manual_seed(0), np.random.seed(0), random.seed(0)
    out = fn()
    monkeypatch.delenv("FREQLEARN_CHECKPOINT")
    return out


def test_notebook_level_resume_of_a_pinson_runner(ctx, monkeypatch):
    """Issue 14 item 3: a paper-preset runner killed mid-run resumes from its automatic
    checkpoint when the notebook is re-run, and gives the uninterrupted result exactly."""
    from freqlearn.experiments import pinson as E

    monkeypatch.setenv("BOOK_PRESET", "paper")
    train.set_context("pinson2023/test-resume", "paper", 20220601)

    def fn():
        return E.cosines(T=2, budget=300, lr=0.02, mode="single", n=8,
                         generator=torch.Generator().manual_seed(31), steps=20)

    ref = reference(monkeypatch, fn)
    out, counts = interrupted_then_resumed(monkeypatch, fn, kill_at=137)
    # the CNN resumed from its t=120 checkpoint (every 30 updates); the FCNN ran whole
    assert counts == list(range(120, 300)) + list(range(300))
    assert_equal_tree(out, ref)
    files = sorted(p.name for p in (ctx / "paper-seed20220601/pinson2023/test-resume").iterdir())
    assert len(files) == 2 and files[0].startswith("cosines-") and files[0].endswith("-cnn.pt")
    # another call with other arguments gets its own files, not these
    E.cosines(T=2, budget=300, lr=0.03, mode="single", n=8,
              generator=torch.Generator().manual_seed(31), steps=20)
    assert len(list((ctx / "paper-seed20220601/pinson2023/test-resume").iterdir())) == 4


def test_notebook_level_resume_of_finite_data(ctx, monkeypatch):
    """Issue 14 item 3 for Ingrosso & Goldt: finite_data (epoch order and position are
    checkpointed), killed and resumed, equals the uninterrupted run."""
    from freqlearn.experiments import ingrosso as ex

    train.set_context("ingrosso-goldt2022/test-resume", "paper", 1)

    def fn():
        return ex.finite_data(L=16, xis=(1.0, 2.0), g=2.0, K=2, alpha=2, lr=0.5, batch=5,
                              steps=200, trials=2, n_test=40,
                              generator=torch.Generator().manual_seed(5), n_record=10)

    ref = reference(monkeypatch, fn)
    out, counts = interrupted_then_resumed(monkeypatch, fn, kill_at=77)
    assert counts == list(range(60, 200))
    assert_equal_tree(out, ref)


def test_notebook_level_resume_of_deep_cnn_and_epoch_mode(ctx, monkeypatch):
    """Issue 14 item 3 for the natural-image runs (train_deep with Adam and its epoch
    order; train_twolayer mode="epoch"), the notebook's longest runs."""
    from freqlearn.nets import pinson as P

    train.set_context("pinson2023/test-natural", "paper", 1)
    g0 = torch.Generator().manual_seed(0)
    x = torch.randn(24, 1, 8, 8, generator=g0).numpy()
    ds = types.SimpleNamespace(x=x, y=np.arange(24) % 2, classes=["a", "b"])

    def deep():
        g = torch.Generator().manual_seed(3)
        net = P.DeepCNN(2, 1, 8, 2, channels=2, ksize=3, hidden=4, generator=g)
        rec = P.train_deep(net, ds, ds, batches=40, batch=4, eval_every=10, n_eval=8,
                           generator=g)
        return {"h": rec.history, "p": [w.detach() for w in net.parameters()]}

    ref = reference(monkeypatch, deep)
    out, counts = interrupted_then_resumed(monkeypatch, deep, kill_at=13)
    assert counts == list(range(12, 40))
    assert_equal_tree(out, ref)

    X = x.astype(np.float64)
    Y = np.eye(2)[np.arange(24) % 2]

    def epoch():
        g = torch.Generator().manual_seed(4)
        net = P.LinearCNN.random(2, 1, 8, 2, 1e-3, g)
        rec = P.train_twolayer(net, X, Y, lr=0.01, budget=100, mode="epoch", generator=g,
                               steps=train.lin_steps(100, 6))
        return {"h": rec.history, "net": net.state()}

    ref = reference(monkeypatch, epoch)
    out, counts = interrupted_then_resumed(monkeypatch, epoch, kill_at=35)  # mid-epoch
    assert counts == list(range(30, 100))
    assert_equal_tree(out, ref)


def test_notebook_start_sets_the_context_and_prints_the_folder(ctx, monkeypatch, capsys):
    """notebook.start names the checkpoint context and says where checkpoints go."""
    from freqlearn import notebook

    monkeypatch.setenv("FREQLEARN_ROOT", str(ctx.parent))
    monkeypatch.setenv("BOOK_PRESET", "paper")
    p, _ = notebook.start("pinson2023/cosines")
    assert train.context() == {"notebook": "pinson2023/cosines", "preset": "paper",
                               "seed": p.seed}
    out = capsys.readouterr().out
    assert f"checkpoints: {ctx / f'paper-seed{p.seed}' / 'pinson2023' / 'cosines'}" in out
    monkeypatch.setenv("BOOK_PRESET", "quick")
    notebook.start("pinson2023/cosines")
    assert "checkpoints:" not in capsys.readouterr().out
    assert train.context()["preset"] == "quick"
