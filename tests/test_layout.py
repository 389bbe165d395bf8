"""The package's layout promises (DESIGN.md §1, DEVELOPERS habit 10), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "lib" / "freqlearn"


def _imports(path: Path, root: Path = PKG) -> set[str]:
    """Every freqlearn module a file imports, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = ["freqlearn", *path.relative_to(root).with_suffix("").parts[:-1]]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("freqlearn")}
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            if mod.startswith("freqlearn"):
                out.add(mod)
                out |= {f"{mod}.{a.name}" for a in node.names}
    return out


@pytest.mark.parametrize("path", sorted((PKG / "theory").glob("*.py")), ids=lambda p: p.name)
def test_theory_never_imports_the_training_loop(path):
    bad = sorted(m for m in _imports(path)
                 if m.split(".")[:2] in (["freqlearn", "train"], ["freqlearn", "nets"],
                                         ["freqlearn", "experiments"]))
    assert not bad, f"theory/{path.name} imports {bad}: theory predicts, it never simulates"


def test_nets_hold_models_not_experiment_runners():
    runners = sorted(p.name for p in (PKG / "nets").glob("*experiment*.py"))
    assert not runners, f"experiment runners {runners} belong in freqlearn/experiments/"
    for path in (PKG / "nets").glob("*.py"):
        bad = sorted(m for m in _imports(path) if m.startswith("freqlearn.experiments"))
        assert not bad, f"nets/{path.name} imports {bad}"


def test_every_paper_with_runners_has_an_experiments_module():
    assert {p.stem for p in (PKG / "experiments").glob("*.py")} >= {"pinson", "ingrosso"}


def test_the_import_scan_sees_a_forbidden_import(tmp_path):
    """The checks above can fail: relative imports of the training loop are detected."""
    fake = tmp_path / "theory" / "probe.py"
    fake.parent.mkdir()
    fake.write_text("from .. import train as _t\nfrom ..nets import committee\n")
    assert {"freqlearn.train", "freqlearn.nets.committee"} <= _imports(fake, root=tmp_path)
