"""Maintenance of the book itself (not used by chapters): TOC, Colab twins, screenshots.

``python -m freqlearn.booktools sync-ipynb``   write the ``.ipynb`` twins (no outputs, prose
                                                in plain markdown) of every notebook, which
                                                the Colab buttons open.
``python -m freqlearn.booktools screenshots D`` headless-Chromium screenshots of the intro,
                                                the toolkit and the scoreboard pages into D.
``python -m freqlearn.booktools set-repo URL [--tag TAG]``  point the book at its
                                                repository and release (default tag:
                                                ``v`` + the package version): writes URL into
                                                ``_config.yml`` (``repository.url``), every
                                                notebook's Colab setup cell (installs
                                                ``freqlearn @ git+URL@TAG``) and the twins.
``python -m freqlearn.booktools execute [-j N]`` execute every notebook whose code changed,
                                                N at a time, into the execution cache that
                                                ``jupyter-book build`` reads (``make book``).

Why ``execute``: Jupyter Book 1 executes the notebooks of a ``cache`` build one after another
in its own process. myst-nb finds an executed notebook in jupyter-cache by a hash of the
notebook's code cells and kernelspec, whoever executed it; so running the stale notebooks in
parallel worker processes first, and storing them in the same cache exactly as myst-nb does
(``myst_nb.core.execute.cache``), leaves the build nothing to execute. The longest notebooks
(by their last recorded run time) start first, so the workers finish together. That hash
does not see the preset, seed, device, package code, lock or records the pages were made
with: ``execute`` records those (:func:`cache_key`, ``_build/.book-key.json``) and clears
the cache when one changed (:func:`refresh_cache`), so a page is never served stale.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

__all__ = ["toc_files", "is_notebook", "notebooks", "twin", "twin_cells", "twin_in_sync",
           "sync_ipynb", "myst_leftovers", "book_url", "screenshots", "repository_url",
           "install_url", "install_tag", "install_cell", "release_tag", "set_repo",
           "execute", "cache_key", "refresh_cache"]

#: a GitHub repository URL, as ``_config.yml`` and the Colab install cells name it
REPO_URL = re.compile(r"https://github\.com/[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+")
#: ``"freqlearn @ git+URL@TAG"`` in an install cell: URL (group 2) and the tag (group 3)
_INSTALL = re.compile(r'("freqlearn @ git\+)(https://github\.com/[^"@\s]+)(?:@([^"\s]+))?(")')
#: a release tag or branch that pip can check out (no spaces, quotes or ``@``)
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*(?:/[A-Za-z0-9._+-]+)*")

#: the first code cell of every notebook (``remove-cell``: the book's pages do not show it).
#: ``set-repo`` writes it; ``{spec}`` is ``freqlearn @ git+URL@TAG``. Outside Colab it
#: installs and mounts nothing and leaves ``BOOK_PRESET``/``BOOK_SEED`` that are already set
#: alone (``BOOK_PRESET=paper make book``, ``BOOK_SEED=11`` runs); unset, it sets them to the
#: form's defaults, which are the package's own defaults, so the book's build and tests run
#: as before.
INSTALL_CELL = """\
#@title Setup: preset, seed, Drive folder; installs the book's package on Colab
# Run this cell first. `quick` runs on a CPU in minutes; `paper` uses the
# papers' own sizes and, on a GPU runtime (Runtime > Change runtime type),
# the GPU: freqlearn picks CUDA whenever torch sees one. BOOK_SEED: empty =
# the preset's own seed, or a non-negative integer.
# Outside Colab this cell installs nothing, and BOOK_PRESET / BOOK_SEED
# already set in the environment win over the values below.
import os
import sys

BOOK_PRESET = "quick"  #@param ["quick", "paper"]
BOOK_SEED = ""  #@param {{type:"string"}}
# Optional Google Drive folder, e.g. "freqlearn" (Colab only; asks to mount
# your Drive): checkpoints and CIFAR then live in MyDrive/<folder>/, so a
# paper run resumes after Colab recycles the VM. Empty: the VM's own disk.
DRIVE_FOLDER = ""  #@param {{type:"string"}}

COLAB = "google.colab" in sys.modules
for key, value in (("BOOK_PRESET", BOOK_PRESET), ("BOOK_SEED", BOOK_SEED)):
    if COLAB or key not in os.environ:
        os.environ[key] = value.strip()
if COLAB and DRIVE_FOLDER.strip():
    from google.colab import drive

    drive.mount("/content/drive")
    home = os.path.join("/content/drive/MyDrive", DRIVE_FOLDER.strip())
    os.environ["FREQLEARN_CHECKPOINTS"] = os.path.join(home, "checkpoints")
    os.environ["FREQLEARN_DATA"] = os.path.join(home, "data")
SPEC = "{spec}"
if COLAB:
    %pip install -q "{{SPEC}}"
"""


def install_cell(url: str, tag: str) -> str:
    """The source of the install cell that installs ``freqlearn`` from ``url`` at ``tag``."""
    if not isinstance(url, str) or not REPO_URL.fullmatch(url):
        raise ValueError(f"url must look like https://github.com/OWNER/NAME; got {url!r}")
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise ValueError(f"tag must be a git tag or branch name such as v0.1.0; got {tag!r}")
    return INSTALL_CELL.format(spec=f"freqlearn @ git+{url}@{tag}").rstrip("\n")


def release_tag(root: Path | None = None) -> str:
    """The book's own release tag: ``v`` + the version in ``pyproject.toml`` (the
    package's ``__version__`` where the book has no ``pyproject.toml``)."""
    root = Path(root) if root is not None else _root()
    pp = root / "pyproject.toml"
    m = re.search(r'(?ms)^\[project\]$.*?^version\s*=\s*"([^"]+)"',
                  pp.read_text(encoding="utf-8")) if pp.exists() else None
    if m:   # (tomllib is Python 3.11+; the package supports 3.10)
        return "v" + m.group(1)
    from . import __version__

    return f"v{__version__}"


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


# ---- readable twins: the MyST of a notebook's prose as plain Jupyter markdown -------------
#: a MyST role, ``{name}`content` ``
_ROLE = re.compile(r"\{(?P<role>[A-Za-z][\w:+.-]*)\}`(?P<text>[^`]*)`")
#: a fenced MyST directive, ```` ```{name} args ```` or ``:::{name} args``
_DIRECTIVE = re.compile(r"^(?P<ind>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[A-Za-z][\w:+.-]*)\}"
                        r"[ \t]*(?P<arg>.*?)[ \t]*$")
#: the label that closes a display equation, ``$$ (label)``
_EQ_LABEL = re.compile(r"\$\$[ \t]*\((?P<label>[\w:.-]+)\)[ \t]*$", re.M)
#: a MyST target line, ``(label)=``
_TARGET = re.compile(r"^\((?P<label>[\w:.-]+)\)=[ \t]*$", re.M)
_ADMONITIONS = ("admonition", "attention", "caution", "danger", "error", "hint", "important",
                "note", "seealso", "tip", "warning")


def myst_leftovers(text: str) -> list[str]:
    """The MyST syntax left in markdown ``text``: roles, directive fences, equation labels
    and targets (what a reader of a twin on Colab would see raw); empty when none."""
    return ([m.group(0) for m in _ROLE.finditer(text)]
            + [m.group(0).strip() for ln in text.splitlines() if (m := _DIRECTIVE.match(ln))]
            + [m.group(0) for m in _EQ_LABEL.finditer(text)]
            + [m.group(0) for m in _TARGET.finditer(text)])


def _book_root(md: Path) -> Path:
    """The book root above ``md``: the nearest folder holding ``_config.yml``."""
    for d in Path(md).resolve().parents:
        if (d / "_config.yml").exists():
            return d
    raise RuntimeError(f"{md}: no _config.yml above it (not inside a book)")


def _config(root: Path, text: str | None = None) -> dict:
    import yaml

    text = (root / "_config.yml").read_text(encoding="utf-8") if text is None else text
    cfg = yaml.safe_load(text)
    return cfg if isinstance(cfg, dict) else {}


def book_url(root: Path | None = None, config: str | None = None) -> str:
    """The rendered book's address, from ``_config.yml`` (or its text ``config``):
    ``html.baseurl`` when set, else the GitHub Pages site of ``repository.url``
    (``https://OWNER.github.io/NAME``)."""
    root = Path(root) if root is not None else _root()
    cfg = _config(root, config)
    base = str((cfg.get("html") or {}).get("baseurl") or "").strip()
    if base:
        return base.rstrip("/")
    url = str((cfg.get("repository") or {}).get("url") or "")
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", url)
    if m is None:
        raise RuntimeError(f"{root / '_config.yml'}: set html.baseurl or a GitHub "
                           "repository.url, so the twins can link to the rendered book")
    return f"https://{m.group(1).lower()}.github.io/{m.group(2)}"


_LATEX_ACCENTS = {"'": "\u0301", "`": "\u0300", '"': "\u0308", "^": "\u0302", "~": "\u0303",
                  "c": "\u0327", "v": "\u030c", "u": "\u0306", "=": "\u0304", ".": "\u0307",
                  "H": "\u030b", "r": "\u030a", "k": "\u0328"}


def _delatex(s: str) -> str:
    """BibTeX text as Unicode: accents (``{\\'e}`` → é), ``\\ss`` and braces."""
    import unicodedata

    s = re.sub(r"\\([`'\"^~=.])\s*\{?([A-Za-z])\}?",
               lambda m: m.group(2) + _LATEX_ACCENTS[m.group(1)], s)
    s = re.sub(r"\\([cvuHrk])\s*\{([A-Za-z])\}|\\([cvuHrk]) ([A-Za-z])",
               lambda m: (m.group(2) or m.group(4)) + _LATEX_ACCENTS[m.group(1) or m.group(3)],
               s)
    s = s.replace("\\ss", "ß").replace("~", " ").replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", s)


def _bib_field(body: str, name: str) -> str | None:
    m = re.search(rf"(?im)^\s*{name}\s*=\s*", body)
    if m is None:
        return None
    i = m.end()
    if body[i:i + 1] == "{":
        depth, j = 0, i
        for j in range(i, len(body)):
            depth += {"{": 1, "}": -1}.get(body[j], 0)
            if depth == 0:
                break
        return body[i + 1:j]
    if body[i:i + 1] == '"':
        return body[i + 1:body.index('"', i + 1)]
    return re.match(r"[\w.-]*", body[i:]).group(0)


def _bibliography(root: Path, cfg: dict) -> dict[str, str]:
    """``{key: "Author et al.", key + "@year": "2023"}`` from the configuration's
    ``bibtex_bibfiles`` (author–year style, as the book renders citations)."""
    out: dict[str, str] = {}
    for f in cfg.get("bibtex_bibfiles") or []:
        path = root / f
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,", text):
            nxt = text.find("\n@", m.end())
            body = text[m.end():None if nxt < 0 else nxt]
            names = [_delatex(a.strip()) for a in
                     re.split(r"\s+and\s+", _bib_field(body, "author")
                              or _bib_field(body, "editor") or "?")]
            last = [a.split(",")[0].strip() if "," in a else a.split()[-1] for a in names]
            who = (last[0] if len(last) == 1 else f"{last[0]} and {last[1]}"
                   if len(last) == 2 else f"{last[0]} et al.")
            out[m.group(1)] = who
            out[m.group(1) + "@year"] = _delatex(_bib_field(body, "year") or "n.d.")
    return out


class _BookIndex:
    """What the twins' prose needs from the whole book: its address, the bibliography,
    each page's title, labelled equations and named figures."""

    def __init__(self, root: Path, config: str | None = None):
        self.root = Path(root)
        self.url = book_url(self.root, config)
        self.bib = _bibliography(self.root, _config(self.root, config))
        self.pages: dict[str, dict] = {}

    def page(self, rel: str) -> dict:
        """Title, equation numbers and figure numbers of the page ``rel`` (``book/x/y``)."""
        if rel not in self.pages:
            path = self.root / f"{rel}.md"
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
            title = next((m.group(1).strip() for m in re.finditer(r"(?m)^# (.+)$", text)),
                         rel.rsplit("/", 1)[-1])
            eqs = {m.group("label"): i for i, m in enumerate(_EQ_LABEL.finditer(text), 1)}
            figs = re.findall(r"(?m)^[ \t]*(?:`{3,}|:{3,})\{(?:glue:)?figure\}[^\n]*\n"
                              r"(?:[ \t]*:(?!name:)[\w-]+:[^\n]*\n)*[ \t]*:name:[ \t]*(\S+)",
                              text)
            targets = {m.group("label") for m in _TARGET.finditer(text)}
            self.pages[rel] = dict(title=self._plain(title), eqs=eqs,
                                   figs={f: i for i, f in enumerate(figs, 1)},
                                   targets=targets)
        return self.pages[rel]

    @staticmethod
    def _plain(s: str) -> str:
        return _ROLE.sub(lambda m: m.group("text"), s)

    def href(self, rel: str, anchor: str = "") -> str:
        return f"{self.url}/{rel}.html" + (f"#{anchor}" if anchor else "")

    def find(self, kind: str, label: str) -> str | None:
        """The page (``book/...``) that holds equation/figure/target ``label``."""
        for md in notebooks(self.root) + sorted((self.root / "book").rglob("*.md")):
            rel = md.relative_to(self.root).with_suffix("").as_posix()
            if label in self.page(rel)[kind]:
                return rel
        return None


def _glue_cells(code: list[str]) -> list[tuple[int, re.Pattern]]:
    """(1-based code cell number, pattern of the names it glues) for each ``glue(...)`` /
    ``figure(fig, ...)`` call whose name is a literal, an f-string or a sum of both."""
    out = []
    call = re.compile(r"\b(?:glue|figure)\(\s*(?:\w+\s*,\s*)?(?=[\"'f\w])")
    for k, src in enumerate(code, 1):
        for m in call.finditer(src):
            arg = re.match(r"((?:f?\"[^\"\n]*\"|f?'[^'\n]*'|\w+)(?:\s*\+\s*(?:f?\"[^\"\n]*\"|"
                           r"f?'[^'\n]*'|\w+))*)", src[m.end():])
            if arg is None:
                continue
            pat = ""
            for part in re.findall(r"f?\"[^\"\n]*\"|f?'[^'\n]*'|\w+", arg.group(1)):
                if part[0] in "\"'" or part[:2] in ('f"', "f'"):
                    lit = part[2:-1] if part[0] == "f" else part[1:-1]
                    pieces = re.split(r"\{[^{}]*\}", lit) if part[0] == "f" else [lit]
                    pat += ".+".join(re.escape(p) for p in pieces)
                else:
                    pat += ".+"
            if pat.strip(".+"):
                out.append((k, re.compile(pat + r"(?:-caption)?")))
    return out


def _readable(cells: list, md: Path, book: _BookIndex) -> list:
    """``cells`` (a notebook's, in order) with MyST in their markdown replaced by plain
    markdown for a reader on Colab or Jupyter (see :func:`sync_ipynb`)."""
    rel = md.resolve().relative_to(book.root).with_suffix("").as_posix()
    here = book.page(rel)
    folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
    code = [c.source for c in cells if c.cell_type == "code"]
    glued = _glue_cells(code)
    bib_href = book.href("book/bibliography")

    def where(name: str, before: int) -> str:
        """Where ``name`` is computed, seen from a markdown cell after code cell ``before``:
        the last code cell at or above it that glues the name, else the first below."""
        hits = [k for k, pat in glued if pat.fullmatch(name)] + [
            k for k, src in enumerate(code, 1) if re.search(r"\b(?:glue|figure)\(", src)
            and (f'"{name}"' in src or f"'{name}'" in src)]
        k = max((h for h in hits if h <= before), default=None) or min(hits, default=None)
        if k is None:
            return "the code above" if before else "the code below"
        return f"code cell {k}"

    def split(text: str) -> tuple[str | None, str]:
        m = re.fullmatch(r"(.*?)\s*<([^<>]+)>", text.strip(), flags=re.S)
        return (m.group(1), m.group(2).strip()) if m else (None, text.strip())

    def resolve(target: str) -> str:
        target = target.removesuffix(".md").removesuffix(".ipynb")
        if target.startswith("/"):
            return target.lstrip("/")
        parts = (folder.split("/") if folder else []) + target.split("/")
        out: list[str] = []
        for p in parts:
            if p == "..":
                out = out[:-1]
            elif p not in ("", "."):
                out.append(p)
        return "/".join(out)

    def cite(keys: str, textual: bool) -> str:
        items = []
        for key in (k.strip() for k in keys.split(",") if k.strip()):
            who, year = book.bib.get(key, key), book.bib.get(key + "@year", "")
            items.append(f"[{who} ({year})]({bib_href})" if textual
                         else f"[{who}, {year}]({bib_href})")
        return "; ".join(items) if textual else "(" + "; ".join(items) + ")"

    def role(m: re.Match, before: int) -> str:
        name, text = m.group("role"), m.group("text")
        kind = name.split(":")[0]
        if name.startswith("glue"):
            return f"⟨`{text.strip()}`, {where(text.strip(), before)}⟩"
        if kind == "cite":
            sub = name.split(":", 1)[1] if ":" in name else "p"
            return cite(text, textual=sub.lstrip("c").startswith("t"))
        if kind == "doc":
            label, target = split(text)
            page = resolve(target)
            return f"[{label or book.page(page)['title']}]({book.href(page)})"
        if kind == "eq":
            label = text.strip()
            if label in here["eqs"]:
                return f"({here['eqs'][label]})"
            page = book.find("eqs", label)
            return (f"[({book.page(page)['eqs'][label]})]({book.href(page, 'equation-' + label)})"
                    if page else f"({label})")
        if kind in ("numref", "ref"):
            label, target = split(text)
            for what, word in (("figs", "Figure"), ("targets", None)):
                if target in here[what]:
                    n = here[what][target] if what == "figs" else None
                    shown = (label.replace("%s", str(n)) if label and n
                             else label or f"{word} {n}" if n else label or target)
                    return shown if n else f"[{shown}]({book.href(rel, target)})"
                page = book.find(what, target)
                if page:
                    n = book.page(page)[what][target] if what == "figs" else None
                    shown = (label.replace("%s", str(n)) if label and n
                             else label or (f"{word} {n}" if n else book.page(page)["title"]))
                    return f"[{shown}]({book.href(page, target)})"
            return label or target
        if kind == "math":
            return f"${text}$"
        return f"`{text}`" if kind in ("code", "file", "command", "kbd", "samp") else text

    def convert(text: str, before: int) -> str:
        def tag(m: re.Match) -> str:
            n = here["eqs"].get(m.group("label"))
            return (f"\\tag{{{n}}} $$" if n is not None else "$$")

        text = _EQ_LABEL.sub(tag, text)
        text = _TARGET.sub("", text)
        text = re.sub(r"(?m)^%.*\n?", "", text)          # MyST comments
        lines, out, i = text.split("\n"), [], 0
        while i < len(lines):
            m = _DIRECTIVE.match(lines[i])
            if m is None:
                out.append(lines[i])
                i += 1
                continue
            j = i + 1
            while j < len(lines) and lines[j].strip() != m.group("fence"):
                j += 1
            body = lines[i + 1:j]
            opts = {}
            while body and re.match(r"[ \t]*:[\w-]+:", body[0]):
                k, _, v = body.pop(0).strip()[1:].partition(":")
                opts[k] = v.strip()
            while body and not body[0].strip():
                body.pop(0)
            name, arg, ind = m.group("name"), m.group("arg"), m.group("ind")
            inner = convert("\n".join(body), before)
            if name in ("glue:figure", "glue:any", "glue", "glue:math", "glue:md"):
                n = here["figs"].get(opts.get("name", ""), None)
                fig = f"Figure {n}" if n else "The figure"
                out.append(f"{ind}*{fig} (above): the plot and its caption are the output "
                           f"of {where(arg, before)}.*")
            elif name in ("figure", "image"):
                out.append(f"{ind}![{opts.get('alt', '')}]({arg})")
                if inner.strip():
                    out.append(f"{ind}*{inner.strip()}*")
            elif name == "math":
                out.append(f"{ind}$$\n{inner}\n{ind}$$")
            elif name in _ADMONITIONS:
                title = arg if name == "admonition" else (arg or name.capitalize())
                quoted = [f"{ind}> **{title}.**", f"{ind}>"] + [
                    f"{ind}> {ln}".rstrip() for ln in inner.split("\n")]
                out.extend(quoted)
            else:   # an unknown directive: its content as plain text
                out.extend(inner.split("\n"))
            i = j + 1
        text = "\n".join(out)
        return _ROLE.sub(lambda m: role(m, before), text)

    before, first = 0, None
    glues = any(_ROLE.match(m.group(0)) and m.group("role").startswith("glue")
                for c in cells if c.cell_type == "markdown" for m in _ROLE.finditer(c.source))
    for c in cells:
        if c.cell_type == "code":
            before += 1
        elif c.cell_type == "markdown":
            c.source = convert(c.source, before)
            first = c if first is None else first
    if first is not None:   # say once where the page, and the numbers of its text, are
        note = (f"> The Colab copy of [this page of the book]({book.href(rel)}), where the "
                "figures and the numbers of the text are shown as built.")
        if glues:
            note += (" Here a number quoted in the text reads ⟨`name`, code cell K⟩: code "
                     "cell K computes it.")
        first.source = first.source.rstrip("\n") + "\n\n" + note
    return cells


def twin_cells(md: Path, text: str | None = None, book: _BookIndex | None = None) -> list:
    """The cells of ``md``'s twin: its code cells as they are, its markdown made readable
    (:func:`sync_ipynb`); ``text`` is the notebook's text (default: the file's)."""
    import jupytext

    nb = jupytext.read(md) if text is None else jupytext.reads(text, fmt=md.suffix[1:])
    return _readable(nb.cells, md, book or _BookIndex(_book_root(md)))


def twin_in_sync(md: Path) -> bool:
    """Whether ``md``'s twin on disk has exactly the cells :func:`sync_ipynb` writes."""
    return twin(md).exists() and _twin_text(md) is None


def _twin_text(md: Path, text: str | None = None, book: _BookIndex | None = None) -> str | None:
    """The ``.ipynb`` twin of the notebook ``md`` (whose text is ``text``, default: the
    file's) without outputs, its markdown made readable (:func:`sync_ipynb`), as text; None
    when the twin on disk already has these cells.

    A twin whose cells already match is left alone, so a re-run does not churn the
    committed files with new random cell ids; a twin that cannot be read (corrupt, not a
    notebook) is rewritten.
    """
    import jupytext

    nb = jupytext.read(md) if text is None else jupytext.reads(text, fmt=md.suffix[1:])
    nb.cells = _readable(nb.cells, md, book or _BookIndex(_book_root(md)))
    tw = twin(md)
    if tw.exists():  # unchanged sources: keep the file (and its cell ids) as it is
        try:
            old = jupytext.read(tw)
        except Exception:  # noqa: BLE001 - nbformat/json errors of a damaged twin: rewrite it
            old = None
        if old is not None and ([(c.cell_type, c.source) for c in old.cells]
                                == [(c.cell_type, c.source) for c in nb.cells]):
            return None
        if old is not None and ([c.cell_type for c in old.cells]
                                == [c.cell_type for c in nb.cells]):
            for cell, was in zip(nb.cells, old.cells, strict=True):   # same cells: no id churn
                if was.get("id"):
                    cell["id"] = was["id"]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("jupytext", None)
    nb.metadata["colab"] = {"provenance": []}
    out = jupytext.writes(nb, fmt="ipynb")
    return out if out.endswith("\n") else out + "\n"


def sync_ipynb(root: Path | None = None) -> list[Path]:
    """Write each notebook's ``.ipynb`` twin without outputs; return the paths written.

    The twin is what a reader opens on Colab, where nothing renders MyST, so its markdown
    cells hold plain markdown (:func:`myst_leftovers` finds none): citations become
    author–year text linked to the bibliography page; ``{doc}``, ``{ref}``, ``{numref}`` and
    ``{eq}`` become text or links into the rendered book (:func:`book_url`); a glued value
    becomes ``⟨`name`: computed in code cell K above⟩``; a glued figure a line saying which
    code cell draws it (without myst-nb, ``fl.notebook.figure`` shows the plot and its
    caption there); equation labels become ``\\tag{N}``; admonitions become block quotes.
    Code cells are copied as they are.

    A twin whose cells already match is left alone, so a re-run does not churn the
    committed files with new random cell ids. Each twin is written atomically
    (:func:`freqlearn.store.write_text`).
    """
    from . import store

    root = Path(root) if root is not None else _root()
    book = _BookIndex(root)
    written = []
    for md in notebooks(root):
        text = _twin_text(md, book=book)
        if text is not None:
            store.write_text(twin(md), text)
            written.append(twin(md))
    return written


def repository_url(root: Path | None = None) -> str:
    """The repository that ``_config.yml`` names (``repository.url``): the one setting."""
    import yaml

    root = root or _root()
    return yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"]


def _install_match(md: Path) -> re.Match | None:
    import jupytext

    code = [c for c in jupytext.read(md).cells if c.cell_type == "code"]
    return _INSTALL.search(code[0].source) if code else None


def install_url(md: Path) -> str | None:
    """The repository a notebook's first code cell installs ``freqlearn`` from on Colab."""
    m = _install_match(md)
    return m.group(2) if m else None


def install_tag(md: Path) -> str | None:
    """The release tag (or branch) that the install cell of ``md`` pins; None if none."""
    m = _install_match(md)
    return m.group(3) if m else None


#: the opening of a MyST code cell, its option lines and the blank line after them
_CODE_CELL = re.compile(r"^(?P<fence>`{3,})\{code-cell\}[^\n]*\n(?:[ \t]*:[\w-]+:[^\n]*\n)*"
                        r"(?:[ \t]*\n)?", re.M)


def _with_install_cell(md: Path, src: str, cell: str) -> str:
    """The notebook text ``src`` of ``md`` with its first code cell's source replaced by
    ``cell`` (its fence and options kept); ``RuntimeError`` when that cell is not a Colab
    install cell (``google.colab`` and ``"freqlearn @ git+https://github.com/...``)."""
    m = _CODE_CELL.search(src)
    end = None if m is None else re.compile(rf"^{m.group('fence')}[ \t\r]*$", re.M).search(
        src, m.end())
    body = "" if end is None else src[m.end():end.start()]
    if end is None or "google.colab" not in body or not _INSTALL.search(body):
        raise RuntimeError(f"{md}: no Colab install cell naming the repository (nothing "
                           "was written)")
    nl = "\r\n" if "\r\n" in src else "\n"       # the file's line endings are kept
    return src[:m.end()] + cell.replace("\n", nl) + nl + src[end.start():]


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


def set_repo(url: str, root: Path | None = None, tag: str | None = None) -> list[Path]:
    """Point the book at ``url`` and its release ``tag`` (default :func:`release_tag`,
    ``v`` + the package version): ``_config.yml`` (``repository.url`` only), every
    notebook's Colab install cell, rewritten whole from :data:`INSTALL_CELL` so that it
    installs ``freqlearn @ git+URL@TAG``, and the ``.ipynb`` twins; return the files written.

    Every file is checked and its new text computed first; only when all of them can be
    rewritten (``_config.yml`` has exactly one ``repository.url``, every notebook of the
    table of contents starts with its install cell) are they written, each atomically
    (:func:`freqlearn.store.write_text`). A ``RuntimeError`` naming the file leaves the
    book as it was.
    """
    from . import store

    if not isinstance(url, str) or not REPO_URL.fullmatch(url):
        raise ValueError(f"url must look like https://github.com/OWNER/NAME; got {url!r}")
    root = Path(root) if root is not None else _root()
    cell = install_cell(url, release_tag(root) if tag is None else tag)
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
        new = _with_install_cell(md, src, cell)
        new_md[md] = new
        if new != src:
            plan.append((md, new))
    book = _BookIndex(root, config=new_cfg)    # the twins link to the new address
    for md in mds:
        tw = _twin_text(md, new_md[md], book=book)
        if tw is not None:
            plan.append((twin(md), tw))
    for path, new in plan:
        store.write_text(path, new)
    return [path for path, _ in plan]


def screenshots(outdir: str | Path, root: Path | None = None) -> list[Path]:
    """Screenshot the built intro, toolkit, scoreboard and two chapter pages (headless
    Chromium; :func:`freqlearn.htmlcheck.screenshots`, which ``make check-html`` runs with
    its assertions)."""
    from freqlearn import htmlcheck

    shots = htmlcheck.screenshots((root or _root()) / "_build" / "html", outdir)
    for png in shots:
        print(png)
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


# ---- the execution cache's key: what the pages depend on besides their code cells ---------
# jupyter-cache (and so myst-nb) finds an executed notebook by a hash of its code cells and
# kernelspec only. The pages also depend on the environment and on files outside the
# notebook; ``execute`` records them in ``_build/.book-key.json`` and, when one of them
# changed, clears the cache and everything built from it, so the build re-executes.

#: files and folders whose content the pages depend on: (name shown, path under the root)
KEY_FILES = (("code", "lib/freqlearn"), ("lock", "constraints.txt"),
             ("records", "records"), ("baseline", "tests/baselines"))
#: what ``execute`` removes when the key changed: the cache and all built from it (the
#: doctrees too: Sphinx re-reads only pages whose source changed, so a kept doctree would
#: keep the old outputs)
BUILT_FROM_CACHE = (".jupyter_cache", "jupyter_execute", ".doctrees", "html", "claims",
                    "benchmarks")


def _key_path(root: Path) -> Path:
    return root / "_build" / ".book-key.json"


def _tree_sha(path: Path) -> str:
    """SHA-256 over the relative names and bytes of the files under ``path`` (or of the file
    ``path``), Python byte code and hidden files excepted; ``"absent"`` when missing."""
    import hashlib

    if not path.exists():
        return "absent"
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix not in (".pyc", ".pyo")
        and not any(part.startswith(".") or part == "__pycache__"
                    for part in p.relative_to(path).parts))
    h = hashlib.sha256()
    for p in files:
        rel = p.relative_to(path).as_posix() if p != path else p.name
        data = p.read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode() + data)
    return h.hexdigest()


def _auto_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cache_key(root: Path | None = None, env=None) -> dict[str, str]:
    """What the book's executed pages depend on besides their code cells, as strings.

    ``preset`` (``BOOK_PRESET``), ``seed`` (``BOOK_SEED``, or the preset's own seed when
    unset, so ``BOOK_SEED=`` and the default seed are one key), ``device``
    (``FREQLEARN_DEVICE``, or ``auto:cuda`` / ``auto:cpu`` as this machine resolves it),
    ``baseline_mode`` (``FREQLEARN_BASELINE``: its warnings appear in the outputs), and
    the SHA-256 of ``code`` (``lib/freqlearn``), ``lock`` (``constraints.txt``),
    ``records`` (``records/``, which pages and the scoreboard read) and ``baseline``
    (``tests/baselines``). ``env`` defaults to ``os.environ``. Invalid values are kept
    as written: the notebooks themselves refuse them.
    """
    from .presets import SEEDS

    root = Path(root) if root is not None else _root()
    env = os.environ if env is None else env
    preset = env.get("BOOK_PRESET", "quick").strip().lower() or "quick"
    seed = env.get("BOOK_SEED", "").strip()
    if not seed:
        seed = str(SEEDS.get(preset, ""))
    elif seed.isascii() and seed.isdigit():
        seed = str(int(seed))
    device = env.get("FREQLEARN_DEVICE", "").strip().lower() or f"auto:{_auto_device()}"
    key = {"preset": preset, "seed": seed, "device": device,
           "baseline_mode": env.get("FREQLEARN_BASELINE", "").strip().lower() or "warn"}
    for name, rel in KEY_FILES:
        key[name] = _tree_sha(root / rel)
    return key


def key_changes(old: dict | None, new: dict) -> list[str]:
    """What differs between the key ``old`` (None: none recorded) and ``new``, in words;
    empty when the cache was built for ``new``."""
    if old is None:
        return ["no record of what the cache was built for"]
    out, files = [], dict(KEY_FILES)
    for k in list(new) + sorted(set(old) - set(new)):
        a, b = old.get(k), new.get(k)
        if a == b:
            continue
        if k in files:
            out.append(f"{k} ({files[k]}) changed")
        else:
            out.append(f"{k} {a if a is not None else '(unset)'} -> "
                       f"{b if b is not None else '(unset)'}")
    return out


def refresh_cache(root: Path | None = None, env=None) -> list[str]:
    """Clear the execution cache (and all built from it) when it was built for another
    :func:`cache_key`, then record the current key; return what changed (empty: kept).

    A build without a recorded key (none yet, or an unreadable one) is cleared only when
    something was built: a fresh checkout just records the key.
    """
    import json
    import shutil

    from . import store

    root = Path(root) if root is not None else _root()
    build = root / "_build"
    new = cache_key(root, env)
    path = _key_path(root)
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        old = old if isinstance(old, dict) else None
    except (OSError, ValueError):
        old = None
    changes = key_changes(old, new)
    built = [build / d for d in BUILT_FROM_CACHE if (build / d).exists()]
    if changes and (old is not None or built):
        print(f"execute: the cache was built for another setup ({'; '.join(changes)}): "
              f"clearing {', '.join('_build/' + p.name for p in built) or 'nothing'}",
              flush=True)
        for p in built:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    else:
        changes = []
    store.write_json(path, new, sort_keys=True)
    return changes


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

    First :func:`refresh_cache`: a cache built for another preset, seed, device, package
    code, lock, records or baseline is cleared (saying what changed), so every page is
    re-executed for this one. A key that changes while the notebooks run (an edit to
    ``lib/freqlearn`` meanwhile) is forgotten, so the next build re-executes.
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
    refresh_cache(root)
    key = cache_key(root)
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
    moved = key_changes(key, cache_key(root))
    if moved:  # e.g. lib/freqlearn edited while the notebooks ran: distrust this cache
        _key_path(root).unlink(missing_ok=True)
        print(f"execute: {'; '.join(moved)} while the notebooks ran: the next build "
              "re-executes them", flush=True)
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
    if argv[:1] == ["set-repo"] and len(argv) in (2, 4) and (len(argv) == 2
                                                           or argv[2] == "--tag"):
        for p in set_repo(argv[1], tag=argv[3] if len(argv) == 4 else None):
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
    print("usage: python -m freqlearn.booktools sync-ipynb | screenshots DIR | "
          "set-repo URL [--tag TAG] | "
          "execute [-j N] [PATH...]", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
