"""Learned surrogates of the wave simulation: models, losses, metrics, training and inference (no Dask)."""
