"""The release architecture with random weights: the real model's compute cost, without the 129 MB download."""
from __future__ import annotations

import os
from pathlib import Path

from .caffe_writer import write_random_caffemodel

REFERENCE_ENV = "COLORIZE_REFERENCE_DIR"
DEFAULT_REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "zhang"


def release_architecture(work_dir: Path, reference_dir: str | os.PathLike | None = None, seed: int = 2016) -> dict:
    """Paths of the authentic prototxt and points plus a random-weight caffemodel (written once into work_dir)."""
    reference = Path(reference_dir or os.environ.get(REFERENCE_ENV) or DEFAULT_REFERENCE)
    prototxt = reference / "colorization_deploy_v2.prototxt"
    if not prototxt.is_file():
        raise SystemExit(f"error: no {prototxt}: pass --reference-dir or set {REFERENCE_ENV} to the release prototxt's folder")
    caffemodel = Path(work_dir) / f"random_release_{seed}.caffemodel"
    if not caffemodel.is_file():
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        write_random_caffemodel(prototxt, caffemodel, seed=seed)
    return {"prototxt": prototxt, "caffemodel": caffemodel, "points": reference / "pts_in_hull.npy"}
