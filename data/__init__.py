"""Bundled data: transducer presets, dataset configs, small head volumes and setup scripts (see README.md here)."""
