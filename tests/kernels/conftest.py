"""Kernel tests: Triton runs on CUDA when there is a GPU, else through Triton's CPU interpreter.

``TRITON_INTERPRET=1`` must be set before a Triton kernel is *defined* (``@triton.jit`` reads it), so it is set here,
at conftest import, before any test imports :mod:`tfus.kernels.triton_kernels` (the public ops import those modules only
when a Triton call is dispatched).
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest
import torch

if not torch.cuda.is_available():
    os.environ["TRITON_INTERPRET"] = "1"

HAS_TRITON = importlib.util.find_spec("triton") is not None
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
_KERNEL_MODULES = ("tfus.kernels.triton_kernels.depthwise3d", "tfus.kernels.triton_kernels._sep4d_kernels")


def _defined_for_gpu(module_name: str) -> bool:
    """Whether ``module_name`` is already imported with compiled (not interpreted) kernels."""
    module = sys.modules.get(module_name)
    if module is None:
        return False
    from triton.runtime.jit import JITFunction

    return any(isinstance(value, JITFunction) for value in vars(module).values())


@pytest.fixture
def triton_backend(monkeypatch):
    """Force the Triton backend (``TFUS_KERNELS=triton``) and exact fp32 convolutions (no TF32) on both sides.

    Returns the device to put tensors on.
    """
    if not HAS_TRITON:
        pytest.skip("triton is not installed: pip install 'tfus[kernels]' (or triton) to test the Triton kernels")
    if DEVICE == "cpu" and any(_defined_for_gpu(name) for name in _KERNEL_MODULES):
        pytest.skip("Triton kernels were defined before TRITON_INTERPRET=1 was set: run tests/kernels on its own")
    monkeypatch.setenv("TFUS_KERNELS", "triton")
    # saved and restored by hand: these are properties of torch's backend modules, which pytest >= 9.2's
    # monkeypatch (it looks attributes up statically) cannot restore
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield DEVICE
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def rel_err(actual: torch.Tensor, expected: torch.Tensor, scale: torch.Tensor | None = None) -> float:
    """Max abs difference relative to the max magnitude of ``scale`` (default ``expected``), in float64.

    For sums, pass as ``scale`` the same sums of absolute values (the operator applied to ``|inputs|``): rounding error
    is bounded relative to that, and it stays meaningful when a result cancels to near zero (e.g. a bias gradient).
    """
    expected = expected.detach().double()
    ref = expected if scale is None else scale.detach().double()
    denom = ref.abs().max().item() or 1.0
    return (actual.detach().double() - expected).abs().max().item() / denom


@pytest.fixture
def assert_rel_close():
    """``check(actual, expected, tol, what, scale=None)``: shapes equal and :func:`rel_err` <= ``tol``."""

    def check(actual: torch.Tensor, expected: torch.Tensor, tol: float, what: str = "",
              scale: torch.Tensor | None = None) -> None:
        assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
        err = rel_err(actual, expected, scale)
        assert err <= tol, f"{what}: relative error {err:.3g} > {tol:.3g}"

    return check


@pytest.fixture
def op_log():
    """A context manager recording every operator dispatched inside it (``str`` names, e.g. ``tfus.sep4d_conv``)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Log(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.names: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.names.append(str(func.overloadpacket))
            return func(*args, **(kwargs or {}))

    return _Log
