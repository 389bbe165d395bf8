"""freqlearn — the shared code of the book *How CNNs learn in the frequency domain*.

Every chapter imports this package as ``fl``::

    import freqlearn as fl

Modules (each docstring names the book sections it serves):

- :mod:`freqlearn.fourier`  — vec-2D DFT matrix ``Q``, ``dbc``, FFT convolution, radial
  profiles, image power spectra, patch PCA (toolkit chapter; P, G, C).
- :mod:`freqlearn.claims`   — the claims check that ends every notebook, and the scoreboard.
- :mod:`freqlearn.presets`  — ``quick`` / ``paper`` presets, seeds, device choice.
- :mod:`freqlearn.train`    — the training loop with an explicit step budget, recorders,
  batched trials, checkpoint/resume.
- :mod:`freqlearn.data`     — synthetic data, the CIFAR loader and the offline
  natural-image stand-in.
- :mod:`freqlearn.nets`, :mod:`freqlearn.theory`, :mod:`freqlearn.experiments` — models,
  closed forms and experiment runners, a module per paper (theory never imports the
  training loop).
- :mod:`freqlearn.notebook` — the notebooks' first cell, glue and captioned figures.
- :mod:`freqlearn.plots`    — the book's figure conventions (bands for spread over trials,
  dashed theory lines, captions).
- :mod:`freqlearn.sensitivity` — frequency sensitivity of a trained net (Godfrey SI C.2).
- :mod:`freqlearn.sweep`    — sweeps of independent points through a local, Dask or SLURM
  executor, skipping finished points (Godfrey chapter, paper preset).
"""

from . import (
    claims,
    data,
    experiments,
    fourier,
    nets,
    notebook,
    plots,
    presets,
    sensitivity,
    sweep,
    theory,
    train,
)

__all__ = ["claims", "data", "experiments", "fourier", "nets", "notebook", "plots", "presets",
           "sensitivity", "sweep", "theory", "train"]
__version__ = "0.1.0"
