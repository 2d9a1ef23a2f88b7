"""The dispatch point: which implementation an operator takes, and the ``TFUS_KERNELS`` override."""

from __future__ import annotations

import pytest
import torch

from tfus.kernels.dispatch import backend_for, interpreter_enabled, triton_available
from tfus.pipeline.errors import TfusInputError

needs_triton = pytest.mark.skipif(not triton_available(), reason="triton is not installed (pip install triton)")


@pytest.fixture
def cpu_tensor() -> torch.Tensor:
    return torch.zeros(2)


@pytest.mark.parametrize("value", [None, "", "auto", "AUTO", "  auto  "])
def test_cpu_tensors_take_the_reference(monkeypatch, cpu_tensor, value):
    if value is None:
        monkeypatch.delenv("TFUS_KERNELS", raising=False)
    else:
        monkeypatch.setenv("TFUS_KERNELS", value)
    assert backend_for(cpu_tensor, None, cpu_tensor) == "reference"


def test_no_tensors_take_the_reference(monkeypatch):
    monkeypatch.delenv("TFUS_KERNELS", raising=False)
    assert backend_for() == "reference"
    assert backend_for(None) == "reference"


@pytest.mark.parametrize("value", ["reference", "Reference", " REFERENCE "])
def test_reference_override(monkeypatch, cpu_tensor, value):
    monkeypatch.setenv("TFUS_KERNELS", value)
    assert backend_for(cpu_tensor) == "reference"


@pytest.mark.parametrize("value", ["cuda", "trition", "1", "pytorch"])
def test_unknown_value_is_a_user_error(monkeypatch, cpu_tensor, value):
    monkeypatch.setenv("TFUS_KERNELS", value)
    with pytest.raises(TfusInputError, match="TFUS_KERNELS"):
        backend_for(cpu_tensor)


@needs_triton
def test_triton_on_cpu_needs_the_interpreter(monkeypatch, cpu_tensor):
    monkeypatch.setenv("TFUS_KERNELS", "triton")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    assert not interpreter_enabled()
    with pytest.raises(TfusInputError, match="TRITON_INTERPRET"):
        backend_for(cpu_tensor)
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert interpreter_enabled()
    assert backend_for(cpu_tensor, None) == "triton"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_take_triton(monkeypatch):
    monkeypatch.delenv("TFUS_KERNELS", raising=False)
    on_gpu = torch.zeros(2, device="cuda")
    assert backend_for(on_gpu, None) == ("triton" if triton_available() else "reference")
    assert backend_for(on_gpu, torch.zeros(2)) == "reference", "mixed devices take the reference"
    monkeypatch.setenv("TFUS_KERNELS", "reference")
    assert backend_for(on_gpu) == "reference"
