"""Closed forms and ODEs of the papers (DESIGN.md §1 ``theory/``), one module per paper.

Each submodule is imported here automatically: ``fl.theory.pinson``, ``fl.theory.ingrosso``…
"""

import importlib as _importlib
import pkgutil as _pkgutil

for _m in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_m.name}")
