"""Build the real head volumes that cannot be committed (GPL or large) into ``data/heads/built/``.

Run by ``data/setup.sh`` (``python -m tfus.data.build_heads``). Each source is optional: a missing one is reported and
skipped, the others are still built.

- ``cranium_ct.nii.gz``: InVesalius example "Cranium" head CT (Debian package ``invesalius-examples``, GPL-2),
  256x256x108 at 0.957x0.957x1.5 mm, int16 HU.
- ``colin27_t1.nii.gz``: Colin27 (ch2) T1 with skull from Debian ``mricron-data``, 181x217x181 at 1 mm (MNI notice).
- ``pycortex_s1_t1.nii.gz``: pycortex subject S1 T1 with scalp, from the pycortex 1.4.0 source archive on PyPI
  (BSD-2), 256^3 at 1 mm.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CRANIUM = Path("/usr/share/doc/invesalius-examples/examples/Cranium.inv3")
COLIN = Path("/usr/share/mricron/templates/ch2.nii.gz")
PYCORTEX = "pycortex==1.4.0"
PYCORTEX_MEMBER = "pycortex-1.4.0/filestore/db/S1/anatomicals/raw.nii.gz"


def build_cranium(out: Path) -> str:
    from tfus.pipeline.io import read_image, write_nifti

    if not CRANIUM.is_file():
        return f"skipped: {CRANIUM} missing (apt-get install invesalius-examples)"
    vol = read_image(CRANIUM)
    write_nifti(out / "cranium_ct.nii.gz", vol.data.astype("int16"), vol.affine)
    return f"built from {CRANIUM}"


def build_colin(out: Path) -> str:
    if not COLIN.is_file():
        return f"skipped: {COLIN} missing (apt-get install mricron-data)"
    shutil.copyfile(COLIN, out / "colin27_t1.nii.gz")
    return f"copied from {COLIN}"


def build_pycortex(out: Path) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", PYCORTEX, "-d", tmp]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
        archives = list(Path(tmp).glob("pycortex-*.tar.gz"))
        if res.returncode != 0 or not archives:
            return f"skipped: could not download the {PYCORTEX} source archive from PyPI"
        with tarfile.open(archives[0]) as tar:
            member = tar.getmember(PYCORTEX_MEMBER)
            src = tar.extractfile(member)
            if src is None:
                return f"skipped: {PYCORTEX_MEMBER} is not a file in the archive"
            (out / "pycortex_s1_t1.nii.gz").write_bytes(src.read())
    return f"extracted {PYCORTEX_MEMBER} from the {PYCORTEX} sdist"


BUILDERS = {"cranium": build_cranium, "colin27": build_colin, "pycortex": build_pycortex}


def main(argv: list[str] | None = None) -> int:
    from tfus.pipeline.resources import built_data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(BUILDERS), help="build only these volumes")
    args = parser.parse_args(argv)
    out = built_data_dir()
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only or list(BUILDERS):
        print(f"{name}: {BUILDERS[name](out)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
