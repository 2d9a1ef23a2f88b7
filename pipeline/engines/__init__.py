"""Wave engines: k-Wave (pseudospectral) and finite elements, sharing the medium, source and steady-state field."""
