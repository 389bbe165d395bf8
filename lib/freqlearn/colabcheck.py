"""``make colab-check``: the ``.ipynb`` twins run as a reader runs them on Colab (issue 23).

``python -m freqlearn.colabcheck [NB ...] [--chapters] [--env DIR] [--timeout S]``

1. A virtual environment *outside* the checkout (``$COLAB_ENV``, default
   ``~/.cache/freqlearn/colab``) holds Colab's preinstalled packages at Colab's versions
   (``tests/colab-versions.txt``, the one list of them), installed from a local wheelhouse
   without dependency resolution, and a stand-in ``google.colab`` that Colab's kernel
   launcher imports before the notebook runs, as on Colab. Built once; reused while its
   fingerprint (the list, the Python, the stand-in) matches.
2. The checkout's working tree (HEAD plus uncommitted changes; nothing in the checkout is
   written) becomes a commit of a throwaway repository in a temporary folder, with the
   twins' release tag (``v0.1.0``) on it.
3. Each selected twin runs with nbclient from an empty folder, at the quick preset, one at a
   time, in a fresh ``HOME``. Its own first cell installs the package: only the repository
   in its ``SPEC = "freqlearn @ git+URL@TAG"`` line is replaced, in a temporary copy of the
   twin, by ``file://localhost/<throwaway repository>`` (pip refuses ``git+file:///``
   without a host); the tag and every other line stay. Before each twin, whatever the
   previous twin's install added or replaced is undone, so each starts from Colab's set.

A twin *runs* when every cell executes and its install replaced none of Colab's packages
(an upgrade behind Colab's back, as ``ipywidgets>=8`` did, is a failure). The report gives,
per twin, ran / FAILED with the error's last line, the time of the whole twin and of its
install cell, and what the install added.

Needs the package index (Colab's versions and tensorly come from PyPI) and git.
:func:`unavailable` says why the check cannot run here (``tests/test_colab_env.py`` skips
with that reason). ``make test`` runs :data:`PER_CHAPTER`; ``make colab-check`` every twin.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from freqlearn import store

__all__ = ["Pin", "pins", "colab_versions", "install_specs", "unavailable", "env_home",
           "ColabEnv", "snapshot", "Result", "Session", "PER_CHAPTER", "main"]

#: the cheapest twin of each chapter at the quick preset (what ``make test`` runs; not
#: ingrosso-goldt2022/reduced-model, the one that needs tensorly: ~3x ingrosso's data)
PER_CHAPTER = ["toolkit/fourier", "chowers-weiss2023/theory", "godfrey2022/statistics",
               "pinson2023/explorer", "ingrosso-goldt2022/data",
               "ricci-merger-goldt2026/data", "synthesis/conditions"]

#: the install line of the setup cell: ``SPEC = "freqlearn @ git+URL@TAG"``
_SPEC = re.compile(r'^SPEC = "freqlearn @ git\+(?P<url>[^"@\s]+)@(?P<tag>[^"\s]+)"$', re.M)
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s#]+)"
                  r"(?:\s+#\s*here:\s*(?P<here>\S+)(?P<why>.*))?\s*$")
_HERE_ONLY = re.compile(r"^#\s*here only:\s*(?P<here>\S+)(?P<why>.*)$")
#: Colab's pip (pip-freeze.txt)
PIP = "pip==24.1.2"
#: bump when the layout of the environment changes (forces a rebuild)
_LAYOUT = "1"

#: the stand-in for Colab's own modules. Colab starts its kernels with
#: ``python -m colab_kernel_launcher``, which imports ``google.colab`` first: so
#: ``"google.colab" in sys.modules`` holds in every notebook, as the setup cell checks.
_STUB = {
    "google/colab/__init__.py": '''\
"""Stand-in for Colab's ``google.colab`` (freqlearn.colabcheck): importable, so that the
notebooks take their Colab branch; nothing of Colab's own works here."""
''',
    "google/colab/drive.py": '''\
"""Stand-in for ``google.colab.drive``."""


def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    raise RuntimeError("google.colab.drive.mount: no Google Drive in the Colab-like "
                       "environment of `make colab-check` (leave DRIVE_FOLDER empty)")
''',
    "colab_kernel_launcher.py": '''\
"""Colab's kernel launcher, as Colab has it: imports google.colab, then starts ipykernel."""
import google.colab  # noqa: F401

from ipykernel import kernelapp as app

app.launch_new_instance()
''',
}


def _root() -> Path:
    from .claims import repo_root

    root = repo_root()
    if root is None:
        raise RuntimeError("run this inside the book's checkout (no _toc.yml found)")
    return root


def _versions_file(root: Path | None = None) -> Path:
    return (root or _root()) / "tests" / "colab-versions.txt"


@dataclass(frozen=True)
class Pin:
    """One line of ``colab-versions.txt``: Colab's version (None: not on Colab) and what
    the Colab-like environment installs in its place, with the reason."""
    name: str
    colab: str | None
    spec: str
    why: str = ""


def pins(path: Path | None = None) -> list[Pin]:
    out = []
    for n, line in enumerate(Path(path or _versions_file()).read_text().splitlines(), 1):
        line = line.strip()
        if m := _HERE_ONLY.match(line):
            out.append(Pin(m["here"].split("==")[0].lower(), None, m["here"],
                           m["why"].strip()))
        elif line and not line.startswith("#"):
            m = _PIN.match(line)
            if not m:
                raise ValueError(f"colab-versions.txt:{n}: not `name==version`: {line!r}")
            out.append(Pin(m["name"].lower(), m["version"],
                           m["here"] or f"{m['name']}=={m['version']}",
                           (m["why"] or "").strip()))
    return out


def colab_versions(path: Path | None = None) -> dict[str, str]:
    """Colab's preinstalled versions, ``{name: version}`` (names lower case)."""
    return {p.name: p.colab for p in pins(path) if p.colab is not None}


def install_specs(path: Path | None = None, torch: str | None = None) -> list[str]:
    """What the Colab-like environment installs: ``name==version`` each, torch as
    ``torch`` (default: the list's, this machine's version) says."""
    return [torch if (p.name == "torch" and torch) else p.spec for p in pins(path)]


def _index_url() -> str:
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        r = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                           capture_output=True, text=True)
        url = r.stdout.strip() if r.returncode == 0 else ""
    return (url or "https://pypi.org/simple").rstrip("/") + "/"


def unavailable() -> str | None:
    """Why the check cannot run here (no git, no package index), or None."""
    if shutil.which("git") is None:
        return "git is not installed (the setup cell installs the package from a git URL)"
    import urllib.request

    url = _index_url() + "tensorly/"
    if url.startswith("file:"):
        return None
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read(1)
    except Exception as e:   # any failure to reach it: offline, proxy, DNS
        return (f"cannot reach the package index ({url}: {e}); the Colab-like environment "
                f"installs Colab's versions and tensorly from it")
    return None


def env_home() -> Path:
    """Where the environment lives: ``$COLAB_ENV``, or ``~/.cache/freqlearn/colab``."""
    if os.environ.get("COLAB_ENV"):
        return Path(os.environ["COLAB_ENV"]).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache, "freqlearn", "colab").resolve()


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))[:300]} failed ({r.returncode}):\n"
                           f"{(r.stderr or r.stdout)[-2000:]}")
    return r


class ColabEnv:
    """The Colab-like virtual environment under ``home`` (built by :meth:`ensure`)."""

    def __init__(self, home: Path | None = None, torch: str | None = None,
                 versions: Path | None = None, python: str | None = None):
        self.home = Path(home or env_home())
        self.venv = self.home / "venv"
        self.wheels = self.home / "wheels"
        self.versions = Path(versions or _versions_file())
        self.specs = install_specs(self.versions, torch)
        self.base_python = python or getattr(sys, "_base_executable", sys.executable)
        self.python = self.venv / "bin" / "python"

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        ver = _run([self.base_python, "-c", "import sys; print(sys.version)"]).stdout
        for part in [_LAYOUT, ver, *self.specs, *sorted(_STUB.items())]:
            h.update(str(part).encode() + b"\0")
        return h.hexdigest()[:16]

    def _stamp(self) -> Path:
        return self.venv / ".colab-fingerprint"

    def base(self) -> dict[str, str]:
        return store.read_json(self.venv / ".colab-base.json",
                               fix="Delete the environment's folder; it is rebuilt.")

    def installed(self) -> dict[str, str]:
        out = _run([self.python, "-m", "pip", "list", "--format", "json"]).stdout
        return {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(out)}

    def ensure(self, log=print) -> float:
        """Build the environment unless an equal one is there; the seconds it took."""
        t0 = time.perf_counter()
        root = self.versions.resolve().parents[1]     # the checkout
        if self.home.resolve().is_relative_to(root):
            raise ValueError(f"the Colab-like environment must live outside the checkout; "
                             f"got {self.home} (set COLAB_ENV)")
        self.home.mkdir(parents=True, exist_ok=True)
        fp = self.fingerprint()
        stamp = self._stamp()
        if stamp.exists() and stamp.read_text().strip() == fp:
            return time.perf_counter() - t0
        log(f"colab-check: building the Colab-like environment in {self.venv}")
        shutil.rmtree(self.venv, ignore_errors=True)
        torch = [s for s in self.specs if s.split("==")[0].lower() == "torch"]
        rest = [s for s in self.specs if s not in torch]
        self._fill_wheelhouse([PIP, *rest])
        _run([self.base_python, "-m", "venv", "--without-pip", self.venv])
        wheel = next(self.wheels.glob(f"pip-{PIP.split('==')[1]}-*.whl"))
        # --no-compile: modules compile when first imported (the build is ~3x faster)
        pip = [self.python, "-m", "pip", "install", "-q", "--no-deps", "--no-compile"]
        local = ["--no-index", "--find-links", self.wheels]
        _run([self.python, wheel / "pip", "install", "-q", "--no-deps", wheel])
        _run([*pip, *local, *rest])
        if not self._link_torch(torch):
            targs = (["--index-url", os.environ["TORCH_INDEX"]]
                     if os.environ.get("TORCH_INDEX") else [])
            _run([*pip, *targs, *torch])          # this machine's torch (see the list)
        site = self._site()
        for rel, text in _STUB.items():
            store.write_text(site / rel, text)

        store.write_json(self.venv / ".colab-base.json", self.installed())
        store.write_text(stamp, fp + "\n")
        dt = time.perf_counter() - t0
        log(f"colab-check: environment built in {dt:.0f} s")
        return dt

    def _link_torch(self, torch: list[str]) -> bool:
        """The same torch as the running interpreter's, hard-linked file by file (the
        same wheel's files, no copy of its ~1 GB); False where that cannot be done."""
        from importlib import metadata

        try:
            dist = metadata.distribution("torch")
        except metadata.PackageNotFoundError:
            return False
        if torch not in ([f"torch=={dist.version}"],
                         [f"torch=={dist.version.split('+')[0]}"]):
            return False
        src = Path(dist.locate_file(""))
        site = self._site()
        files = [f for f in dist.files or [] if not str(f).startswith("..")]
        try:
            for f in files:
                (site / f).parent.mkdir(parents=True, exist_ok=True)
                os.link(src / f, site / f)
        except OSError:
            return False
        return True

    def _site(self) -> Path:
        return Path(_run([self.python, "-c", "import sysconfig; "
                          "print(sysconfig.get_paths()['purelib'])"]).stdout.strip())

    def _fill_wheelhouse(self, specs: list[str]) -> None:
        from packaging.utils import canonicalize_name, parse_wheel_filename

        have = set()
        self.wheels.mkdir(parents=True, exist_ok=True)
        for w in self.wheels.glob("*.whl"):
            name, ver, *_ = parse_wheel_filename(w.name)
            have.add((canonicalize_name(name), str(ver)))
        missing = [s for s in specs if (canonicalize_name(s.split("==")[0]),
                                        s.split("==")[1]) not in have]
        if missing:   # binary wheels for this Python, from the index, once
            _run([self.python if self.python.exists() else self.base_python, "-m", "pip",
                  "download", "-q", "--no-deps", "--only-binary", ":all:",
                  "-d", self.wheels, *missing])

    def reset(self) -> None:
        """Undo what a twin's install did: remove what it added, put back what it
        replaced (from the wheelhouse)."""
        base, now = self.base(), self.installed()
        extra = sorted(set(now) - set(base))
        if extra:
            _run([self.python, "-m", "pip", "uninstall", "-q", "-y", *extra])
        changed = [f"{n}=={v}" for n, v in base.items() if now.get(n) != v]
        if any(c.startswith("torch==") for c in changed):
            self._stamp().unlink()      # torch is not in the wheelhouse: rebuild
            self.ensure()
        elif changed:
            _run([self.python, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                  "--force-reinstall", "--find-links", self.wheels, *changed])


def snapshot(root: Path, dest: Path, tag: str) -> str:
    """A throwaway repository in ``dest`` whose one commit is ``root``'s working tree (HEAD
    plus its uncommitted changes; ignored files left out), tagged ``tag``; returns its pip
    URL. Reads ``root``, writes nothing there."""
    dest = Path(dest)
    g = ["git", "-c", "user.name=colab-check", "-c", "user.email=colab-check@localhost",
         "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
    head = _run(["git", "-C", root, "rev-parse", "HEAD"]).stdout.strip()
    objects = Path(_run(["git", "-C", root, "rev-parse", "--path-format=absolute",
                         "--git-common-dir"]).stdout.strip()) / "objects"
    _run([*g, "init", "-q", dest])
    store.write_text(dest / ".git" / "objects" / "info" / "alternates", f"{objects}\n")
    env = {**os.environ, "GIT_DIR": str(dest / ".git"), "GIT_WORK_TREE": str(root)}
    _run([*g, "read-tree", head], env=env, cwd=root)
    _run([*g, "add", "-A"], env=env, cwd=root)
    tree = _run([*g, "write-tree"], env=env, cwd=root).stdout.strip()
    commit = _run([*g, "commit-tree", tree, "-p", head, "-m",
                   f"colab-check: working tree of {head[:12]}"], env=env).stdout.strip()
    _run([*g, "-C", dest, "tag", "-f", tag, commit])
    _run([*g, "-C", dest, "update-ref", "HEAD", commit])
    return f"file://localhost{dest.resolve()}"


@dataclass
class Result:
    name: str
    ok: bool
    seconds: float
    install_seconds: float | None = None
    error: str = ""
    added: dict = field(default_factory=dict)
    replaced: dict = field(default_factory=dict)

    def line(self) -> str:
        inst = (f", install {self.install_seconds:.0f} s"
                if self.install_seconds is not None else "")
        head = f"{'ran' if self.ok else 'FAILED':6} {self.seconds:6.0f} s{inst:15}  {self.name}"
        if not self.ok:
            head += f"\n         {self.error}"
        if self.added:
            head += "\n         added: " + ", ".join(f"{k} {v}" for k, v in self.added.items())
        return head


def _last(text) -> str:
    return (str(text).strip().splitlines() or [""])[-1][:400]


def _kernel_env(venv: Path, home: Path) -> dict[str, str]:
    """A reader's environment: none of the checkout's variables or virtual environment."""
    drop = ("FREQLEARN_", "BOOK_", "VIRTUAL_ENV", "PYTHON", "JUPYTER", "IPYTHON", "MPL",
            "CONDA", "PYDEVD")
    keep = ("FREQLEARN_DEVICE", "FREQLEARN_PROGRESS")   # what a GPU check sets
    env = {k: v for k, v in os.environ.items()
           if k in keep or not k.startswith(drop)}
    path = [p for p in env.get("PATH", "").split(os.pathsep)
            if p and not (Path(p) / "activate").exists()]       # no other venv's bin
    env.update(PATH=os.pathsep.join([str(venv / "bin"), *path]), HOME=str(home),
               BOOK_PRESET="quick", PYDEVD_DISABLE_FILE_VALIDATION="1",
               # Colab's image has matplotlib's font cache built: so has the environment
               MPLCONFIGDIR=str(venv / ".mplconfig"))
    return env


class Session:
    """One colab-check: the environment, a snapshot of the checkout, twins run one by one."""

    def __init__(self, root: Path | None = None, env: ColabEnv | None = None,
                 timeout: int = 900, log=print, fresh: bool = True):
        self.root = Path(root or _root())
        self.env = env or ColabEnv(versions=_versions_file(self.root))
        self.timeout = timeout
        self.log = log
        #: undo the previous twin's install before each twin (else only before the first:
        #: later twins' setup cells then clone and build the package but install nothing)
        self.fresh = fresh
        self._runs = 0
        self._tmp = Path()
        self._urls: dict[str, str] = {}
        self.build_seconds = None

    def __enter__(self):
        self._tmp = Path(tempfile.mkdtemp(prefix="colab-check-"))
        self.build_seconds = self.env.ensure(self.log)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _url(self, tag: str) -> str:
        if tag not in self._urls:
            self._urls[tag] = snapshot(self.root, self._tmp / f"repo-{tag}", tag)
        return self._urls[tag]

    def twin(self, name: str) -> Path:
        p = Path(name)
        p = p if p.is_absolute() else self.root / "book" / p
        return p.with_suffix(".ipynb")

    def run(self, name: str) -> Result:
        import nbformat
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        path = self.twin(name)
        label = (path.relative_to(self.root / "book").with_suffix("").as_posix()
                 if path.is_relative_to(self.root / "book") else str(path))
        t0 = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        m = _SPEC.search(code[0].source) if code else None
        if not m:
            return Result(label, False, 0.0, error="its first code cell has no "
                          'SPEC = "freqlearn @ git+URL@TAG" line')
        url = self._url(m["tag"])
        code[0].source = _SPEC.sub(f'SPEC = "freqlearn @ git+{url}@{m["tag"]}"',
                                   code[0].source, count=1)
        if self.fresh or not self._runs:
            self.env.reset()
        self._runs += 1
        run_dir = Path(tempfile.mkdtemp(prefix=path.stem + "-", dir=self._tmp))
        work, home = run_dir / "content", run_dir / "home"
        work.mkdir()
        home.mkdir()
        kdir = run_dir / "kernels" / "colab-like"
        kdir.mkdir(parents=True)
        store.write_json(kdir / "kernel.json", {
            "argv": [str(self.env.python), "-m", "colab_kernel_launcher", "-f",
                     "{connection_file}"],
            "display_name": "Python 3 (Colab-like)", "language": "python"})
        km = KernelManager(kernel_name="colab-like",
                           kernel_spec_manager=KernelSpecManager(
                               kernel_dirs=[str(run_dir / "kernels")]))
        client = NotebookClient(nb, km=km, timeout=self.timeout, kernel_name="colab-like",
                                resources={"metadata": {"path": str(work)}})
        err, install = "", None
        try:
            with client.setup_kernel(env=_kernel_env(self.env.venv, home), cwd=str(work)):
                for i, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    tc = time.perf_counter()
                    try:
                        client.execute_cell(cell, i)
                    finally:
                        if cell is code[0]:
                            install = time.perf_counter() - tc
        except CellExecutionError as e:
            k = next(j for j, c in enumerate(code) if c is cell) + 1
            err = f"code cell {k}: {e.ename}: {_last(e.evalue)}"
            pip_err = [ln for o in code[0].get("outputs", [])
                       for ln in str(o.get("text", "")).splitlines() if "ERROR" in ln]
            if pip_err:
                err += f" (the install said: {pip_err[-1].strip()[:300]})"
        except Exception as e:   # kernel died, timeout: the reader sees it fail too
            err = f"{type(e).__name__}: {_last(e)}"
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        base, now = self.env.base(), self.env.installed()
        added = {n: v for n, v in now.items() if n not in base}
        replaced = {n: f"{v} -> {now.get(n, 'removed')}" for n, v in base.items()
                    if now.get(n) != v}
        if replaced and not err:
            err = "the install replaced Colab's " + ", ".join(
                f"{n} {v}" for n, v in replaced.items())
        return Result(label, not err, time.perf_counter() - t0, install, err, added,
                      replaced)


def _select(root: Path, names: list[str], chapters: bool) -> list[str]:
    from . import booktools

    if names:
        return [n.removeprefix("book/").removesuffix(".md").removesuffix(".ipynb")
                for n in names]
    if chapters:
        return list(PER_CHAPTER)
    return [md.relative_to(root / "book").with_suffix("").as_posix()
            for md in booktools.notebooks(root) if booktools.twin(md).exists()]


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m freqlearn.colabcheck",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="e.g. pinson2023/explorer (default: all)")
    ap.add_argument("--chapters", action="store_true",
                    help="only the cheapest twin of each chapter (what make test runs)")
    ap.add_argument("--env", help="the environment's folder (default: $COLAB_ENV or "
                    "~/.cache/freqlearn/colab)")
    ap.add_argument("--timeout", type=int, default=900, help="per cell, seconds")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)
    why = unavailable()
    if why:
        print(f"colab-check: cannot run: {why}", file=sys.stderr)
        return 2
    root = _root()
    names = _select(root, a.notebooks, a.chapters)
    env = ColabEnv(a.env, torch=os.environ.get("TORCH") or None,
                   versions=_versions_file(root))
    results = []
    with Session(root, env, a.timeout) as s:
        print(f"colab-check: environment ready in {s.build_seconds:.0f} s; "
              f"{len(names)} twin(s), quick preset, one at a time", flush=True)
        for n in names:
            r = s.run(n)
            results.append(r)
            print(r.line(), flush=True)
    ok = sum(r.ok for r in results)
    print(f"colab-check: {ok} of {len(results)} twins ran")
    if a.json:
        store.write_json(a.json, {"build_seconds": s.build_seconds,
                                  "results": [r.__dict__ for r in results]})
    return 0 if ok == len(results) else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
