"""``tfus.pipeline.head`` re-exports its public names (the same objects as in the modules that define them)."""

from __future__ import annotations

import importlib

import tfus.pipeline.head as head


def test_every_public_name_is_exported_from_its_module():
    assert len(set(head.__all__)) == len(head.__all__)
    for name in head.__all__:
        obj = getattr(head, name)
        module = importlib.import_module(getattr(obj, "__module__", None) or "tfus.pipeline.head")
        assert module.__name__.startswith("tfus.pipeline.head"), name


def test_package_names_are_the_module_objects():
    from tfus.pipeline.head.labels import Label
    from tfus.pipeline.head.model import HeadModel
    from tfus.pipeline.head.phantom import ellipsoid_head

    assert head.Label is Label and head.HeadModel is HeadModel and head.ellipsoid_head is ellipsoid_head
    phantom = head.ellipsoid_head(spacing_mm=4.0)
    assert isinstance(phantom, head.HeadModel) and head.bone_mask(phantom.labels).any()
