"""One device type and resolver (tfus.pipeline.device), shared by the k-Wave engine, training and inference."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from tfus.pipeline.device import Device, parse_device, resolve_device, torch_device
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.errors import TfusInputError


@pytest.mark.parametrize(("text", "kind"), [("cpu", Device.CPU), ("GPU", Device.GPU), ("cuda", Device.GPU),
                                            ("cuda:1", Device.GPU), (" auto ", Device.AUTO), (Device.CPU, Device.CPU)])
def test_parse(text, kind):
    assert parse_device(text) is kind


@pytest.mark.parametrize("text", ["tpu", "", "cuda:x", "gpu0"])
def test_unknown_device_is_one_line(text):
    with pytest.raises(TfusInputError, match=r"^unknown device .*; use cpu, gpu or auto$"):
        parse_device(text)


def test_auto_refused_where_not_offered():
    with pytest.raises(TfusInputError, match="unknown device 'auto'; use cpu or gpu"):
        parse_device("auto", allow_auto=False)
    with pytest.raises(TfusInputError, match="unknown device 'auto'; use cpu or gpu"):
        KWaveConfig(device="auto")
    assert KWaveConfig(device="CUDA").device == "gpu"


def test_resolve_and_torch_device():
    assert resolve_device("cpu") is Device.CPU
    assert resolve_device("auto") is (Device.GPU if torch.cuda.is_available() else Device.CPU)
    assert torch_device("cpu") == torch.device("cpu")
    assert torch_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is missing")
def test_gpu_without_cuda_is_one_line():
    for text in ("gpu", "cuda:0", Device.GPU):
        with pytest.raises(TfusInputError, match=r"no CUDA device .*use --device cpu$"):
            resolve_device(text)
    with pytest.raises(TfusInputError, match="no CUDA device"):
        torch_device("gpu")


def test_importing_does_not_import_torch():
    code = "import sys, tfus.pipeline.device; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
