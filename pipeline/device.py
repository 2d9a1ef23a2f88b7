"""Where computation runs: one device type and one resolver for the k-Wave engine, training and inference.

A device is written ``cpu``, ``gpu`` or ``auto`` (``cuda`` and ``cuda:N`` are accepted for ``gpu``). Torch and CuPy are
imported only when a GPU is asked for, so importing this module is instant.

Example:
    >>> from tfus.pipeline.device import Device, parse_device
    >>> parse_device("CUDA") is Device.GPU
    True
    >>> parse_device("tpu")
    Traceback (most recent call last):
    ...
    tfus.pipeline.errors.TfusInputError: unknown device 'tpu'; use cpu, gpu or auto
"""

from __future__ import annotations

from enum import StrEnum

from tfus.pipeline.errors import TfusInputError

__all__ = ["Device", "DeviceChoice", "parse_device", "resolve_device", "torch_device"]


class Device(StrEnum):
    """Kinds of device: ``cpu``, ``gpu`` or ``auto`` (``gpu`` when CUDA is visible, else ``cpu``)."""

    CPU = "cpu"
    GPU = "gpu"
    AUTO = "auto"


class DeviceChoice(StrEnum):
    """The concrete devices a CLI option offers (``auto`` is offered only where it makes sense)."""

    CPU = "cpu"
    GPU = "gpu"


def _choices(allow_auto: bool) -> str:
    return "cpu, gpu or auto" if allow_auto else "cpu or gpu"


def parse_device(text: str | Device | object, *, allow_auto: bool = True) -> Device:
    """Read a device name without checking the hardware; a one-line :class:`TfusInputError` for anything else.

    Args:
        text: ``cpu``, ``gpu``, ``auto``, ``cuda`` or ``cuda:N`` (any case), a :class:`Device`, or a ``torch.device``.
        allow_auto: whether ``auto`` is accepted.

    Example:
        >>> parse_device("cuda:1")
        <Device.GPU: 'gpu'>
    """
    if isinstance(text, Device):
        kind = text
    else:
        name = str(getattr(text, "value", text)).strip().lower()
        if name in ("gpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit()):
            kind = Device.GPU
        elif name in ("cpu", "auto"):
            kind = Device(name)
        else:
            raise TfusInputError(f"unknown device {str(getattr(text, 'value', text))!r}; use {_choices(allow_auto)}")
    if kind is Device.AUTO and not allow_auto:
        raise TfusInputError(f"unknown device 'auto'; use {_choices(False)}")
    return kind


def _cuda_missing(text: str) -> TfusInputError:
    import torch

    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
    return TfusInputError(f"--device {text}: no CUDA device is available (torch {torch.__version__}, {build}); "
                          "use --device cpu")


def resolve_device(text: str | Device | object, *, allow_auto: bool = True) -> Device:
    """Parse ``text`` and check the hardware: ``auto`` becomes ``cpu`` or ``gpu``; ``gpu`` without CUDA is an error.

    Returns ``Device.CPU`` or ``Device.GPU``.

    Example:
        >>> resolve_device("cpu")
        <Device.CPU: 'cpu'>
    """
    kind = parse_device(text, allow_auto=allow_auto)
    if kind is Device.CPU:
        return kind
    import torch

    if torch.cuda.is_available():
        return Device.GPU
    if kind is Device.AUTO:
        return Device.CPU
    raise _cuda_missing(str(getattr(text, "value", text)))


def torch_device(device: str | Device | object, index: int | None = None) -> object:
    """The ``torch.device`` of ``device`` (``cuda:N`` keeps its index; ``index`` overrides it), checked first.

    Example:
        >>> torch_device("cpu")
        device(type='cpu')
    """
    import torch

    kind = resolve_device(device)
    if kind is Device.CPU:
        return torch.device("cpu")
    name = str(getattr(device, "value", device)).strip().lower()
    if index is None and name.startswith("cuda:"):
        index = int(name.split(":", 1)[1])
    if index is None and isinstance(device, torch.device):
        index = device.index
    return torch.device("cuda", index) if index is not None else torch.device("cuda")
