"""The bad-input corpus, through every command as users run them (colorize, colorize-batch, colorize-video,
colorize-fetch and the web server's REST API), by one table-driven test.

Every case ends in its documented exit code (or HTTP status), with one line that names the input and no traceback,
within a time bound and a memory bound (the child's peak resident memory under 2 GB, its address space limited so a
runaway allocation fails fast). Inputs are made at test time (tests/support/bad_inputs.py). Runs that can share a process do (all the
bad pictures go to one colorize, one batch and one web server), and runs go three at a time, so the corpus takes
about a minute.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.support import bad_inputs as bad
from tests.support.bounded_runs import MEMORY_BOUND, TIME_BOUND
from tests.support.corpus_scene import OPTION_CASES, Outcome, Scene
from tests.support.corpus_web import WEB_CASES, serve_and_ask


@dataclass(frozen=True)
class Case:
    """One bad input: the run it goes through, the exit code of that run, and what its one line must name ('' for an
    input that must be colorized; `check` then looks at the result)."""

    name: str
    run: str
    code: int
    names: str = ""
    check: str = ""


def own(name: str, code: int, names: str = "", check: str = "") -> Case:
    """A case with a run of its own, named after it."""
    return Case(name, name, code, names, check)


PICTURE_NAMES = {**bad.PICTURE_BYTES, **bad.PICTURE_FILES}
CASES = [
    *(
        Case(f"photo-{name}", "photo-pictures", 1, f"{name}{extension}")
        for name, (extension, _) in PICTURE_NAMES.items()
    ),
    *(Case(f"photo-{name}", "photo-pictures", 1, check=f"colorized:{name}") for name in bad.PICTURES_READ),
    Case("photo-dev-zero", "photo-pictures", 1, "/dev/zero"),
    Case("photo-dev-null", "photo-pictures", 1, "/dev/null"),
    Case("photo-endless-png-stream", "photo-pictures", 1, "endless_png.png"),
    Case("photo-endless-tiff-stream", "photo-pictures", 1, "endless_tiff.tif"),
    Case("photo-picture-stream", "photo-pictures", 1, check="colorized:stream_picture"),
    Case("photo-socket", "photo-pictures", 1, "socket.png"),
    Case("photo-missing", "photo-pictures", 1, "missing.png"),
    *(
        Case(f"batch-{name}", "batch-archive", 1, f"{name}{extension}")
        for name, (extension, _) in PICTURE_NAMES.items()
        if name != "folder_png"
    ),
    *(
        Case(f"batch-skips-{name}", "batch-archive", 1, f"skipped archive/{name}{extension}")
        for name, (extension, _) in bad.SPECIAL_FILES.items()
    ),
    Case("batch-skips-a-fifo-of-hints", "batch-archive", 1, "skipped archive/good.hints.json"),
    Case("batch-does-the-good-one", "batch-archive", 1, check="colorized:batch_good"),
    *(own(name, 2, option) for name, (_, option, _) in OPTION_CASES.items()),
    own("photo-limits-high", 0, check="colorized:limits_high"),
    own("photo-limits-low", 0, check="colorized:limits_low"),
    own("photo-pixels-at-limit", 0, check="colorized:pixels_at_limit"),
    own("photo-pixels-past-limit", 1, "good.jpg"),
    own("photo-output-without-extension", 2, "-o photo"),
    own("photo-output-gif", 2, "-o x.gif"),
    own("photo-suffix-climbing", 2, "--suffix"),
    own("photo-output-under-a-file", 1, "afile"),
    *(own(f"model-{name}", 2, f"{name}.npy") for name in bad.POINTS),
    own("model-points-lying-header", 2, "lying.npy"),
    own("model-points-empty", 2, "empty.npy"),
    own("model-points-fifo", 2, "fifo.npy"),
    own("model-prototxt-misspelt", 2, "misspelt.prototxt"),
    own("model-prototxt-misspelt-caffe", 2, "misspelt.prototxt"),
    own("model-prototxt-fifo", 2, "fifo.prototxt"),
    own("model-prototxt-sparse", 2, "sparse.prototxt"),
    own("model-caffemodel-zeros", 2, "zeros.caffemodel"),
    own("model-caffemodel-device", 2, "/dev/zero"),
    own("model-caffemodel-sparse", 2, "sparse.caffemodel"),
    own("hints-dev-zero", 2, "/dev/zero"),
    own("hints-deep", 2, "deep.json"),
    own("hints-sparse", 2, "sparse.json"),
    own("batch-suffix-climbing", 2, "--suffix"),
    own("batch-report-among-inputs", 2, "--report"),
    own("batch-report-type", 2, "--report"),
    own("batch-output-through-a-link", 1, "sub/good.jpg"),
    own("video-dev-zero", 1, "/dev/zero"),
    own("video-fifo", 1, "pipe.mp4"),
    own("video-text", 1, "notes.mp4"),
    own("video-sparse", 1, "sparse.mp4"),
    own("video-gif-to-gif", 0, check="gif:anim_out.gif"),
    own("video-output-without-extension", 2, "film"),
    own("video-gif-with-another-codec", 2, "x.gif"),
    own("video-suffix-climbing", 2, "--suffix"),
    own("fetch-from-dev-zero", 1, "/dev/zero"),
    own("fetch-from-fifo", 1, "pipe.caffemodel"),
    own("fetch-from-sparse", 1, "sparse.caffemodel"),
    own("fetch-from-missing", 1, "missing.caffemodel"),
    own("fetch-dest-under-a-file", 2, "afile"),
    own("fetch-check-a-file", 2, "afile"),
    own("fetch-mirror-device", 2, "/dev/zero"),
    *(Case(f"web-{case.name}", "web", case.status, case.names) for case in WEB_CASES),
    Case("web-misspelt-model-health", "web", 200, '"model_loaded":false'),
    Case("web-misspelt-model-upload", "web", 503, "misspelt.prototxt"),
]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, release_points):
    """Every run of the table, made once: three at a time, the web server's requests beside them."""
    scene = Scene(tmp_path_factory.mktemp("corpus"), release_points)
    try:
        scene.warm_up()
        runs = sorted({case.run for case in CASES if case.run != "web"})
        with ThreadPoolExecutor(3) as pool:
            web = pool.submit(serve_and_ask, scene)
            finished = dict(zip(runs, pool.map(scene.run, runs)))
            outcomes = {f"web-{name}": outcome for name, outcome in web.result().items()}
        for case in CASES:
            if case.run != "web":
                run = finished[case.run]
                outcomes[case.name] = Outcome(run.code, run.stderr.splitlines(), run)
        yield scene, outcomes
    finally:
        scene.close()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input(corpus, case):
    scene, outcomes = corpus
    outcome = outcomes[case.name]
    finished = outcome.finished
    assert not finished.timed_out, f"{case.run} ran past {TIME_BOUND:g} s: {finished.stderr[-500:]}"
    assert finished.seconds < TIME_BOUND
    assert finished.peak_bytes < MEMORY_BOUND, f"{case.run} held {finished.peak_bytes / 2**30:.2f} GB"
    assert "Traceback" not in finished.stderr and "Exception in" not in finished.stderr, finished.stderr[-3000:]
    assert outcome.code == case.code, (case.run, outcome.code, outcome.lines[-20:])
    if case.names:
        naming = [line for line in outcome.lines if case.names in line]
        assert len(naming) == 1, f"not one line naming {case.names!r}: {outcome.lines[-30:]}"
    if case.check:
        scene.check(case.check)
