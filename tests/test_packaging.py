"""The four code folders (and data/) install as subpackages of the `tfus` namespace; nothing is left out."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = {"pipeline": "tfus.pipeline", "surrogates": "tfus.surrogates", "kernels": "tfus.kernels",
        "workflows": "tfus.workflows", "data": "tfus.data"}


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _python_packages(folder: str) -> list[str]:
    """Every folder under ``folder`` holding Python files, as a dotted tfus name."""
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.parent.relative_to(ROOT / folder)
        name = ".".join((CODE[folder], *rel.parts))
        if name not in out:
            out.append(name)
    return out


def test_top_level_layout_is_fixed():
    allowed = {"pyproject.toml", "pipeline", "surrogates", "kernels", "workflows", "data", "tests", "README.md",
               "LICENSE"}
    tracked = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")}
    tracked -= {p.name for p in ROOT.iterdir() if p.name.endswith(".egg-info") or p.name in {"build", "dist"}}
    assert tracked <= allowed, f"unexpected top-level entries: {sorted(tracked - allowed)}"


def test_every_code_folder_is_mapped_in_package_dir():
    mapping = _setuptools()["package-dir"]
    for folder, package in CODE.items():
        assert mapping.get(package) == folder, f"{folder}/ is not mapped to {package} in pyproject.toml"


@pytest.mark.parametrize("folder", sorted(CODE))
def test_every_subpackage_is_listed(folder):
    listed = set(_setuptools()["packages"])
    missing = [name for name in _python_packages(folder) if name not in listed]
    assert not missing, f"packages missing from pyproject.toml [tool.setuptools] packages: {missing}"


def test_no_tfus_init_namespace():
    spec = importlib.util.find_spec("tfus")
    assert spec is not None and spec.origin in (None, "namespace"), "tfus must be a PEP 420 namespace package"


@pytest.mark.parametrize("package", sorted(CODE.values()))
def test_subpackages_import(package):
    importlib.import_module(package)


def test_version_comes_from_metadata():
    from importlib import metadata

    from tfus.pipeline import __version__

    assert __version__ == metadata.version("tfus")


def test_imports_point_one_way():
    """pipeline and kernels import neither workflows nor surrogates; surrogates do not import workflows."""
    forbidden = {"pipeline": ("tfus.workflows", "tfus.surrogates", "dask"), "kernels": ("tfus.workflows",
                 "tfus.surrogates"), "surrogates": ("tfus.workflows", "dask")}
    bad = []
    for folder, names in forbidden.items():
        for path in (ROOT / folder).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                stripped = line.strip()
                if stripped.startswith(("import ", "from ")) and any(
                        stripped.split()[1] == n or stripped.split()[1].startswith(n + ".") for n in names):
                    bad.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert not bad, "imports against the layering: " + "; ".join(bad)
