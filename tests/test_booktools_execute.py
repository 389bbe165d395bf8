"""``booktools execute``: parallel pre-execution into the cache that ``jupyter-book`` reads."""

from __future__ import annotations

import pytest

from freqlearn import booktools
from mystnb_header import MYST_HEADER

NB = MYST_HEADER + """
# A tiny notebook

```{{code-cell}} ipython3
x = {value}
print(x * 2)
```
"""


def _write(tmp_path, name, value):
    p = tmp_path / f"{name}.md"
    p.write_text(NB.format(value=value))
    return p


def test_execute_caches_what_myst_nb_then_finds(tmp_path):
    from jupyter_cache import get_cache
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.read import create_nb_reader
    from myst_parser.config.main import MdParserConfig

    good = _write(tmp_path, "good", "21")
    bad = _write(tmp_path, "bad", "1 / 0")
    executed, failed = booktools.execute(1, root=tmp_path, timeout=60, paths=[good, bad])
    assert executed == [str(good.resolve())] and failed == [str(bad.resolve())]
    # myst-nb's own reader (as the build uses it) finds the executed notebook, with outputs
    text = good.read_text()
    reader = create_nb_reader(str(good), MdParserConfig(), NbParserConfig(), text)
    cache = get_cache(str(tmp_path / "_build" / ".jupyter_cache"))
    _, merged = cache.merge_match_into_notebook(reader.read(text))
    assert "42" in merged.cells[-1].outputs[0]["text"]
    with pytest.raises(KeyError):  # the failed one was not cached
        cache.match_cache_notebook(reader.read(bad.read_text()))
    # a second run finds the good one cached and retries only the failed one
    assert booktools.execute(1, root=tmp_path, timeout=60, paths=[good]) == ([], [])


@pytest.mark.parametrize("kw, match", [({"jobs": 0}, "jobs"), ({"jobs": 1.5}, "jobs"),
                                       ({"jobs": 1, "timeout": 0}, "timeout")])
def test_execute_checks_its_arguments(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        booktools.execute(root=tmp_path, paths=[], **kw)
