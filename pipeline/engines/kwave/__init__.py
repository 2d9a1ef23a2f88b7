"""k-Wave engine: k-wave-python's native pseudospectral solver with a faster step and CW steady-state extraction, or
a user-supplied k-Wave C++ binary on the same problem (:mod:`.cpp`)."""
