"""The interactive slice viewer of the planning report: NiiVue bundled inline, volumes embedded as base64 NIfTI.

NiiVue 0.69.0 (BSD-2-Clause, npm ``@niivue/niivue``, ``dist/niivue.umd.js``) ships with tfus xz-compressed in
``data/viewer/`` (0.6 MB; provenance and licence in ``data/README.md`` and ``data/viewer/LICENSE-niivue.txt``); the
report inlines the decompressed script (2.3 MB), so the page needs no network. Volumes are stored as gzipped NIfTI-1
``uint8`` with ``scl_slope`` / ``scl_inter`` carrying the physical unit (HU, kPa, deg C): 256 levels are plenty for
display and keep a whole head at 1 mm to about a megabyte. Grids larger than ``max_dim`` voxels along an axis are
subsampled by an integer stride (the affine follows).

Example:
    >>> import numpy as np
    >>> b64 = nifti_base64(np.arange(8.0).reshape(2, 2, 2), np.eye(4), 0.0, 7.0)
    >>> import base64, gzip, nibabel as nib
    >>> img = nib.Nifti1Image.from_bytes(gzip.decompress(base64.b64decode(b64)))
    >>> img.get_data_dtype(), round(float(np.asarray(img.dataobj)[1, 1, 1]), 4)
    (dtype('uint8'), 7.0)
"""

from __future__ import annotations

import base64
import gzip
import lzma
from functools import lru_cache

import numpy as np

__all__ = ["NIIVUE_VERSION", "niivue_script", "nifti_base64", "viewer_volumes"]

NIIVUE_VERSION = "0.69.0"
_BUNDLE = f"niivue-{NIIVUE_VERSION}.umd.js.xz"


@lru_cache(maxsize=1)
def niivue_script() -> str:
    """NiiVue's UMD bundle (defines the global ``niivue``), decompressed from the bundled file.

    Raises:
        TfusInputError: the bundled file is missing (a broken install).
    """
    from tfus.pipeline.errors import TfusInputError
    from tfus.pipeline.resources import data_path

    path = data_path("viewer", _BUNDLE)
    if not path.is_file():
        raise TfusInputError(f"the bundled NiiVue viewer {path} is missing; reinstall tfus")
    return lzma.decompress(path.read_bytes()).decode("utf-8").replace("</script", "<\\/script")


def nifti_base64(data: np.ndarray, affine: np.ndarray, vmin: float, vmax: float) -> str:
    """``data`` as a gzipped NIfTI-1 ``uint8`` (``value = raw * slope + vmin``, clipped to [vmin, vmax]), base64."""
    import nibabel as nib

    span = max(float(vmax) - float(vmin), 1e-12)
    raw = np.clip(np.rint((np.asarray(data, float) - vmin) / span * 255.0), 0, 255).astype(np.uint8)
    img = nib.Nifti1Image(raw, np.asarray(affine, float))
    img.header.set_slope_inter(span / 255.0, float(vmin))
    img.header.set_xyzt_units("mm")
    return base64.b64encode(gzip.compress(img.to_bytes(), compresslevel=6, mtime=0)).decode("ascii")


def viewer_volumes(hu: np.ndarray, pressure_pa: np.ndarray, rise_c: np.ndarray, affine: np.ndarray,
                   max_dim: int = 160) -> dict:
    """The three volumes of the viewer (head HU, pressure in kPa, temperature rise in deg C) as base64 NIfTI, with
    their display ranges; the voxel of the pressure peak as fractions of the grid (the viewer's first crosshair)."""
    stride = max(1, int(np.ceil(max(np.shape(hu)) / max_dim)))
    sl = (slice(None, None, stride),) * 3
    a = np.asarray(affine, float).copy()
    a[:3, :3] *= stride
    p_kpa = np.asarray(pressure_pa, float)[sl] / 1e3
    rise = np.asarray(rise_c, float)[sl]
    peak = np.unravel_index(int(np.argmax(p_kpa)), p_kpa.shape)
    return {
        "stride": stride,
        "crosshair": [(i + 0.5) / n for i, n in zip(peak, p_kpa.shape)],
        "head": {"b64": nifti_base64(np.asarray(hu)[sl], a, -1000.0, 2000.0), "min": -200.0, "max": 1800.0},
        "pressure": {"b64": nifti_base64(p_kpa, a, 0.0, max(float(p_kpa.max()), 1e-6)),
                     "min": 0.1 * float(p_kpa.max()), "max": max(float(p_kpa.max()), 1e-6)},
        "temperature": {"b64": nifti_base64(rise, a, 0.0, max(float(rise.max()), 1e-6)),
                        "min": 0.05 * float(rise.max()), "max": max(float(rise.max()), 1e-6)},
    }
