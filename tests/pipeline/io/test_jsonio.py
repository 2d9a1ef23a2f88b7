"""The one JSON writer: NumPy values stay numbers, files appear only complete."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tfus.pipeline.io import dumps_json, write_json


def test_numpy_values_are_numbers_not_strings():
    text = dumps_json({"a": np.float32(0.25), "n": np.int64(3), "v": np.arange(3), "ok": np.bool_(True),
                       "p": Path("x/y")})
    assert json.loads(text) == {"a": 0.25, "n": 3, "v": [0, 1, 2], "ok": True, "p": "x/y"}
    assert text.endswith("\n")


def test_write_json_is_atomic(tmp_path):
    out = write_json(tmp_path / "sub" / "r.json", {"x": np.float64(1.5)})
    assert json.loads(out.read_text()) == {"x": 1.5}
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(ValueError, match="Circular"):
        write_json(out, loop)  # fails while encoding: the earlier file stays whole, no temp file is left
    assert json.loads(out.read_text()) == {"x": 1.5}
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]
