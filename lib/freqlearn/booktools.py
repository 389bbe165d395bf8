"""Maintenance of the book itself (not used by chapters): TOC, Colab twins, screenshots.

``python -m freqlearn.booktools sync-ipynb``   write the ``.ipynb`` twins (no outputs) of
                                                every notebook, which the Colab buttons open.
``python -m freqlearn.booktools screenshots D`` headless-Chromium screenshots of the intro,
                                                the toolkit and the scoreboard pages into D.
``python -m freqlearn.booktools set-repo URL``  point the book at its repository: writes URL
                                                into ``_config.yml`` (``repository.url``),
                                                every notebook's Colab install cell and the
                                                ``.ipynb`` twins.
``python -m freqlearn.booktools execute [-j N]`` execute every notebook whose code changed,
                                                N at a time, into the execution cache that
                                                ``jupyter-book build`` reads (``make book``).

Why ``execute``: Jupyter Book 1 executes the notebooks of a ``cache`` build one after another
in its own process. myst-nb finds an executed notebook in jupyter-cache by a hash of the
notebook's code cells and kernelspec, whoever executed it; so running the stale notebooks in
parallel worker processes first, and storing them in the same cache exactly as myst-nb does
(``myst_nb.core.execute.cache``), leaves the build nothing to execute. The longest notebooks
(by their last recorded run time) start first, so the workers finish together.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["toc_files", "is_notebook", "notebooks", "twin", "sync_ipynb", "screenshots",
           "repository_url", "install_url", "set_repo", "execute"]

#: a GitHub repository URL, as ``_config.yml`` and the Colab install cells name it
REPO_URL = re.compile(r"https://github\.com/[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+")
_INSTALL = re.compile(r'("freqlearn @ git\+)(https://github\.com/[^"@]+)(")')


def _root() -> Path:
    from .claims import repo_root

    root = repo_root()
    if root is None:
        raise RuntimeError("run this inside the book's checkout (no _toc.yml found)")
    return root


def toc_files(root: Path | None = None) -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` (and its root), in order, without suffix."""
    import yaml

    root = root or _root()
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    out = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                out.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk({k: v for k, v in toc.items() if k != "root"})
    return out


def is_notebook(path: Path) -> bool:
    """A MyST ``.md`` file with a jupytext header."""
    if path.suffix != ".md" or not path.exists():
        return False
    head = path.read_text(encoding="utf-8")[:400]
    return head.startswith("---") and "jupytext:" in head


def notebooks(root: Path | None = None) -> list[Path]:
    """The notebooks of the table of contents, as ``.md`` paths."""
    root = root or _root()
    return [root / f"{f}.md" for f in toc_files(root) if is_notebook(root / f"{f}.md")]


def twin(md: Path) -> Path:
    return md.with_suffix(".ipynb")


def _twin_text(md: Path, text: str | None = None) -> str | None:
    """The ``.ipynb`` twin of the notebook ``md`` (whose text is ``text``, default: the
    file's) without outputs, as text; None when the twin on disk already has its cells.

    A twin whose cells already match is left alone, so a re-run does not churn the
    committed files with new random cell ids; a twin that cannot be read (corrupt, not a
    notebook) is rewritten.
    """
    import jupytext

    nb = jupytext.read(md) if text is None else jupytext.reads(text, fmt=md.suffix[1:])
    tw = twin(md)
    if tw.exists():  # unchanged sources: keep the file (and its cell ids) as it is
        try:
            old = jupytext.read(tw)
        except Exception:  # noqa: BLE001 - nbformat/json errors of a damaged twin: rewrite it
            old = None
        if old is not None and ([(c.cell_type, c.source) for c in old.cells]
                                == [(c.cell_type, c.source) for c in nb.cells]):
            return None
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("jupytext", None)
    nb.metadata["colab"] = {"provenance": []}
    out = jupytext.writes(nb, fmt="ipynb")
    return out if out.endswith("\n") else out + "\n"


def sync_ipynb(root: Path | None = None) -> list[Path]:
    """Write each notebook's ``.ipynb`` twin without outputs; return the paths written.

    A twin whose cells already match its notebook is left alone, so a re-run does not churn
    the committed files with new random cell ids. Each twin is written atomically
    (:func:`freqlearn.store.write_text`).
    """
    from . import store

    written = []
    for md in notebooks(root):
        text = _twin_text(md)
        if text is not None:
            store.write_text(twin(md), text)
            written.append(twin(md))
    return written


def repository_url(root: Path | None = None) -> str:
    """The repository that ``_config.yml`` names (``repository.url``): the one setting."""
    import yaml

    root = root or _root()
    return yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"]


def install_url(md: Path) -> str | None:
    """The repository a notebook's first code cell installs ``freqlearn`` from on Colab."""
    import jupytext

    code = [c for c in jupytext.read(md).cells if c.cell_type == "code"]
    m = _INSTALL.search(code[0].source) if code else None
    return m.group(2) if m else None


#: a top-level ``repository:`` key opening a block (nothing but a comment after the colon)
_REPO_KEY = re.compile(r"repository[ \t]*:[ \t]*(#.*)?")
#: a ``url:`` entry holding one plain or quoted scalar, and an optional trailing comment
_URL_LINE = re.compile(r"(?P<pre>[ \t]+url[ \t]*:[ \t]*)"
                       r"(?P<val>\"[^\"\n]*\"|'[^'\n]*'|[^\s#'\"][^\s]*)"
                       r"(?P<post>(?:[ \t]+#.*)?[ \t]*)")


def _config_with_url(cfg: Path, text: str, url: str) -> str:
    """``_config.yml``'s ``text`` with exactly ``repository.url`` set to ``url``.

    The ``url:`` line of the top-level ``repository:`` block is rewritten in place, so the
    file's comments and layout are kept. The result is re-read with ``yaml.safe_load`` and
    must equal the old configuration with only ``repository.url`` changed; anything else
    (no such key, a flow-style mapping, two candidates, an anchor) raises ``RuntimeError``
    and nothing is written.
    """
    import yaml

    def refuse(why: str) -> RuntimeError:
        return RuntimeError(f"{cfg}: {why}; set repository.url by hand (nothing was written)")

    try:
        old = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise refuse(f"it is not valid YAML ({str(e).splitlines()[0]})") from None
    if not (isinstance(old, dict) and isinstance(old.get("repository"), dict)
            and "url" in old["repository"]):
        raise refuse("it has no repository.url key")
    lines = text.splitlines(keepends=True)
    body = [ln.rstrip("\r\n") for ln in lines]
    heads = [i for i, ln in enumerate(body) if _REPO_KEY.fullmatch(ln)]
    if len(heads) != 1:
        raise refuse(f"{len(heads)} top-level 'repository:' block lines, expected 1")
    hits, indent = [], None
    for i in range(heads[0] + 1, len(body)):
        ln = body[i]
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        ind = len(ln) - len(ln.lstrip(" \t"))
        if ind == 0:
            break   # the block ended
        indent = ind if indent is None else indent
        if ind == indent and re.match(r"[ \t]+url[ \t]*:", ln):
            hits.append(i)
    if len(hits) != 1:
        raise refuse(f"{len(hits)} 'url:' lines in its repository block, expected 1")
    i = hits[0]
    m = _URL_LINE.fullmatch(body[i])
    if m is None:
        raise refuse(f"its line {i + 1} ({body[i].strip()!r}) is not a plain 'url: VALUE'")
    lines[i] = m.group("pre") + url + m.group("post") + lines[i][len(body[i]):]
    new_text = "".join(lines)
    want = dict(old, repository=dict(old["repository"], url=url))
    try:
        got = yaml.safe_load(new_text)
    except yaml.YAMLError:
        got = None
    if got != want:
        raise refuse("rewriting its repository url: line would change more than "
                     "repository.url")
    return new_text


def set_repo(url: str, root: Path | None = None) -> list[Path]:
    """Point the book at ``url``: ``_config.yml`` (``repository.url`` only), every
    notebook's Colab install cell and the ``.ipynb`` twins; return the files written.

    Every file is checked and its new text computed first; only when all of them can be
    rewritten (``_config.yml`` has exactly one ``repository.url``, every notebook of the
    table of contents has its install cell) are they written, each atomically
    (:func:`freqlearn.store.write_text`). A ``RuntimeError`` naming the file leaves the
    book as it was.
    """
    from . import store

    if not isinstance(url, str) or not REPO_URL.fullmatch(url):
        raise ValueError(f"url must look like https://github.com/OWNER/NAME; got {url!r}")
    root = Path(root) if root is not None else _root()
    cfg = root / "_config.yml"
    text = cfg.read_bytes().decode("utf-8")   # as it is: its line endings are kept
    plan: list[tuple[Path, str]] = []
    new_cfg = _config_with_url(cfg, text, url)
    if new_cfg != text:
        plan.append((cfg, new_cfg))
    mds = notebooks(root)
    new_md = {}
    for md in mds:
        src = md.read_bytes().decode("utf-8")
        new, k = _INSTALL.subn(lambda m: m.group(1) + url + m.group(3), src, count=1)
        if k != 1:
            raise RuntimeError(f"{md}: no Colab install cell naming the repository (nothing "
                               "was written)")
        new_md[md] = new
        if new != src:
            plan.append((md, new))
    for md in mds:
        tw = _twin_text(md, new_md[md])
        if tw is not None:
            plan.append((twin(md), tw))
    for path, new in plan:
        store.write_text(path, new)
    return [path for path, _ in plan]


def screenshots(outdir: str | Path, root: Path | None = None) -> list[Path]:
    """Screenshot the built intro, toolkit, scoreboard and two chapter pages (headless Chromium)."""
    root = root or _root()
    html = root / "_build" / "html"
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    pages = {"intro": "book/intro.html", "toolkit": "book/toolkit/fourier.html",
             "spectra": "book/toolkit/spectra.html", "scoreboard": "book/scoreboard.html",
             "pinson-cosines": "book/pinson2023/cosines.html",
             "ingrosso-localisation": "book/ingrosso-goldt2022/localisation.html"}
    shots = []
    for name, rel in pages.items():
        page = html / rel
        if not page.exists():
            raise FileNotFoundError(f"{page} is missing: build the book first (make book)")
        png = outdir / f"{name}.png"
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--virtual-time-budget=8000", "--window-size=1280,1600",
                 f"--screenshot={png}", page.as_uri()],
                check=True, capture_output=True, timeout=120)
        shots.append(png)
        print(f"{name}: {png}")
    return shots


def _read_notebook(path: Path):
    """The notebook as myst-nb reads a MyST text notebook (same cells, same cache hash)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"), add_source_map=True,
                                       path=str(path))


def _execute_one(path: str, timeout: int, threads: int):
    """Worker: execute one notebook in its own folder (as myst-nb's ``run_in_temp: false``)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    nb = _read_notebook(Path(path))
    res = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout,
                              allow_errors=False, meta_override=True)
    return path, nbformat.writes(res.nb), res.time, res.exc_string


def _cache_path(root: Path) -> Path:
    return root / "_build" / ".jupyter_cache"


def _last_runtimes(cache) -> dict[str, float]:
    out: dict[str, float] = {}
    for rec in cache.list_cache_records():
        t = (rec.data or {}).get("execution_seconds")
        if isinstance(t, (int, float)):
            out[str(Path(rec.uri).resolve())] = max(out.get(str(Path(rec.uri).resolve()), 0), t)
    return out


def execute(jobs: int | None = None, root: Path | None = None, timeout: int = 1200,
            paths=None) -> tuple[list[str], list[str]]:
    """Execute the stale notebooks ``jobs`` at a time into the book's execution cache.

    ``jobs`` defaults to the number of CPUs; each kernel gets ``cpus // jobs`` threads
    unless ``OMP_NUM_THREADS`` is set. Returns ``(executed, failed)`` notebook paths; a
    failed notebook is not cached, so the build that follows executes it again and reports
    the error with its traceback.
    """
    import concurrent.futures as cf
    import multiprocessing as mp

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    root = Path(root) if root is not None else _root()
    cpus = os.cpu_count() or 1
    jobs = cpus if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer ≥ 1; got {jobs!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise ValueError(f"timeout must be an integer number of seconds ≥ 1; got {timeout!r}")
    cache = get_cache(str(_cache_path(root)))
    stale = []
    for path in (notebooks(root) if paths is None else [Path(p) for p in paths]):
        try:
            cache.match_cache_notebook(_read_notebook(path))
        except KeyError:
            stale.append(path.resolve())
    last = _last_runtimes(cache)
    stale.sort(key=lambda p: -last.get(str(p), float("inf")))
    if not stale:
        print("execute: every notebook is in the cache")
        return [], []
    threads = max(1, cpus // jobs)
    print(f"execute: {len(stale)} notebook(s), {jobs} at a time, {threads} thread(s) each",
          flush=True)
    executed, failed = [], []
    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_execute_one, str(p), timeout, threads) for p in stale]
        for fut in cf.as_completed(futures):
            path, text, secs, err = fut.result()
            rel = os.path.relpath(path, root)
            if err:
                failed.append(path)
                tail = "\n".join(err.strip().splitlines()[-15:])
                print(f"  FAILED {rel} after {secs:.0f} s:\n{tail}", flush=True)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nbformat.reads(text, as_version=4), path,
                              data={"execution_seconds": secs}),
                check_validity=False, overwrite=True)
            executed.append(path)
            print(f"  {rel}: {secs:.0f} s", flush=True)
    print(f"execute: {len(executed)} executed, {len(failed)} failed, "
          f"{time.perf_counter() - t0:.0f} s wall", flush=True)
    return executed, failed


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sync-ipynb"]:
        for p in sync_ipynb():
            print(f"wrote {p}")
        return 0
    if argv[:1] == ["screenshots"] and len(argv) == 2:
        screenshots(argv[1])
        return 0
    if argv[:1] == ["set-repo"] and len(argv) == 2:
        for p in set_repo(argv[1]):
            print(f"wrote {p}")
        return 0
    if argv[:1] == ["execute"]:
        import argparse

        ap = argparse.ArgumentParser(prog="python -m freqlearn.booktools execute")
        ap.add_argument("-j", "--jobs", type=int, default=None)
        ap.add_argument("--timeout", type=int, default=1200)
        ap.add_argument("paths", nargs="*")
        a = ap.parse_args(argv[1:])
        _, failed = execute(a.jobs, timeout=a.timeout, paths=a.paths or None)
        return 1 if failed else 0
    print("usage: python -m freqlearn.booktools sync-ipynb | screenshots DIR | set-repo URL | "
          "execute [-j N] [PATH...]", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
