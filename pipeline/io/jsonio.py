"""One JSON writer: NumPy scalars and arrays become JSON numbers and lists (not strings), files are written atomically.

Example:
    >>> import numpy as np
    >>> dumps_json({"mean": np.float32(0.5), "shape": np.array([2, 3])}, indent=None)
    '{"mean": 0.5, "shape": [2, 3]}\\n'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tfus.pipeline.io.atomic import atomic_write_text

__all__ = ["dumps_json", "json_default", "write_json"]


def json_default(obj: Any) -> Any:
    """``json.dumps`` fallback: NumPy scalars -> Python numbers, arrays -> lists, paths and the rest -> ``str``.

    Example:
        >>> import numpy as np
        >>> json_default(np.int64(3))
        3
    """
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def dumps_json(obj: Any, indent: int | None = 2, sort_keys: bool = False) -> str:
    """``obj`` as JSON text ending in a newline (see :func:`json_default` for NumPy values).

    Example:
        >>> dumps_json([1, 2], indent=None)
        '[1, 2]\\n'
    """
    return json.dumps(obj, indent=indent, sort_keys=sort_keys, default=json_default) + "\n"


def write_json(path: str | Path, obj: Any, indent: int | None = 2, sort_keys: bool = False) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (temp file, then rename); returns ``path``.

    Example:
        >>> import tempfile, pathlib
        >>> p = write_json(pathlib.Path(tempfile.mkdtemp()) / "r.json", {"a": 1})
        >>> p.read_text()
        '{\\n  "a": 1\\n}\\n'
    """
    path = Path(path)
    atomic_write_text(path, dumps_json(obj, indent=indent, sort_keys=sort_keys))
    return path
