"""The import-layer contract of pyproject.toml ``[tool.importlinter]`` (workflows -> surrogates -> kernels -> pipeline,
never the reverse) holds, and the import graph it is checked on covers every module of the code folders (a folder
without ``__init__.py`` would silently drop out of the analysis)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"

importlinter_cli = pytest.importorskip("importlinter.cli",
                                      reason="import-linter is not installed: pip install -e '.[dev]'")


def _config() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def _modules_on_disk(package: str, folder: Path) -> set[str]:
    """Dotted names of every ``.py`` file under ``folder`` when ``folder`` is installed as ``package``."""
    names = set()
    for path in folder.rglob("*.py"):
        parts = path.relative_to(folder).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.add(".".join((package, *parts)))
    return names


def test_layers_contract_is_kept():
    status = importlinter_cli.lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    assert status == importlinter_cli.EXIT_STATUS_SUCCESS, "import-layer contract broken: run .venv/bin/lint-imports"


def test_contract_names_the_four_code_packages_in_order():
    contracts = _config()["tool"]["importlinter"]["contracts"]
    layers = [c["layers"] for c in contracts if c["type"] == "layers"]
    assert ["tfus.workflows", "tfus.surrogates", "tfus.kernels", "tfus.pipeline"] in layers


def test_import_graph_covers_every_module():
    import grimp

    config = _config()
    roots = config["tool"]["importlinter"]["root_packages"]
    package_dir = config["tool"]["setuptools"]["package-dir"]
    assert set(roots) == set(package_dir), "every mapped code folder must be a root of the import-layer check"
    graph = grimp.build_graph(*roots, cache_dir=None)
    on_disk = set().union(*(_modules_on_disk(root, ROOT / package_dir[root]) for root in roots))
    missing = sorted(on_disk - graph.modules)
    assert not missing, f"modules the import-layer check does not see (a folder without __init__.py?): {missing}"
