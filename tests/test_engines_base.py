"""What every engine shares: why a reduced precision falls back is a value the engine keeps, said once by the loader
unless the caller says it in its own words, and saying it or not touches no logger's level or filters."""

import logging
import threading

from colorization import Colorizer
from colorization.engines import base


def warnings_of(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_the_reason_is_returned_only_for_a_reduced_precision_asked_for_by_name():
    assert base.precision_unavailable("bf16", "no bf16 here") == "no bf16 here"
    assert base.precision_unavailable("fp16", "no fp16 here") == "no fp16 here"
    assert base.precision_unavailable("fp32", "no bf16 here") is None
    assert base.precision_unavailable("auto", "no bf16 here") is None, "auto running fp32 is no fallback"


def test_the_fallback_is_said_once_outside_the_block_and_kept_silent_inside(caplog):
    with caplog.at_level(logging.WARNING, logger="colorization"):
        base.say_precision_fallback("bf16", None)
        assert not caplog.records
        base.say_precision_fallback("bf16", "no bf16 here")
        with base.precision_fallbacks_unsaid():
            base.say_precision_fallback("fp16", "no fp16 here")
        base.say_precision_fallback("fp16", "no fp16 on this one")
    assert warnings_of(caplog) == [
        "warning: --precision bf16 asked for, but no bf16 here: running fp32",
        "warning: --precision fp16 asked for, but no fp16 on this one: running fp32",
    ]


def test_silence_in_one_thread_leaves_the_others_saying_it(caplog):
    """The old way set the shared logger's level and filters: another thread's warnings vanished meanwhile."""
    inside, outside = threading.Event(), threading.Event()

    def loading_elsewhere():
        inside.wait(5)
        base.say_precision_fallback("bf16", "said by the other thread")
        outside.set()

    other = threading.Thread(target=loading_elsewhere)
    package = logging.getLogger("colorization")
    with caplog.at_level(logging.WARNING, logger="colorization"):
        level, filters = package.level, list(package.filters)
        other.start()
        with base.precision_fallbacks_unsaid():
            assert (package.level, package.filters) == (level, filters)
            inside.set()
            outside.wait(5)
            base.say_precision_fallback("fp16", "kept by this one")
        other.join()
    assert warnings_of(caplog) == ["warning: --precision bf16 asked for, but said by the other thread: running fp32"]


def test_a_loaded_engine_keeps_its_reason_and_the_caller_says_it(mini_model, caplog):
    with caplog.at_level(logging.WARNING, logger="colorization"), base.precision_fallbacks_unsaid():
        colorizer = Colorizer.load(**mini_model, engine="onnx", size=64, backend="cpu", precision="bf16")
    assert colorizer.engine.precision == "fp32" and not warnings_of(caplog)
    assert colorizer.engine.precision_fallback == "cv2.dnn runs bf16 only as fp16 on CUDA (bf16: --engine openvino)"
    assert Colorizer.load(**mini_model, engine="onnx", size=64, backend="cpu").engine.precision_fallback is None
