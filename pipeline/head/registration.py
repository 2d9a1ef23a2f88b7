"""Affine registration of the bundled MNI152 T1 template (with skull) to a subject T1 with SimpleITK, used to carry
the template's brain mask onto the subject.

Example:
    >>> from tfus.pipeline.head.registration import load_template
    >>> t1, brain, affine = load_template()
    >>> t1.shape == brain.shape
    True
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.resources import data_path

TEMPLATE_T1 = "mni152_t1_2mm.nii.gz"
TEMPLATE_BRAIN = "mni152_t1_2mm_brain_mask.nii.gz"
REGISTRATION_SPACING_MM = 2.0  #: the subject is registered at the template's resolution, whatever its own


def _coarse(image, spacing_mm: float, interpolator):
    """``image`` resampled to at least ``spacing_mm`` (same field of view and directions)."""
    import SimpleITK as sitk

    old = np.array(image.GetSpacing())
    new = np.maximum(old, spacing_mm)
    if np.allclose(new, old):
        return image
    size = [max(1, int(round(n * o / s))) for n, o, s in zip(image.GetSize(), old, new)]
    return sitk.Resample(image, size, sitk.Transform(), interpolator, image.GetOrigin(), tuple(new.tolist()),
                         image.GetDirection(), 0.0, image.GetPixelID())


def load_template() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MNI152 2 mm T1 (float32), its brain mask (bool) and their common affine."""
    import nibabel as nib

    t1 = nib.load(str(data_path("heads", TEMPLATE_T1)))
    brain = nib.load(str(data_path("heads", TEMPLATE_BRAIN)))
    return t1.get_fdata(dtype=np.float32), np.asarray(brain.dataobj) > 0.5, t1.affine


def _to_sitk(data: np.ndarray, affine: np.ndarray):
    """Array indexed (i, j, k) with a RAS affine -> SimpleITK image (LPS physical space)."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(np.ascontiguousarray(np.transpose(data, (2, 1, 0))).astype(np.float32))
    lps = np.diag([-1.0, -1.0, 1.0])
    m = lps @ np.asarray(affine, float)[:3, :3]
    spacing = np.linalg.norm(m, axis=0)
    img.SetSpacing(tuple(float(v) for v in spacing))
    img.SetDirection(tuple(float(v) for v in (m / spacing).ravel()))
    img.SetOrigin(tuple(float(v) for v in lps @ np.asarray(affine, float)[:3, 3]))
    return img


def register_template(subject: np.ndarray, subject_affine: np.ndarray, head: np.ndarray, *,
                      seed: int = 0) -> np.ndarray:
    """Register the template T1 to ``subject`` (affine, Mattes mutual information, 3 levels) and return the template
    brain mask resampled onto the subject grid (bool, same shape as ``subject``).

    ``head`` restricts the metric to the subject's head so background noise does not drive the fit. Random metric
    sampling is seeded, single-threaded, so a run is reproducible."""
    import SimpleITK as sitk

    previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)  # multi-threaded filters/metrics are not bit-reproducible
    try:
        return _register(subject, subject_affine, head, seed)
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)


def _register(subject: np.ndarray, subject_affine: np.ndarray, head: np.ndarray, seed: int) -> np.ndarray:
    import SimpleITK as sitk

    t1, brain, t_affine = load_template()
    full = _to_sitk(subject, subject_affine)
    fixed = _coarse(full, REGISTRATION_SPACING_MM, sitk.sitkLinear)
    moving = _to_sitk(t1, t_affine)
    mask = sitk.Cast(_coarse(_to_sitk(head.astype(np.float32), subject_affine), REGISTRATION_SPACING_MM,
                             sitk.sitkNearestNeighbor), sitk.sitkUInt8)

    init = sitk.CenteredTransformInitializer(fixed, moving, sitk.AffineTransform(3),
                                             sitk.CenteredTransformInitializerFilter.MOMENTS)
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(0.2, seed + 1)  # SimpleITK seed 0 means "wall clock": not reproducible
    reg.SetMetricFixedMask(mask)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(learningRate=1.0, minStep=1e-4, numberOfIterations=200,
                                                 relaxationFactor=0.5)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2, 1])  # on the 2 mm copy: 8, 4, 2 mm
    reg.SetSmoothingSigmasPerLevel([2.0, 1.0, 0.0])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    reg.SetInitialTransform(init, inPlace=False)
    reg.SetNumberOfThreads(1)
    transform = reg.Execute(fixed, moving)

    warped = sitk.Resample(_to_sitk(brain.astype(np.float32), t_affine), full, transform, sitk.sitkLinear, 0.0)
    return np.transpose(sitk.GetArrayFromImage(warped), (2, 1, 0)) > 0.5
