"""User-facing errors and the one formatter of config validation errors.

Every problem a user can fix (bad file, wrong modality, a transducer that does not fit) is raised as
:class:`TfusInputError` with a one-line message that names the problem and the fix. The CLI prints that line and exits
non-zero without a traceback; library users catch the exception.

Example:
    >>> from tfus.pipeline.errors import TfusInputError
    >>> try:
    ...     raise TfusInputError("image is 2D; pass a 3D volume")
    ... except TfusInputError as err:
    ...     print(err)
    image is 2D; pass a 3D volume
"""

from __future__ import annotations

from typing import Any

__all__ = ["TfusInputError", "dataclass_from_mapping", "validation_message"]


class TfusInputError(ValueError):
    """A problem with user input; the message is one line: what is wrong and how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def validation_message(err, model: type, *, where: str = "", root: str = "config", unknown: str = "unknown key",
                       limit: int | None = None, show_input: bool = True, hidden: tuple[str, ...] = ()) -> str:
    """A pydantic ``ValidationError`` of ``model`` as one line for :class:`TfusInputError` (the one formatter of every
    config: training, dataset, cluster, model configs, k-Wave and FE settings).

    Unknown keys come first and name the keys allowed where they were found; other problems read
    ``<where>.<key>: <message> (got <value>)``.

    Args:
        err: the ``pydantic.ValidationError``.
        model: the pydantic model validated (for the allowed keys, also of nested models).
        where: prefix of every location (a file name, ``model``); empty for none.
        root: the location named when the problem is the whole config (and ``where`` is empty).
        unknown: the words before an unknown key (``unknown training config key``).
        limit: report at most this many problems (None: all), joined by ``; ``.
        show_input: append ``(got <value>)`` to type errors.
        hidden: keys never listed as allowed.

    Example:
        >>> from pydantic import BaseModel, ConfigDict, ValidationError
        >>> class Grid(BaseModel):
        ...     model_config = ConfigDict(extra="forbid")
        ...     n: int = 8
        >>> try:
        ...     Grid.model_validate({"m": 3})
        ... except ValidationError as err:
        ...     print(validation_message(err, Grid, where="grid.yaml"))
        grid.yaml: unknown key 'm'; allowed keys: n
    """
    errors = err.errors()
    extra = [item for item in errors if item["type"] == "extra_forbidden"]
    messages = []
    for item in (extra or errors)[:limit]:
        loc = tuple(item["loc"])
        if item["type"] == "extra_forbidden":
            path = ".".join([where, *map(str, loc[:-1])] if where else map(str, loc[:-1]))
            allowed = [k for k in _allowed_keys(model, loc[:-1]) if k not in hidden]
            messages.append(f"{path + ': ' if path else ''}{unknown} {str(loc[-1])!r}; allowed keys: "
                            f"{', '.join(allowed)}")
            continue
        key = ".".join(map(str, loc))
        msg = item["msg"].removeprefix("Value error, ")
        if key and msg.startswith(key):
            messages.append(msg)
            continue
        target = ".".join(p for p in (where, key) if p) or root
        shown = (show_input and key and not item["type"].startswith("value_error") and item["type"] != "missing")
        messages.append(f"{target}: {msg}" + (f" (got {item.get('input')!r})" if shown else ""))
    return " ".join("; ".join(messages).split())


def _allowed_keys(model: type, loc: tuple) -> list[str]:
    """The field names of the (nested) model at ``loc``; [] where that is not a pydantic model."""
    from pydantic import BaseModel

    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return []
        ann = info.annotation
        args = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else (args[0] if args else None)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def dataclass_from_mapping(cls: type, data: Any, *, where: str, hidden: tuple[str, ...] = ()) -> Any:
    """Build the frozen settings dataclass ``cls`` (``KWaveConfig``, ``FemConfig``) from a parsed YAML mapping, with
    the same one-line messages as :func:`validation_message`: unknown keys name the allowed ones; the class's own
    checks (``__post_init__``) raise :class:`TfusInputError`, which gets ``where`` in front.

    Args:
        cls: a dataclass.
        data: the mapping (None: defaults).
        where: the location named in messages (``simulation.kwave``).
        hidden: keys that may not be set from the mapping (and are not listed as allowed).

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Steps:
        ...     n: int = 3
        >>> dataclass_from_mapping(Steps, {"n": 5}, where="steps")
        Steps(n=5)
        >>> dataclass_from_mapping(Steps, {"m": 5}, where="steps")
        Traceback (most recent call last):
        ...
        tfus.pipeline.errors.TfusInputError: steps: unknown key 'm'; allowed keys: n
    """
    import dataclasses
    from collections.abc import Mapping

    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise TfusInputError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    allowed = [f.name for f in dataclasses.fields(cls) if f.init and f.name not in hidden]
    for key in data:
        if key not in allowed:
            raise TfusInputError(f"{where}: unknown key {str(key)!r}; allowed keys: {', '.join(allowed)}")
    try:
        return cls(**data)
    except TfusInputError as err:
        raise TfusInputError(f"{where}: {err}") from None
    except TypeError as err:  # a value of the wrong type met a comparison in the checks
        raise TfusInputError(f"{where}: {err}") from None
