"""Exceptions whose message is a complete, actionable line for the user."""


class ColorizationError(Exception):
    """An expected failure: the command line prints the message alone, without a traceback."""


class ModelFileError(ColorizationError):
    """A model file is missing, damaged or not what it claims to be."""


class ImageError(ColorizationError):
    """One input image could not be read or one output could not be written."""


class PictureTooLarge(ImageError):
    """A picture over the pixel limit, or a file larger than its picture can be, refused before it is decoded."""


class NotAPicture(ImageError):
    """Bytes that announce no picture format this tool reads."""


class UsageError(ColorizationError):
    """The command line asks for something impossible (exit code 2)."""


class OutputError(ColorizationError):
    """One output cannot be written where it was asked for (its folder cannot be created, no permission)."""


class VideoError(ColorizationError):
    """One video could not be read, colorized or written."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, a job scheduler's time limit, docker stop), raised where Ctrl-C would be so that it is handled
    the same way (batch writes its report, partial outputs are removed, ffmpeg is stopped) instead of Python's
    default of dying on the spot."""


class Cancelled(ColorizationError):
    """A run stopped on request (the web page's Cancel) before it finished; its partial output is removed."""
