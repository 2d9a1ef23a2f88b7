"""Volumetric operators: a pure-torch reference for each, Triton kernels beside it, one dispatch point."""
