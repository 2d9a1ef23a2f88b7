"""Where built heads and caches go: the env variables first, the source tree for an editable checkout, else the
user's folders (so a regular ``pip install`` works end to end)."""

from __future__ import annotations

import platformdirs

from tfus.pipeline import resources


def test_env_variables_win(monkeypatch, tmp_path):
    monkeypatch.setenv("TFUS_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("TFUS_CACHE_DIR", str(tmp_path / "c"))
    assert resources.built_data_dir() == tmp_path / "d"
    assert resources.cache_dir() == tmp_path / "c"


def test_source_tree_keeps_built_heads_beside_the_data(monkeypatch, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname='tfus'\n")
    (tmp_path / "data").mkdir()
    monkeypatch.delenv("TFUS_DATA_DIR", raising=False)
    monkeypatch.setattr(resources, "data_root", lambda: tmp_path / "data")
    assert resources.built_data_dir() == tmp_path / "data" / "heads" / "built"


def test_installed_package_uses_the_user_data_folder(monkeypatch, tmp_path):
    # site-packages/tfus/data: no pyproject.toml beside it
    (tmp_path / "tfus" / "data").mkdir(parents=True)
    monkeypatch.delenv("TFUS_DATA_DIR", raising=False)
    monkeypatch.delenv("TFUS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(resources, "data_root", lambda: tmp_path / "tfus" / "data")
    assert resources.built_data_dir() == tmp_path / "share" / "tfus" / "heads"
    assert resources.cache_dir() == tmp_path / "cache" / "tfus"
    assert resources.built_data_dir().parent == type(resources.built_data_dir())(platformdirs.user_data_dir("tfus"))


def test_read_only_checkout_is_not_a_source_tree(monkeypatch, tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(resources.os, "access", lambda path, mode: False)
    assert not resources.is_source_tree(tmp_path / "data")


def test_bundled_heads_lists_built_volumes(monkeypatch, tmp_path):
    monkeypatch.setenv("TFUS_DATA_DIR", str(tmp_path))
    assert "cranium_ct" not in resources.bundled_heads()
    (tmp_path / "cranium_ct.nii.gz").write_bytes(b"")
    assert resources.bundled_heads()["cranium_ct"] == tmp_path / "cranium_ct.nii.gz"
