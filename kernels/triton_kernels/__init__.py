"""Triton kernels (forward and backward) of the volumetric operators, registered as ``torch.library`` custom ops
(``torch.ops.tfus.*``) with fake implementations so ``torch.compile`` traces them. Import only where Triton exists;
:mod:`tfus.kernels.dispatch` decides when they run."""
