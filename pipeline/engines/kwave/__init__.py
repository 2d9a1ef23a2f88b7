"""k-Wave engine: k-wave-python's native pseudospectral solver with a faster step and CW steady-state extraction."""
