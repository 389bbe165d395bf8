"""Argument checks shared by the modules of :mod:`freqlearn.data` (issue 14, item 5).

Every public function of the package checks what it is given before it draws a random
number or allocates memory, so a bad argument gives a ``TypeError`` or ``ValueError`` that
names the parameter, what was expected and what was got — never a numpy, torch or MKL error
from deep inside, and never a silently truncated float or a negative index. The checks only
look at their arguments; valid inputs are passed through unchanged (the random draws of a
valid call are the same as before the checks existed).

Rules common to the package:

- sizes, counts, classes and seeds are integers: Python or NumPy integers (and 0-d integer
  tensors); ``bool``, floats (even ``2.0``) and strings are refused;
- a request for zero samples returns a correctly shaped empty result;
- real parameters are refused when NaN (and when infinite, unless the limit is meaningful);
- a call whose arrays would need more than :data:`MAX_BYTES` is refused up front with the
  size it would need.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

#: Largest allocation (bytes) a data function accepts: 8 GiB. Larger requests are refused
#: up front, naming the size they would need, instead of swapping or being killed.
MAX_BYTES = 8 * 2**30


def _got(value) -> str:
    return f"{value!r} ({type(value).__name__})"


def cpu_generator(generator, name: str = "generator", *, who: str = "the draws are made"):
    """``None`` or a CPU ``torch.Generator`` (``who``: why it must be on the CPU)."""
    import torch

    if generator is None:
        return None
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator or None; got {_got(generator)}")
    if generator.device.type != "cpu":
        raise ValueError(f"{name} must be a CPU torch.Generator ({who} on the CPU); got one "
                         f"on {generator.device}")
    return generator


def integer(value, name: str, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """``value`` as an ``int``; ``TypeError`` for non-integers, ``ValueError`` out of range."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, not a bool; got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {_got(value)}") from None
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be an integer ≤ {maximum}; got {v}")
    return v


def optional_integer(value, name: str, *, minimum: int | None = None) -> int | None:
    """``None`` or :func:`integer`."""
    return None if value is None else integer(value, name, minimum=minimum)


def real(value, name: str, *, minimum: float | None = None, strict: bool = False,
         allow_inf: bool = False) -> float:
    """``value`` as a float: a real number, not NaN, finite unless ``allow_inf``.

    ``minimum`` is inclusive (exclusive with ``strict``).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0 and \
                np.issubdtype(np.asarray(value).dtype, np.number) and \
                not np.iscomplexobj(value):
            value = np.asarray(value).item()
        else:
            raise TypeError(f"{name} must be a real number; got {_got(value)}")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{name} must be a number; got NaN")
    if math.isinf(v) and not allow_inf:
        raise ValueError(f"{name} must be finite; got {v}")
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '≥'} {minimum}; got {v}")
    return v


def boolean(value, name: str) -> bool:
    """``value`` as a ``bool``; anything but ``True``/``False`` (or NumPy bools) is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {_got(value)}")
    return bool(value)


def one_of(value, name: str, options) -> None:
    """``ValueError`` unless ``value`` is one of ``options`` (compared as strings)."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; "
                         f"got {_got(value)}")


def shape(value, name: str) -> tuple[int, ...]:
    """A batch shape: a non-negative integer or a sequence of them."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an integer or a tuple of integers; got {_got(value)}")
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (numbers.Integral,
                                                                    np.integer)):
        return (integer(value, name, minimum=0),)
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer or a tuple of integers; "
                        f"got {_got(value)}") from None
    return tuple(integer(s, f"{name}[{i}]", minimum=0) for i, s in enumerate(items))


def real_array(value, name: str, *, ndim: tuple[int, ...] | None = None,
               finite: bool = True) -> np.ndarray:
    """``value`` as a float64 array: real numbers (not strings, objects or complex)."""
    a = np.asarray(value)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer)
                               or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers; got dtype {a.dtype}")
    if ndim is not None and a.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {want}; got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {a.shape}")
    if finite and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must hold finite numbers; got NaN or ±inf")
    return a.astype(float, copy=False)


def fits(nbytes: float, what: str) -> None:
    """``ValueError`` when ``what`` would need more than :data:`MAX_BYTES`."""
    if nbytes > MAX_BYTES:
        raise ValueError(f"{what} would need {nbytes / 2**30:.3g} GiB, more than the "
                         f"{MAX_BYTES / 2**30:g} GiB that freqlearn.data accepts "
                         f"(freqlearn.data._checks.MAX_BYTES); ask for less")
