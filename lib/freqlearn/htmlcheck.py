"""Check the built HTML book as a reader would see it (``make check-html``).

``python -m freqlearn.htmlcheck [HTML_DIR] [--out DIR]`` asserts, on the pages of
``_build/html``:

- **links**: every internal ``href``/``src`` (a file of the build, with its ``#anchor``
  where it names one) exists. Read from the HTML files themselves, no browser needed
  (:func:`broken_links`);
- **width**: no page is wider than the window. Each page is opened in headless Chromium
  (Debian's package) at :data:`WIDTHS`; a small script
  compares ``document.documentElement.scrollWidth`` with ``window.innerWidth`` and names
  the elements that stick out (:func:`measure_pages`);
- **images**: every ``<img>`` loaded (``complete`` and ``naturalWidth > 0``);
- **verdict colours**: on the scoreboard and the intro, every verdict cell's text has a
  WCAG contrast ratio of at least :data:`MIN_CONTRAST` (4.5, the AA level for body text)
  against its background, in the theme's light and in its dark mode
  (``html[data-theme]``, as the theme's switch sets it).

The browser checks open every page, at each width, in an iframe of a harness page served
from ``127.0.0.1`` (one Chromium for the whole book).

It also takes the screenshots (light, and dark for the scoreboard and the intro) into
``--out``, and writes ``report.json`` there. Exit status 1 when an assertion fails.
"""

from __future__ import annotations

import contextlib
import functools
import html as _html
import http.server
import json
import re
import socketserver
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from freqlearn import store

__all__ = ["WIDTHS", "MIN_CONTRAST", "contrast", "broken_links", "measure_pages",
           "page_metrics",
           "check_html", "screenshots", "main"]

#: window widths (CSS pixels) at which no page may be wider than the window: a laptop
#: and a narrow desktop window (the theme collapses its side bars below ~960 px)
WIDTHS = (1280, 800)
#: WCAG 2 AA contrast for normal text
MIN_CONTRAST = 4.5
#: pages screenshotted (light; the scoreboard and intro also dark)
SHOTS = {"intro": "book/intro.html", "toolkit": "book/toolkit/fourier.html",
         "scoreboard": "book/scoreboard.html",
         "pinson-cosines": "book/pinson2023/cosines.html",
         "ingrosso-localisation": "book/ingrosso-goldt2022/localisation.html"}
DARK = ("intro", "scoreboard")

_CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


# ---- contrast -----------------------------------------------------------------------
def _luminance(rgb) -> float:
    def lin(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg, bg) -> float:
    """WCAG 2 contrast ratio of two sRGB colours given as (r, g, b) in 0–255."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# ---- links ----------------------------------------------------------------------------
class _Refs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src"):
            if a.get(key) and not (tag == "link" and a.get("rel") in ("preconnect",)):
                self.refs.append(a[key])


def _parse(path: Path) -> _Refs:
    p = _Refs()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


def broken_links(html_dir: str | Path) -> list[str]:
    """Internal links of the build that point at a missing file or anchor:
    ``"page.html: target"`` for each."""
    html_dir = Path(html_dir).resolve()
    pages = sorted(p for p in html_dir.rglob("*.html")
                   if not {"_sources", "_static"} & set(p.relative_to(html_dir).parts))
    parsed = {p: _parse(p) for p in pages}
    broken = []
    for page, refs in parsed.items():
        for ref in refs.refs:
            u = urlsplit(ref)
            if u.scheme or u.netloc or ref.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page if not u.path else (page.parent / unquote(u.path)).resolve()
            if u.path.endswith("/"):
                target = target / "index.html"
            rel = page.relative_to(html_dir)
            if not target.exists():
                broken.append(f"{rel}: {ref}")
                continue
            frag = unquote(u.fragment)
            if frag and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if frag not in ids:
                    broken.append(f"{rel}: {ref} (no anchor)")
    return broken


# ---- in the browser -------------------------------------------------------------------
#: the measurement, run on each page's window (``w``) once it has loaded
_MEASURE = r"""
function measure(w) {
  const d = w.document, de = d.documentElement, W = w.innerWidth;
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const bg = el => { for (; el; el = el.parentElement) {
      const c = rgb(w.getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c; }
    return [255, 255, 255]; };
  const r = {width: W, scrollWidth: Math.max(de.scrollWidth, d.body.scrollWidth)};
  r.wide = [...d.querySelectorAll('body *')].filter(e => {
      const b = e.getBoundingClientRect();
      return b.width > 0 && b.right > W + 1 &&
        w.getComputedStyle(e).position !== 'fixed'; })
    .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (typeof e.className === 'string' && e.className.trim()
        ? '.' + e.className.trim().split(/\s+/).join('.') : ''));
  r.images = [...d.images].map(i => ({src: i.getAttribute('src'),
    ok: i.complete && i.naturalWidth > 0}));
  r.cells = {};
  const cells = [...d.querySelectorAll('td[class^="verdict-"]')];
  for (const theme of ['light', 'dark']) {
    de.dataset.theme = theme; de.dataset.mode = theme;
    r.cells[theme] = cells.map(c => ({cls: c.className, text: c.textContent.trim(),
      fg: rgb(w.getComputedStyle(c).color), bg: bg(c)}));
  }
  return r;
}
"""
#: the harness: opens every (page, width) in turn in an iframe of that width (the page's
#: media queries see the iframe's width as the window's), measures it, and writes the
#: results into the DOM that Chromium dumps
_HARNESS = """<!DOCTYPE html><html><body><script>{measure}
const jobs = {jobs}; const out = [];
function next() {{
  if (!jobs.length) {{
    const pre = document.createElement('pre'); pre.id = 'freqlearn-htmlcheck';
    pre.textContent = JSON.stringify(out); document.body.appendChild(pre); return; }}
  const [src, width] = jobs.shift();
  const f = document.createElement('iframe');
  f.style.width = width + 'px'; f.style.height = '1200px'; f.style.border = '0';
  f.onload = () => setTimeout(() => {{
    let r; try {{ r = measure(f.contentWindow); }} catch (e) {{ r = {{error: String(e)}}; }}
    r.page = src; r.asked = width; out.push(r); f.remove(); next(); }}, {settle});
  f.src = src; document.body.appendChild(f);
}}
next();
</script></body></html>
"""
_RESULT = re.compile(r'<pre id="freqlearn-htmlcheck">(.*?)</pre>', re.S)


def _chromium(args: list[str], timeout: int = 1800) -> str:
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(_CHROMIUM + [f"--user-data-dir={profile}"] + args,
                             capture_output=True, text=True, timeout=timeout)
    return out.stdout


@contextlib.contextmanager
def _serve(directory: Path):
    """``directory`` served on an ephemeral localhost port (same origin for the harness
    and the pages, so the harness can measure inside its iframes)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as httpd:
        t = threading.Thread(target=httpd.serve_forever, daemon=True)
        t.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def measure_pages(html_dir: str | Path, pages: list[str], widths=WIDTHS,
                  settle_ms: int = 1500) -> list[dict]:
    """Open each of ``pages`` (paths relative to ``html_dir``) at each of ``widths`` CSS
    px in one headless Chromium and return what the probe measured, per (page, width):
    ``page``, ``width`` (the window's), ``scrollWidth``, ``wide`` (elements sticking out),
    ``images`` and the verdict ``cells`` in light and dark mode."""
    html_dir = Path(html_dir).resolve()
    jobs = [[p, w] for p in pages for w in widths]
    harness = html_dir / ".htmlcheck.html"
    store.write_text(harness, _HARNESS.format(measure=_MEASURE, jobs=json.dumps(jobs),
                                              settle=settle_ms))
    budget = (settle_ms + 3000) * len(jobs) + 10000
    try:
        with _serve(html_dir) as url:
            dom = _chromium([f"--virtual-time-budget={budget}", "--window-size=1400,1300",
                             "--dump-dom", f"{url}/.htmlcheck.html"])
    finally:
        harness.unlink(missing_ok=True)
    m = _RESULT.search(dom)
    if not m:
        raise RuntimeError(f"the probe reported nothing (Chromium output: {dom[-300:]!r})")
    res = json.loads(_html.unescape(m.group(1)))
    for r in res:
        if "error" in r:
            raise RuntimeError(f"{r['page']} @ {r['asked']} px: {r['error']}")
    if len(res) != len(jobs):
        raise RuntimeError(f"the probe measured {len(res)} of {len(jobs)} page views "
                           "(Chromium stopped early: raise the budget)")
    return res


def page_metrics(page: str | Path, width: int) -> dict:
    """:func:`measure_pages` for one built HTML file."""
    page = Path(page).resolve()
    return measure_pages(page.parent, [page.name], (width,))[0]


def _page_failures(rel: str, metrics: dict) -> list[str]:
    fails = []
    if metrics["scrollWidth"] > metrics["width"]:
        fails.append(f"{rel} @ {metrics['width']} px: page is {metrics['scrollWidth']} px "
                     f"wide ({', '.join(metrics['wide']) or '?'})")
    for img in metrics["images"]:
        if not img["ok"]:
            fails.append(f"{rel}: image not loaded: {img['src']}")
    for theme, cells in metrics["cells"].items():
        for c in cells:
            ratio = contrast(c["fg"], c["bg"])
            if ratio < MIN_CONTRAST:
                fails.append(f"{rel} ({theme}): {c['cls']} '{c['text'][:30]}' has contrast "
                             f"{ratio:.2f} < {MIN_CONTRAST}")
    return fails


def screenshots(html_dir: str | Path, outdir: str | Path) -> list[Path]:
    """Screenshots of :data:`SHOTS` (and dark ones of :data:`DARK`) into ``outdir``."""
    html_dir, outdir = Path(html_dir), Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    shots = []
    for name, rel in SHOTS.items():
        page = (html_dir / rel).resolve()
        if not page.exists():
            raise FileNotFoundError(f"{page} is missing: build the book first (make book)")
        for dark in (False, True) if name in DARK else (False,):
            png = outdir / f"{name}{'-dark' if dark else ''}.png"
            _chromium((["--force-dark-mode"] if dark else [])
                      + ["--virtual-time-budget=8000", "--window-size=1280,1600",
                         f"--screenshot={png}", page.as_uri()])
            shots.append(png)
    return shots


def check_html(html_dir: str | Path = "_build/html", outdir: str | Path | None = None,
               pages: list[str] | None = None, widths=WIDTHS) -> dict:
    """Run every check on the build in ``html_dir``; return the report (its ``failures``
    list is empty when all hold). ``pages``: paths relative to ``html_dir`` (default: every
    page under ``book/`` and the index)."""
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").exists():
        raise FileNotFoundError(f"{html_dir}/index.html is missing: run `make book` first")
    if pages is None:
        pages = sorted(str(p.relative_to(html_dir)) for p in (html_dir / "book").rglob("*.html")
                       if not p.name.startswith(".htmlcheck-"))
    report = {"links": broken_links(html_dir), "pages": {}, "failures": []}
    report["failures"] += [f"broken link: {b}" for b in report["links"]]
    for m in measure_pages(html_dir, pages, widths):
        rel, w = m["page"], m["width"]
        report["pages"].setdefault(rel, {})[str(m["asked"])] = {
            "scrollWidth": m["scrollWidth"], "wide": m["wide"],
            "images": len(m["images"]), "verdict_cells": len(m["cells"].get("light", []))}
        report["failures"] += _page_failures(rel, m)
        print(f"{rel} @ {w}px: {m['scrollWidth']} px wide, {len(m['images'])} images",
              flush=True)
    if outdir is not None:
        outdir = Path(outdir)
        report["screenshots"] = [str(p) for p in screenshots(html_dir, outdir)]
        store.write_json(outdir / "report.json", report)
    return report


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m freqlearn.htmlcheck",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("html_dir", nargs="?", default="_build/html")
    ap.add_argument("--out", default="_build/screenshots")
    ap.add_argument("--page", action="append", help="only this page (relative to html_dir)")
    a = ap.parse_args(sys.argv[1:] if argv is None else argv)
    report = check_html(a.html_dir, a.out, pages=a.page)
    for f in report["failures"]:
        print("FAIL", f)
    n = len(report["pages"])
    print(f"check-html: {n} pages at {', '.join(map(str, WIDTHS))} px, "
          f"{len(report['failures'])} failure(s); screenshots and report.json in {a.out}")
    return 1 if report["failures"] else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
