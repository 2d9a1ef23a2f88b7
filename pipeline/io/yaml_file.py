"""Reading a YAML config file safely (``yaml.safe_load`` only) with one-line errors that name the file, the place of
a syntax error and the fix.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.yaml"; _ = p.write_text("epochs: 3\\n")
    >>> read_yaml(p, "training config")
    {'epochs': 3}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfus.pipeline.errors import TfusInputError

__all__ = ["read_yaml"]


def read_yaml(path: str | Path, what: str = "config") -> Any:
    """The parsed content of the YAML file ``path`` (``what`` names it in errors).

    Raises:
        TfusInputError: a missing or unreadable file, or invalid YAML (with line and column).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise TfusInputError(f"{what} {path} not found; give a YAML file")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise TfusInputError(f"{path}: invalid YAML{where}: {getattr(err, 'problem', None) or err}; fix the "
                             "syntax") from None
    except (OSError, UnicodeDecodeError) as err:
        raise TfusInputError(f"cannot read {what} {path}: {err}") from None
