"""The one dispatch point of :mod:`tfus.kernels`: which implementation runs an operator for given tensors.

Triton kernels run for CUDA tensors (when Triton imports); every other tensor takes the pure-PyTorch reference.
``TFUS_KERNELS`` overrides the choice: ``reference`` (always the reference, e.g. to compare on a GPU) or ``triton``
(always Triton: with ``TRITON_INTERPRET=1`` set before the kernels are defined, Triton's interpreter runs them on CPU
tensors, which is how the tests check them on a machine without a GPU).

Example:
    >>> import torch
    >>> backend_for(torch.zeros(2)) in ("reference", "triton")
    True
"""

from __future__ import annotations

import functools
import os
from typing import Literal

import torch

from tfus.pipeline.errors import TfusInputError

__all__ = ["Backend", "backend_for", "triton_available"]

Backend = Literal["reference", "triton"]
_ENV = "TFUS_KERNELS"


@functools.cache
def triton_available() -> bool:
    """Whether ``import triton`` works here (CUDA torch builds bring it; CPU builds need ``pip install triton``)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def interpreter_enabled() -> bool:
    """Whether Triton's CPU interpreter is switched on (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def backend_for(*tensors: torch.Tensor | None) -> Backend:
    """The implementation to use for an operator on ``tensors`` (``None`` entries, e.g. a missing bias, are ignored).

    Raises:
        TfusInputError: ``TFUS_KERNELS`` has an unknown value, or asks for Triton where it cannot run.
    """
    forced = os.environ.get(_ENV, "").strip().lower()
    if forced not in ("", "auto", "reference", "triton"):
        raise TfusInputError(f"{_ENV}={forced!r} is not a kernel backend; use auto, reference or triton")
    if forced == "reference":
        return "reference"
    present = [t for t in tensors if t is not None]
    on_cuda = bool(present) and all(t.is_cuda for t in present)
    if forced == "triton":
        if not triton_available():
            raise TfusInputError(f"{_ENV}=triton but triton is not installed; pip install 'tfus[kernels]'")
        if not on_cuda and not interpreter_enabled():
            raise TfusInputError(f"{_ENV}=triton on CPU tensors needs TRITON_INTERPRET=1 set before tfus.kernels "
                                 "is imported")
        return "triton"
    return "triton" if on_cuda and triton_available() else "reference"
