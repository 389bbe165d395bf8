"""The experiment runners of all chapters (DESIGN.md §1 ``experiments/``), one module per paper.

A runner puts data, a model of :mod:`freqlearn.nets` and the training loop of
:mod:`freqlearn.train` together and returns plain arrays (trials on axis 0) for a notebook
to plot and check; models stay in ``nets`` and closed forms in ``theory``.

Each submodule is imported here automatically, so chapters use ``fl.experiments.<module>``:

- ``fl.experiments.pinson``   — pure cosines, sums of cosines, shapes, paper-scale cost (P3–P7)
- ``fl.experiments.ingrosso`` — online NLGP/GP committees, finite data, CP factors (I2–I6)
"""

import importlib as _importlib
import pkgutil as _pkgutil

__all__ = []
for _m in _pkgutil.iter_modules(__path__):
    if not _m.name.startswith("_"):
        _importlib.import_module(f"{__name__}.{_m.name}")
        __all__.append(_m.name)
