"""``make check-html`` can fail (issue 25, item 4): a broken link or anchor, a page wider
than the window, an image that did not load and a verdict cell that cannot be read are
each reported. The browser checks need Debian's Chromium and skip without it."""

from __future__ import annotations

import shutil

import pytest

from freqlearn import htmlcheck


def test_contrast_matches_wcag():
    assert htmlcheck.contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert htmlcheck.contrast((255, 255, 255), (255, 255, 255)) == pytest.approx(1.0)
    # the book's dark PASS cell, and the light-grey-on-pale cell the review saw
    assert htmlcheck.contrast((216, 245, 224), (18, 57, 31)) > htmlcheck.MIN_CONTRAST
    assert htmlcheck.contrast((200, 200, 200), (230, 244, 234)) < htmlcheck.MIN_CONTRAST


def _site(tmp_path, body: str):
    (tmp_path / "index.html").write_text(
        '<html><body><a href="book/a.html#here">a</a></body></html>')
    book = tmp_path / "book"
    book.mkdir(exist_ok=True)
    (book / "a.html").write_text(f'<html><head></head><body>{body}</body></html>')
    return tmp_path


def test_links_and_anchors(tmp_path):
    site = _site(tmp_path, '<p id="here">x</p><a href="../index.html">up</a>'
                           '<a href="https://example.org/x">out</a>')
    assert htmlcheck.broken_links(site) == []
    site = _site(tmp_path, '<p id="elsewhere">x</p><a href="b.html">gone</a>'
                           '<img src="fig.png">')
    broken = htmlcheck.broken_links(site)
    assert "index.html: book/a.html#here (no anchor)" in broken
    assert "book/a.html: b.html" in broken and "book/a.html: fig.png" in broken


def test_page_failures_are_reported():
    m = {"width": 800, "scrollWidth": 1100, "wide": ["table.wide"],
         "images": [{"src": "ok.png", "ok": True}, {"src": "gone.png", "ok": False}],
         "cells": {"light": [{"cls": "verdict-pass", "text": "PASS", "fg": [11, 61, 26],
                              "bg": [230, 244, 234]}],
                   "dark": [{"cls": "verdict-pass", "text": "PASS 4/4",
                             "fg": [200, 200, 200], "bg": [230, 244, 234]}]}}
    fails = htmlcheck._page_failures("book/s.html", m)
    assert any("1100 px wide" in f and "table.wide" in f for f in fails)
    assert any("gone.png" in f for f in fails)
    assert any("(dark)" in f and "PASS 4/4" in f for f in fails)
    assert not any("(light)" in f for f in fails)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_browser_probe_sees_width_images_and_dark_cells(tmp_path):
    css = ('td.verdict-pass{background:#e6f4ea;color:#0b3d1a}'
           'html[data-theme="dark"] td.verdict-pass{background:#e6f4ea;color:#cccccc}')
    site = _site(tmp_path, f'<style>{css}</style><div style="width:2000px">wide</div>'
                           '<img src="missing.png"><table><tr>'
                           '<td class="verdict-pass">PASS</td></tr></table>')
    m = htmlcheck.page_metrics(site / "book" / "a.html", 800)
    assert m["scrollWidth"] >= 2000 and m["width"] == 800
    assert m["images"] == [{"src": "missing.png", "ok": False}]
    fails = htmlcheck._page_failures("a", m)
    assert any("(dark)" in f for f in fails) and not any("(light)" in f for f in fails)
    assert not list((site / "book").glob(".htmlcheck-*"))   # the probe copy is removed
