"""Orchestration: Dask graphs, cluster backends, the ``tfus`` command line and the demo."""
