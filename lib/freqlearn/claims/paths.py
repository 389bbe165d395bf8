"""Where the claims live and what identifies a run: the book's root, the claims dir, the
baseline's path, notebook names, the sha256 of a notebook and of its code cells, and the
provenance strings (date, machine, device, versions, commit) written beside the claims."""

from __future__ import annotations

import ast
import hashlib
import os
import platform
import re
import subprocess
from pathlib import Path

from .. import presets

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$")


def repo_root(start: str | os.PathLike | None = None) -> Path | None:
    """The book's root (the folder holding ``_toc.yml``), searched upward from ``start``.

    ``FREQLEARN_ROOT`` overrides the search. ``None`` outside a checkout (e.g. Colab).
    """
    env = os.environ.get("FREQLEARN_ROOT")
    if env:
        return Path(env)
    p = Path(start or os.getcwd()).resolve()
    for q in (p, *p.parents):
        if (q / "_toc.yml").exists():
            return q
    return None


def claims_dir() -> Path:
    """Where claims JSON goes: ``FREQLEARN_CLAIMS_DIR``, else ``<root>/_build/claims``.

    A relative ``FREQLEARN_CLAIMS_DIR`` is taken from the book's root (a notebook runs in
    its own folder, so the working directory would scatter the claims over the chapters).
    """
    env = os.environ.get("FREQLEARN_CLAIMS_DIR", "").strip()
    root = repo_root() or Path.cwd()
    if env:
        p = Path(env).expanduser()
        return p if p.is_absolute() else root / p
    return root / "_build" / "claims"


def baseline_path() -> Path | None:
    """``<root>/tests/baselines/quick.json`` (``None`` outside a checkout)."""
    root = repo_root()
    return None if root is None else root / "tests" / "baselines" / "quick.json"


def _from_root(p: str | os.PathLike) -> Path:
    """A path given on the command line: relative paths are taken from the repo root."""
    p = Path(p).expanduser()
    if p.is_absolute():
        return p
    return (repo_root() or Path.cwd()) / p


def _shown(p: Path) -> str:
    """``p`` relative to the repo root when it lies inside (as a ``git`` command takes it
    from the root), else as given."""
    root = repo_root()
    try:
        return str(Path(p).resolve().relative_to(root.resolve())) if root else str(p)
    except ValueError:
        return str(p)


def _default_out(*parts) -> Path:
    return (repo_root() or Path.cwd()).joinpath(*parts)


def _check_name(notebook) -> str:
    if (not isinstance(notebook, str) or not _NAME_RE.match(notebook)
            or ".." in notebook.split("/") or notebook.endswith(".md")):
        raise ValueError(
            "notebook must be the path under book/ without suffix, made of lower-case letters,"
            " digits, '_', '.', '-' in segments separated by '/' (no '..'), e.g."
            f" 'toolkit/fourier'; got {notebook!r}")
    return notebook


def _inside(path: Path, folder: Path, notebook: str) -> Path:
    rp, rf = path.resolve(), folder.resolve()
    if rp != rf and rf not in rp.parents:
        raise ValueError(f"notebook {notebook!r} would write {rp}, outside the claims dir {rf}")
    return path


def notebook_sha256(notebook: str) -> str | None:
    """sha256 of ``book/<notebook>.md`` in the checkout, or ``None`` if there is none."""
    root = repo_root()
    if root is None:
        return None
    p = root / "book" / f"{notebook}.md"
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


def _normalised_source(src: str) -> str:
    """A code cell's source as what it runs: ``ast.unparse`` of its syntax tree, so that
    comments, line breaks, quotes and the docstrings of functions and classes do not
    count; a cell that is not plain Python (an IPython magic) is taken as written."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return src
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            node.body[0].value.value = ""
    return ast.unparse(tree)


def _is_colab_setup(options: list[str], source: str) -> bool:
    """The Colab setup cell (``booktools.INSTALL_CELL``): hidden from the page
    (``remove-cell``) and acting only where ``google.colab`` is imported — outside Colab it
    installs nothing and leaves the preset and seed as the environment gives them
    (``tests/test_colab.py`` runs it), so it is not part of what a run computes."""
    return any("remove-cell" in o for o in options) and "google.colab" in source


def code_cells(text: str) -> str:
    """The code cells of a MyST notebook's text (options and source), joined: what a run
    executes. Prose can change without changing it, and so can the layout of the code
    (comments, line breaks, quotes, docstrings): each cell's source is taken through
    :func:`_normalised_source`. The Colab setup cell is left out (:func:`_is_colab_setup`):
    pointing the book at its repository or release changes no result."""
    out: list[str] = []
    cell: list[str] | None = None
    head = ""
    for line in text.splitlines():
        if cell is None and line.startswith("```{code-cell}"):
            head = line
            cell = []
        elif cell is not None and line.startswith("```"):
            n = 0
            while n < len(cell) and cell[n].startswith(":"):
                n += 1
            src = "\n".join(cell[n:])
            if not _is_colab_setup(cell[:n], src):
                out += [head] + cell[:n] + [_normalised_source(src), ""]
            cell = None
        elif cell is not None:
            cell.append(line)
    return "\n".join(out)


def code_sha256(text: str) -> str:
    """sha256 of :func:`code_cells` of a notebook's text."""
    return hashlib.sha256(code_cells(text).encode()).hexdigest()


def notebook_code_sha256(notebook: str) -> str | None:
    """sha256 of the code cells of ``book/<notebook>.md`` (:func:`code_cells`), or ``None``
    if there is no such file: a record made from a run is stale when this changes, not when
    only the prose around the code does."""
    root = repo_root()
    if root is None:
        return None
    p = root / "book" / f"{notebook}.md"
    if not p.is_file():
        return None
    return code_sha256(p.read_text())


# ------------------------------------------------------------------------ provenance
def _utc_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cpu = cpu or platform.processor() or "unknown CPU"
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores"


def _device() -> str:
    try:
        import torch

        if presets.device().type == "cuda":
            return torch.cuda.get_device_name()
    except Exception:  # noqa: BLE001 - a provenance string must never break a notebook
        pass
    return "cpu"


def _versions() -> dict:
    import numpy

    try:
        import torch

        tv = torch.__version__
    except ImportError:  # pragma: no cover
        tv = None
    return {"torch": tv, "numpy": numpy.__version__, "python": platform.python_version()}


def _git(*args) -> str | None:
    root = repo_root() or Path.cwd()
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _commit() -> str:
    head = _git("rev-parse", "HEAD")
    if not head:
        return "unknown"
    return head + ("+dirty" if _git("status", "--porcelain", "--untracked-files=no") else "")
