"""The models of all chapters (DESIGN.md §1 ``nets.py``), one module per paper.

Each submodule is imported here automatically, so chapters use ``fl.nets.<module>``:

- ``fl.nets.pinson``    — two-layer linear CNN/FCNN (Pinson Eq. 8, SI I), deep CNNs (SI K)
- ``fl.nets.committee`` — two-layer committee machine (Ingrosso & Goldt)
"""

import importlib as _importlib
import pkgutil as _pkgutil

for _m in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_m.name}")
