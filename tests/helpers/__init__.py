"""Helpers shared across test folders (synthetic stores, heads, images, datasets) and the fixtures plugin
:mod:`tests.helpers.inference_fixtures`, registered by the root ``tests/conftest.py``.

Import them as a package, e.g. ``from tests.helpers.synthetic_store import build_store``: the repository root is on
``sys.path`` through pytest's ``pythonpath`` option (pyproject.toml), and test modules are imported with
``--import-mode=importlib`` (no test folder is put on ``sys.path``, so basenames may repeat across folders).
"""
