"""Neural networks of the surrogates, laid out like MONAI: ``layers`` (single operations), ``blocks`` (layers
combined), ``nets`` (whole models). Every layer takes ``spatial_dims`` so the same code runs on 2D and 3D grids."""
