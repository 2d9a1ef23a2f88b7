"""The one place the networks create a convolution: :func:`make_conv` reads a ``conv_spec`` string and builds the
layer, so a new kind of convolution (e.g. a rank-R compressed one, ``"cp:4"``) plugs in everywhere with
:func:`register_conv` and one config flag, without touching the networks.

A spec is ``NAME`` or ``NAME:ARG`` (``ARG`` is handed to the builder as a string; a kind registered with
``check_arg`` has it checked already by :func:`parse_conv_spec`, i.e. when a model config is validated). Built in:
``dense`` (MONAI's ``Conv`` factory, i.e. ``nn.Conv1d/2d/3d``) and ``cp:R`` (rank-R compressed,
:mod:`~tfus.surrogates.networks.layers.compressed_conv`, registered when this package is imported). Odd kernels are
padded to keep the size ("same"); with stride ``s`` an axis of ``n`` voxels becomes ``ceil(n / s)``.

Example:
    >>> conv = make_conv(3, 4, 8, kernel_size=3, stride=2)
    >>> import torch; conv(torch.zeros(1, 4, 8, 8, 8)).shape
    torch.Size([1, 8, 4, 4, 4])
    >>> parse_conv_spec("dense")
    ('dense', None)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from monai.networks.layers.factories import Conv
from torch import nn

from tfus.pipeline.errors import TfusInputError

__all__ = ["ConvBuilder", "conv_spec_names", "make_conv", "parse_conv_spec", "register_conv"]

#: ``builder(spatial_dims, in_channels, out_channels, kernel_size, stride, padding, bias, arg) -> nn.Module``
ConvBuilder = Callable[[int, int, int, tuple[int, ...], tuple[int, ...], tuple[int, ...], bool, "str | None"],
                       nn.Module]
_BUILDERS: dict[str, ConvBuilder] = {}
_ARG_CHECKS: dict[str, Callable[[str | None], None]] = {}


def register_conv(name: str, check_arg: Callable[[str | None], None] | None = None
                  ) -> Callable[[ConvBuilder], ConvBuilder]:
    """Decorator registering a convolution builder under ``name`` (used as ``conv_spec`` ``name`` or ``name:arg``).

    ``check_arg(arg)``, if given, raises :class:`TfusInputError` for a bad ``arg``; :func:`parse_conv_spec` calls it,
    so a config naming e.g. ``cp:0`` is refused when it is validated, before any network is built.

    Example:
        >>> @register_conv("dense-nobias")
        ... def _build(dims, cin, cout, k, s, p, bias, arg):
        ...     return make_conv(dims, cin, cout, k, s, bias=False)
        >>> make_conv(2, 1, 2, conv_spec="dense-nobias").bias is None
        True
    """

    def wrap(builder: ConvBuilder) -> ConvBuilder:
        _BUILDERS[name] = builder
        if check_arg is not None:
            _ARG_CHECKS[name] = check_arg
        return builder

    return wrap


def conv_spec_names() -> list[str]:
    """Names of the registered convolution kinds."""
    return sorted(_BUILDERS)


def parse_conv_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"name:arg"`` into ``(name, arg)``; unknown names and args refused by the kind's ``check_arg`` are a
    :class:`TfusInputError`."""
    if not isinstance(spec, str) or not spec.strip():
        raise TfusInputError(f"conv spec must be a string such as 'dense' or 'cp:4', got {spec!r}")
    name, _, arg = spec.strip().partition(":")
    if name not in _BUILDERS:
        raise TfusInputError(f"unknown conv spec {spec!r}; use one of: {', '.join(conv_spec_names())}")
    if name in _ARG_CHECKS:
        _ARG_CHECKS[name](arg or None)
    return name, (arg or None)


def _tuple(value: int | Sequence[int], n: int, what: str) -> tuple[int, ...]:
    out = (int(value),) * n if isinstance(value, int) else tuple(int(v) for v in value)
    if len(out) != n or min(out) < 1:
        raise TfusInputError(f"{what} {value!r} must be one positive int or {n} of them")
    return out


def make_conv(spatial_dims: int, in_channels: int, out_channels: int, kernel_size: int | Sequence[int] = 3,
              stride: int | Sequence[int] = 1, conv_spec: str = "dense", bias: bool = True) -> nn.Module:
    """Build a size-keeping ("same"-padded, odd kernel) convolution of the kind named by ``conv_spec``.

    Args:
        spatial_dims: 1, 2 or 3.
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd kernel size, one per axis or one for all.
        stride: stride, one per axis or one for all.
        conv_spec: ``"dense"`` or a registered ``"name[:arg]"``.
        bias: add a learned bias.

    Returns:
        A module mapping ``(B, in_channels, *S)`` to ``(B, out_channels, *ceil(S / stride))``.

    Example:
        >>> make_conv(2, 3, 5, kernel_size=1).weight.shape
        torch.Size([5, 3, 1, 1])
    """
    if spatial_dims not in (1, 2, 3):
        raise TfusInputError(f"spatial_dims must be 1, 2 or 3, got {spatial_dims}")
    kernel = _tuple(kernel_size, spatial_dims, "kernel_size")
    if any(k % 2 == 0 for k in kernel):
        raise TfusInputError(f"kernel_size {kernel_size!r} must be odd to keep the grid aligned")
    strides = _tuple(stride, spatial_dims, "stride")
    padding = tuple(k // 2 for k in kernel)
    name, arg = parse_conv_spec(conv_spec)
    return _BUILDERS[name](spatial_dims, int(in_channels), int(out_channels), kernel, strides, padding, bool(bias), arg)


@register_conv("dense")
def _dense(spatial_dims: int, in_channels: int, out_channels: int, kernel: tuple[int, ...], stride: tuple[int, ...],
           padding: tuple[int, ...], bias: bool, arg: str | None) -> nn.Module:
    if arg is not None:
        raise TfusInputError(f"conv spec 'dense' takes no argument, got 'dense:{arg}'")
    return Conv[Conv.CONV, spatial_dims](in_channels, out_channels, kernel, stride=stride, padding=padding, bias=bias)
