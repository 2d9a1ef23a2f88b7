"""``tfus generate`` refuses bad input with one line and exit code 2, before any simulation, and leaves stores as they
were: invalid YAML, unknown keys, missing images, unknown transducers, a store of another grid or schema, a folder
that is no store, an unreachable scheduler, bad worker counts."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from pathlib import Path

import pytest
import yaml

from tests.helpers.tiny_dataset import write_tiny_dataset


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """The tiny dataset definition (phantom images, bowl, YAML); nothing generated."""
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def made_store(tmp_path_factory, cli) -> tuple[Path, Path]:
    """A complete store of a one-head, one-pose tiny dataset, generated through the CLI once: (yaml, store)."""
    folder = tmp_path_factory.mktemp("made")
    config = write_tiny_dataset(folder, heads=1, per_head=1)
    store = folder / "ds.zarr"
    result = cli("generate", config, "--store", store, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert json.loads(result.stdout)["computed"] == 1
    return config, store


def variant(config: Path, folder: Path, change) -> Path:
    """A copy of the YAML at ``config`` with ``change(dict)`` applied, written in ``folder`` (images stay where the
    original's relative paths point, so the copy names them absolutely)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for head in data["heads"]:
        head["image"] = str(config.parent / head["image"])
    change(data)
    path = folder / "variant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def tree_hash(path: Path) -> dict[str, str]:
    """SHA-256 of every file under ``path`` by relative name."""
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_invalid_yaml_names_the_line(cli, user_error, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nheads: [\n  - {name: a, image: a.nii.gz}\n", encoding="utf-8")
    store = tmp_path / "ds.zarr"
    user_error(cli("generate", bad, "--store", store), "invalid YAML", "line")
    assert not store.exists()


def test_yaml_that_is_not_a_mapping(cli, user_error, tmp_path):
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n- 2\n", encoding="utf-8")
    user_error(cli("generate", bad, "--store", tmp_path / "ds.zarr"), "mapping")


def test_unknown_top_level_key_lists_the_allowed_keys(cli, user_error, tiny, tmp_path):
    config = variant(tiny, tmp_path, lambda d: d.update(colour="red"))
    store = tmp_path / "ds.zarr"
    message = user_error(cli("generate", config, "--store", store), "'colour'", "allowed keys")
    for key in ("heads", "grid", "transducer", "poses", "simulation", "cluster"):
        assert key in message
    assert "base_dir" not in message
    assert not store.exists()


@pytest.mark.parametrize(("section", "key", "allowed"), [
    ("grid", "spacing", ("shape", "spacing_mm")),
    ("poses", "per_heads", ("per_head", "standoff_mm")),
    ("kwave", "pml", ("pml_size", "cfl")),
    ("cluster", "worker", ("workers", "jobs")),
])
def test_unknown_nested_key_lists_the_allowed_keys(cli, user_error, tiny, tmp_path, section, key, allowed):
    def change(d):
        target = d["simulation"]["kwave"] if section == "kwave" else d[section]
        target[key] = 1

    config = variant(tiny, tmp_path, change)
    message = user_error(cli("generate", config, "--store", tmp_path / "ds.zarr"), repr(key), "allowed keys",
                         *allowed)
    assert not (tmp_path / "ds.zarr").exists(), message


def test_unknown_key_in_a_head_entry(cli, user_error, tiny, tmp_path):
    config = variant(tiny, tmp_path, lambda d: d["heads"][0].update(img="x.nii.gz"))
    user_error(cli("generate", config, "--store", tmp_path / "ds.zarr"), "img", "allowed keys", "image", "modality")


def test_wrong_grid_shape_is_one_line(cli, user_error, tiny, tmp_path):
    config = variant(tiny, tmp_path, lambda d: d["grid"].update(shape=[38, 42]))
    user_error(cli("generate", config, "--store", tmp_path / "ds.zarr"), "grid.shape", "three")


def test_missing_head_image(cli, user_error, tiny, tmp_path):
    config = variant(tiny, tmp_path, lambda d: d["heads"][1].update(image=str(tmp_path / "nowhere.nii.gz")))
    store = tmp_path / "ds.zarr"
    user_error(cli("generate", config, "--store", store), "phantom1", "nowhere.nii.gz", "not found")
    assert not store.exists()


def test_unknown_bundled_head(cli, user_error, tiny, tmp_path):
    config = variant(tiny, tmp_path, lambda d: d["heads"][0].update(image="bundled:no_such_head"))
    user_error(cli("generate", config, "--store", tmp_path / "ds.zarr"), "no_such_head", "available")


def test_unknown_transducer(cli, user_error, tiny, tmp_path):
    config = variant(tiny, tmp_path, lambda d: d.update(transducer="no-such-bowl"))
    store = tmp_path / "ds.zarr"
    user_error(cli("generate", config, "--store", store), "no-such-bowl", "itrusst-sc1")
    assert not store.exists()


@pytest.mark.parametrize("option", [("--workers", "0"), ("--jobs", "0"), ("--cluster", "bogus")])
def test_bad_command_line_values(cli, user_error, tiny, tmp_path, option):
    store = tmp_path / "ds.zarr"
    user_error(cli("generate", tiny, "--store", store, *option), option[0])
    assert not store.exists()


def test_unreachable_scheduler_creates_no_store(cli, user_error, tiny, tmp_path):
    config = variant(tiny, tmp_path, lambda d: d.update(cluster={"connect_timeout": 1}))
    store = tmp_path / "ds.zarr"
    port = closed_port()
    user_error(cli("generate", config, "--store", store, "--cluster", f"tcp://127.0.0.1:{port}"),
               "cannot reach", f"127.0.0.1:{port}")
    assert not store.exists()
    assert list(tmp_path.iterdir()) == [config], "something was written beside the store"


def test_store_of_another_grid_is_untouched(cli, user_error, made_store, tmp_path):
    config, store = made_store
    other = variant(config, tmp_path, lambda d: d["grid"].update(shape=[40, 42, 40]))
    before = tree_hash(store)
    user_error(cli("generate", other, "--store", store), "grid_shape", "(40, 42, 40)", "(38, 42, 40)", "--overwrite")
    assert tree_hash(store) == before


def test_store_of_another_schema_is_untouched(cli, user_error, made_store, tmp_path):
    config, store = made_store
    old = tmp_path / "old.zarr"
    shutil.copytree(store, old)
    meta = json.loads((old / "zarr.json").read_text(encoding="utf-8"))
    meta["attributes"]["schema_version"] = "0"
    (old / "zarr.json").write_text(json.dumps(meta), encoding="utf-8")
    before = tree_hash(old)
    user_error(cli("generate", config, "--store", old), "schema_version", "'0'")
    assert tree_hash(old) == before


def test_unreachable_scheduler_leaves_an_existing_store_untouched(cli, user_error, made_store, tmp_path):
    config, store = made_store
    unreachable = variant(config, tmp_path, lambda d: d.update(cluster={"connect_timeout": 1}))
    before = tree_hash(store)
    user_error(cli("generate", unreachable, "--store", store, "--cluster", f"tcp://127.0.0.1:{closed_port()}"),
               "cannot reach")
    assert tree_hash(store) == before


@pytest.mark.parametrize("overwrite", [False, True])
def test_folder_that_is_not_a_store_is_untouched(cli, user_error, tiny, tmp_path, overwrite):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    args = ["--overwrite"] if overwrite else []
    user_error(cli("generate", tiny, "--store", folder, *args), str(folder.name), "not a")
    assert tree_hash(folder) == {"notes.txt": hashlib.sha256(b"keep me").hexdigest()}


def test_zarr_group_that_is_not_a_tfus_store(cli, user_error, tiny, tmp_path):
    import zarr

    folder = tmp_path / "other.zarr"
    zarr.open_group(folder, mode="w").attrs["owner"] = "someone else"
    before = tree_hash(folder)
    user_error(cli("generate", tiny, "--store", folder), "not a tfus store")
    assert tree_hash(folder) == before


def test_store_path_under_a_file(cli, user_error, tiny, tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    user_error(cli("generate", tiny, "--store", tmp_path / "file" / "ds.zarr"), "is a file")
