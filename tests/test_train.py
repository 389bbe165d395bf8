"""Unit tests of ``freqlearn.train``: the loop, the recorder, checkpoint/resume, progress."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freqlearn import train


# ----------------------------------------------------------------- step schedules
@pytest.mark.parametrize("budget", [1, 2, 7, 100, 8000])
@pytest.mark.parametrize("fn", [train.log_steps, train.lin_steps])
def test_step_schedules_contain_0_and_budget(fn, budget):
    s = fn(budget, 20)
    assert s[0] == 0 and s[-1] == budget
    assert np.all(np.diff(s) > 0)  # sorted, unique
    assert len(s) <= 21
    if budget >= 100:
        assert len(s) >= 15  # about n points


def test_log_steps_are_log_spaced():
    s = train.log_steps(10000, 50)
    r = s[2:] / s[1:-1]
    assert r.max() / r.min() < 3  # roughly constant ratio, not constant difference
    assert np.sum(s <= 100) > 10


@pytest.mark.parametrize("fn", [train.log_steps, train.lin_steps])
def test_step_schedules_reject_bad_args(fn):
    with pytest.raises(ValueError, match="budget"):
        fn(0, 10)
    with pytest.raises(ValueError, match="n ≥ 2"):
        fn(10, 1)


# --------------------------------------------------------------- loop & recorder
def test_run_calls_step_budget_times_in_order():
    calls = []
    assert train.run(calls.append, 13, progress=False) is None
    assert calls == list(range(13))
    calls.clear()
    train.run(calls.append, 0, progress=False)
    assert calls == []


def test_run_rejects_bad_budget_and_state(tmp_path):
    with pytest.raises(ValueError, match="budget must be"):
        train.run(lambda t: None, -1)
    with pytest.raises(TypeError, match="state must be"):
        train.run(lambda t: None, 2, state=[1, 2], checkpoint=tmp_path / "c.pt",
                  progress=False)


def test_recorder_samples_at_chosen_steps():
    x = torch.zeros(3)

    def step(t):
        x.add_(1.0)

    rec = train.Recorder({"x": lambda: x, "sq": lambda: float(x[0]) ** 2},
                         steps=[10, 0, 3, 3, 7, 25])
    out = train.run(step, 10, recorder=rec, progress=False)
    assert out is rec
    np.testing.assert_array_equal(rec.t, [0, 3, 7, 10])  # 25 > budget: never reached
    h = rec.history
    assert h["x"].shape == (4, 3)
    np.testing.assert_array_equal(h["x"][:, 0], [0, 3, 7, 10])
    np.testing.assert_array_equal(h["sq"], [0, 9, 49, 100])
    # values are copies, not views of the live tensor
    x.add_(100.0)
    assert rec.history["x"][0, 0] == 0


def test_recorder_rejects_bad_args():
    with pytest.raises(ValueError, match="metric"):
        train.Recorder({}, [0])
    with pytest.raises(ValueError, match="non-negative"):
        train.Recorder({"a": lambda: 0}, [-1, 2])
    with pytest.raises(ValueError, match="non-negative"):
        train.Recorder({"a": lambda: 0}, [])


def test_batched_normal():
    g = torch.Generator().manual_seed(1)
    w = train.batched_normal(4000, (2, 3), 0.5, generator=g)
    assert w.shape == (4000, 2, 3) and w.dtype == torch.float64
    assert abs(w.std().item() - 0.5) < 0.02
    g2 = torch.Generator().manual_seed(1)
    assert torch.equal(train.batched_normal(4000, (2, 3), 0.5, generator=g2), w)


# -------------------------------------------------------------- checkpoint/resume
class Experiment:
    """A noisy update drawing from a torch generator, the global torch RNG and NumPy."""

    def __init__(self, fail_at=None):
        self.g = torch.Generator().manual_seed(123)
        self.W = torch.zeros(4, 3, dtype=torch.float64)  # 4 trials batched
        self.fail_at = fail_at
        self.rec = train.Recorder({"W": lambda: self.W, "norm": lambda: self.W.norm()},
                                  steps=train.lin_steps(100, 11))

    def step(self, t):
        if t == self.fail_at:
            self.fail_at = None
            raise RuntimeError(f"interrupted at {t}")
        noise = torch.randn(self.W.shape, generator=self.g, dtype=torch.float64)
        self.W.mul_(0.97).add_(noise + 0.1 * torch.rand(1, dtype=torch.float64).item()
                               + 0.01 * np.random.standard_normal())

    def run(self, budget, ckpt, **kw):
        return train.run(self.step, budget, recorder=self.rec, state={"W": self.W},
                         generators=[self.g], checkpoint=ckpt, progress=False, **kw)


def reference(budget=100):
    torch.manual_seed(0)
    np.random.seed(0)
    e = Experiment()
    train.run(e.step, budget, recorder=e.rec, state={"W": e.W}, generators=[e.g],
              progress=False)
    return e


def assert_same(a: Experiment, b: Experiment):
    assert torch.equal(a.W, b.W)
    np.testing.assert_array_equal(a.rec.t, b.rec.t)
    for k in a.rec.history:
        np.testing.assert_array_equal(a.rec.history[k], b.rec.history[k])


def test_resume_after_an_exception_matches_uninterrupted(tmp_path):
    ref = reference()
    ckpt = tmp_path / "runs" / "exp.pt"
    torch.manual_seed(0)
    np.random.seed(0)
    first = Experiment(fail_at=37)
    with pytest.raises(RuntimeError, match="interrupted at 37"):
        first.run(100, ckpt)
    assert ckpt.exists() and not (tmp_path / "runs" / "exp.pt.tmp").exists()
    assert torch.load(ckpt, weights_only=True)["t"] == 30  # saved every budget//10 updates
    # a fresh process: new objects, different global RNG state
    torch.manual_seed(999)
    np.random.seed(999)
    again = Experiment()
    again.run(100, ckpt)
    assert_same(again, ref)
    assert not torch.equal(first.W, ref.W)  # the interrupted run really stopped early


def test_rerunning_a_finished_run_does_no_more_steps(tmp_path):
    ref = reference()
    ckpt = tmp_path / "exp.pt"
    torch.manual_seed(0)
    np.random.seed(0)
    Experiment().run(100, ckpt)
    calls = []
    done = Experiment()
    train.run(lambda t: calls.append(t), 100, recorder=done.rec, state={"W": done.W},
              generators=[done.g], checkpoint=ckpt, progress=False)
    assert calls == []
    assert_same(done, ref)


def test_extending_the_budget_is_another_run(tmp_path):
    """A budget of 50 extended to 100 is refused (issue 14: the budget is fingerprinted)."""
    ckpt = tmp_path / "exp.pt"
    Experiment().run(50, ckpt)
    long = Experiment()
    with pytest.raises(train.CheckpointMismatch, match="budget: saved 50, now 100"):
        long.run(100, ckpt)
    assert torch.equal(long.W, torch.zeros(4, 3, dtype=torch.float64))


def test_resume_with_module_and_optimizer(tmp_path):
    def make():
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(7)
        net = torch.nn.Linear(5, 2).double()
        opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        A = torch.randn(5, 2, dtype=torch.float64, generator=g)

        def step(t):
            x = torch.randn(16, 5, dtype=torch.float64, generator=g)
            loss = ((net(x) - x @ A) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

        rec = train.Recorder({"w": lambda: net.weight}, steps=[0, 20, 40])
        return net, opt, g, step, rec

    net0, opt0, g0, step0, rec0 = make()
    train.run(step0, 40, recorder=rec0, state={"net": net0, "opt": opt0}, generators=[g0],
              progress=False)
    ckpt = tmp_path / "lin.pt"
    net1, opt1, g1, step1, rec1 = make()

    def killed(t):
        if t == 25:
            raise KeyboardInterrupt
        step1(t)

    with pytest.raises(KeyboardInterrupt):
        train.run(killed, 40, recorder=rec1, state={"net": net1, "opt": opt1}, generators=[g1],
                  checkpoint=ckpt, checkpoint_every=10, progress=False)
    assert torch.load(ckpt, weights_only=True)["t"] == 20
    net2, opt2, g2, step2, rec2 = make()
    train.run(step2, 40, recorder=rec2, state={"net": net2, "opt": opt2}, generators=[g2],
              checkpoint=ckpt, progress=False)
    assert torch.equal(net2.weight, net0.weight) and torch.equal(net2.bias, net0.bias)
    np.testing.assert_array_equal(rec2.history["w"], rec0.history["w"])
    assert not torch.equal(net1.weight, net0.weight)


def test_checkpoint_missing_state_key_raises(tmp_path):
    ckpt = tmp_path / "c.pt"
    a = torch.zeros(2)
    train.run(lambda t: a.add_(1), 3, state={"a": a}, checkpoint=ckpt, progress=False)
    b = torch.zeros(2)
    with pytest.raises(train.CheckpointMismatch, match=r"state\['b'\]: saved \(absent\)"):
        train.run(lambda t: b.add_(1), 6, state={"b": b}, checkpoint=ckpt, progress=False)


# ------------------------------------------------------------------------- progress
def test_progress_bar_follows_env(monkeypatch, capsys):
    monkeypatch.setenv("FREQLEARN_PROGRESS", "0")
    assert not train.progress_enabled()
    train.run(lambda t: None, 5, desc="quietbar")
    err = capsys.readouterr().err
    assert "quietbar" not in err and err == ""
    monkeypatch.setenv("FREQLEARN_PROGRESS", "1")
    assert train.progress_enabled()
    train.run(lambda t: None, 5, desc="loudbar")
    err = capsys.readouterr().err
    assert "loudbar" in err and "5/5" in err
    train.run(lambda t: None, 5, desc="forcedoff", progress=False)
    assert "forcedoff" not in capsys.readouterr().err
    monkeypatch.setenv("FREQLEARN_PROGRESS", "0")
    train.run(lambda t: None, 5, desc="forcedon", progress=True)
    assert "forcedon" in capsys.readouterr().err


def test_threads_limits_inside_and_restores_after():
    import torch

    from freqlearn import train

    before = torch.get_num_threads()
    with train.threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), train.threads(1):
        raise RuntimeError("restored even on error")
    assert torch.get_num_threads() == before


# ------------------------------------------------------------------ input checks (issue 14.5)
@pytest.mark.parametrize("budget,exc", [(2.9, TypeError), (2.5, TypeError), (True, TypeError),
                                        ("3", TypeError), (-1, ValueError)])
def test_run_budget_must_be_a_non_negative_int(budget, exc):
    """probe 3.23 (3.10c): budget=2.9 was silently truncated to 2."""
    calls = []
    with pytest.raises(exc, match="budget must be an integer"):
        train.run(calls.append, budget, progress=False)
    assert calls == []
    train.run(calls.append, np.int64(3), progress=False)
    assert calls == [0, 1, 2]


@pytest.mark.parametrize("every,exc", [(0, ValueError), (-3, ValueError), (2.0, TypeError)])
def test_checkpoint_every_must_be_a_positive_int(tmp_path, every, exc):
    """probe 3.21 (3.10) and 3.22 (3.10b): 0 gave ZeroDivisionError after step 0 ran, −3
    acted as 3."""
    calls = []
    with pytest.raises(exc, match="checkpoint_every must be an integer"):
        train.run(calls.append, 5, checkpoint=tmp_path / "c.pt", checkpoint_every=every,
                  progress=False)
    assert calls == [] and not (tmp_path / "c.pt").exists()


def test_state_must_hold_tensors_modules_or_optimizers(tmp_path):
    """probe 3.25 (3.10e): a Python float in the state failed at the first save."""
    calls = []
    with pytest.raises(TypeError, match=r"state\['lr'\] must be a tensor.*got float"):
        train.run(calls.append, 5, state={"W": torch.zeros(2), "lr": 0.1},
                  checkpoint=tmp_path / "c.pt", progress=False)
    assert calls == []


def test_run_checks_its_other_arguments():
    with pytest.raises(TypeError, match="step must be callable"):
        train.run(3, 5)
    with pytest.raises(TypeError, match="recorder must be"):
        train.run(lambda t: None, 5, recorder={"a": 1})
    with pytest.raises(TypeError, match="generators must be torch.Generator"):
        train.run(lambda t: None, 5, generators=[np.random.default_rng(0)])
    with pytest.raises(TypeError, match="checkpoint must be a path"):
        train.run(lambda t: None, 5, checkpoint=True)
    with pytest.raises(TypeError, match="fingerprint"):
        train.run(lambda t: None, 5, fingerprint={"x": object()})


@pytest.mark.parametrize("steps,exc,match", [
    ([0, 2.5], TypeError, "non-negative integers; got float 2.5"),
    ([0, True], TypeError, "non-negative integers; got bool"),
    (np.array([0.0, 10.0]), TypeError, "got float64"),
    ([-1, 2], ValueError, "non-negative integers; got -1"),
    ([], ValueError, "no steps"),
    (5, TypeError, "iterable"),
])
def test_recorder_steps_are_integers(steps, exc, match):
    """Recorder steps were passed through int(), truncating 2.5 to 2."""
    with pytest.raises(exc, match=match):
        train.Recorder({"a": lambda: 0}, steps)


def test_recorder_metrics_are_named_callables():
    with pytest.raises(TypeError, match="names"):
        train.Recorder({"a": 3}, [0])
    with pytest.raises(TypeError, match="metrics must be a dict"):
        train.Recorder([lambda: 0], [0])


@pytest.mark.parametrize("fn", [train.log_steps, train.lin_steps])
@pytest.mark.parametrize("args,exc,match", [((100.5, 10), TypeError, "budget must be an integer"),
                                            ((100, 10.0), TypeError, "n must be an integer"),
                                            ((True, 10), TypeError, "budget"),
                                            ((100, 1), ValueError, "n ≥ 2")])
def test_step_schedules_check_types(fn, args, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args)


def test_batched_normal_checks_its_arguments():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(TypeError, match="n_trials must be an integer; got float"):
        train.batched_normal(2.5, (3,), 1.0, generator=g)
    with pytest.raises(ValueError, match="n_trials must be an integer ≥ 1; got 0"):
        train.batched_normal(0, (3,), 1.0, generator=g)
    with pytest.raises(ValueError, match="std must be a finite real ≥ 0"):
        train.batched_normal(2, (3,), float("nan"), generator=g)
    with pytest.raises(TypeError, match="shape entry must be an integer"):
        train.batched_normal(2, (3.0,), 1.0, generator=g)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        train.batched_normal(2, (3,), 1.0, generator=np.random.default_rng(0))
    assert train.batched_normal(np.int64(2), 3, 1.0, generator=g).shape == (2, 3)


@pytest.mark.parametrize("n,exc", [(0, ValueError), (1.5, TypeError), (True, TypeError)])
def test_threads_checks_n(n, exc):
    before = torch.get_num_threads()
    with pytest.raises(exc, match="n must be an integer"), train.threads(n):
        pass
    assert torch.get_num_threads() == before
