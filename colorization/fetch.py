"""Getting the release model files onto a user's disk despite dead links: every source tried in turn, every byte verified.

A file is accepted by its pinned size and SHA-256, never by where it came from. Downloads stream into NAME.part in
the destination folder, resume with an HTTP Range request after an interruption, are hashed while they stream and
are renamed to NAME only once verified, so a bad file never sits under the final name and an interrupted fetch
continues where it stopped. The sources are tried here (the user's files, mirrors, the public ones), one folder
at a time; colorization.fetch_transfer moves the bytes and colorization.fetch_report words the outcome.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from urllib.parse import quote

from .errors import ModelFileError, UsageError
from .fetch_report import FetchReport, done_lines, failure_lines, fetch_command_for
from .fetch_transfer import Fetcher, FetchSettings, human_size, is_url
from .model_files import (
    MISSING,
    ModelFiles,
    ReleaseFile,
    all_release_files,
    fetch_command,
    release_file_problem,
    sha256_of,
    sniff,
)
from .paths import display_path

log = logging.getLogger(__name__)

MIRRORS_ENV = "COLORIZE_MIRRORS"
MIRRORS_ONLY_ENV = "COLORIZE_MIRRORS_ONLY"
NO_DOWNLOAD_ENV = "COLORIZE_NO_DOWNLOAD"
MIRROR_SEPARATOR = ";"


def environment_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def checked_mirrors(mirrors, origin: str = "--mirror") -> list[str]:
    """Mirrors as given, refusing anything that is neither an http(s) base URL nor an existing folder."""
    checked = []
    for mirror in mirrors:
        mirror = mirror.strip()
        if not mirror:
            continue
        if not is_url(mirror) and not Path(mirror).expanduser().is_dir():
            raise UsageError(f"{origin} {mirror!r} is neither an http(s) URL nor an existing folder")
        checked.append(mirror)
    return checked


def environment_mirrors() -> list[str]:
    """`COLORIZE_MIRRORS`: base URLs or folders separated by ';', tried before the public sources."""
    return checked_mirrors(os.environ.get(MIRRORS_ENV, "").split(MIRROR_SEPARATOR), f"{MIRRORS_ENV} entry")


def mirror_location(mirror: str, release: ReleaseFile) -> str:
    """A mirror serves each file under its release name: BASE/NAME."""
    if is_url(mirror):
        return f"{mirror.rstrip('/')}/{quote(release.name)}"
    return str(Path(mirror).expanduser() / release.name)


@contextlib.contextmanager
def directory_lock(directory: Path):
    """One fetch per folder at a time: a second process (two scripts started together on first use) waits, then finds
    the files in place, instead of appending to the same NAME.part."""
    try:
        import fcntl
    except ImportError:  # Windows has no advisory lock on folders: concurrent first runs are left to the hash check
        yield
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("another process is fetching into %s: waiting for it to finish", display_path(directory))
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError as error:  # some network filesystems refuse folder locks
            log.info("cannot lock %s (%s): fetching without a lock", display_path(directory), error.strerror)
        yield
    finally:
        os.close(descriptor)


def identify_imports(paths, candidates) -> tuple[dict[ReleaseFile, Path], list[tuple[Path, str]]]:
    """Which release file each `--from` file is, recognised by SHA-256 whatever it is called."""
    by_hash = {release.sha256: release for release in candidates}
    identified: dict[ReleaseFile, Path] = {}
    rejected = []
    for path in map(Path, paths):
        path = path.expanduser()
        if not path.is_file():
            rejected.append((path, "does not exist"))
            continue
        release = by_hash.get(sha256_of(path))
        if release is not None:
            identified[release] = path
            continue
        impostor = sniff(path)
        size = path.stat().st_size
        same_size = [candidate.name for candidate in candidates if candidate.size == size]
        if impostor:
            reason = f"is {impostor}"
        elif same_size:
            reason = f"has the size of {same_size[0]} but not its SHA-256 (damaged or a different file)"
        else:
            reason = f"is {size} bytes, the size of none of the release files"
        rejected.append((path, reason))
    return identified, rejected


def fetch_release_files(
    releases,
    directory,
    *,
    mirrors=(),
    imports=(),
    mirrors_only: bool = False,
    settings: FetchSettings = FetchSettings(),
    quiet: bool = False,
) -> FetchReport:
    """Make `directory` hold each of `releases`, verified: files already there are kept, the others come from the
    user's files (`imports`), then the mirrors (base URLs or folders serving BASE/NAME), then each file's own sources.

    Files in `imports` that are other known release files are taken too: the user has them, so they are wanted.
    """
    directory = Path(directory).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ModelFileError(
            f"cannot create {display_path(directory)} ({error.strerror}): choose another folder (--dest or --model-dir)"
        ) from None
    releases = list(releases)
    identified, rejected = identify_imports(imports, {*releases, *all_release_files()})
    releases += [release for release in identified if release not in releases]
    with directory_lock(directory), contextlib.closing(Fetcher(directory, settings, quiet)) as fetcher:
        results = []
        for release in releases:
            sources = [str(identified[release])] if release in identified else []
            sources += [mirror_location(mirror, release) for mirror in mirrors]
            if not mirrors_only:
                sources += list(release.sources)
            results.append(fetcher.fetch(release, sources))
    return FetchReport(directory, results, rejected)


def check_release_files(releases, directory) -> list[tuple[ReleaseFile, Path, str | None]]:
    """Each release file in `directory` with what is wrong with it (None: size and SHA-256 match)."""
    directory = Path(directory).expanduser()
    return [
        (release, directory / release.name, release_file_problem(directory / release.name, release, verify_hash=True))
        for release in releases
    ]


def advice_lines(report: FetchReport) -> list[str]:
    """What the user can do when files are still missing."""
    failed = report.failed
    if not failed:
        return []
    options = fetch_command_for(report.directory, [result.release for result in failed])[len(fetch_command()) :]
    lines = [
        f"{len(failed)} of {len(report.results)} files could not be fetched into {display_path(report.directory)}. What you can do:",
        f"  - download {', '.join(result.release.name for result in failed)} yourself (a source above in a browser, "
        "or a colleague's copy) and import it:",
        f"      {fetch_command()} --from PATH/TO/FILE{options}",
        "  - or use a web server or folder (lab share, USB stick) holding the files under their release names:",
        f"      {fetch_command()} --mirror URL_OR_FOLDER{options}   (repeatable; or set {MIRRORS_ENV})",
        "  - only files whose size and SHA-256 match the release are accepted (listed in models/README.md)",
    ]
    lines += [
        f"  - the partial download {display_path(result.part)} is kept: running the command again resumes it"
        for result in failed
        if result.part.is_file()
    ]
    return lines


def ensure_release_files(
    files: ModelFiles, *, download: bool = True, verify: bool = False, quiet: bool = False
) -> None:
    """First use: fetch the managed release files that are missing or damaged, or raise with the exact command.

    Files the user named (`--caffemodel` etc.) are never checked here: custom models are allowed.
    """
    needed = [(f, release_file_problem(f.path, f.release, verify)) for f in files if f.release is not None]
    needed = [(model_file, problem) for model_file, problem in needed if problem]
    if not needed:
        return
    first, problem = needed[0]
    directory = first.path.parent
    releases = [model_file.release for model_file, _ in needed]
    command = fetch_command_for(
        directory, [model_file.release for model_file in files if model_file.release is not None]
    )
    shown = display_path(first.path) + (f" (and {len(needed) - 1} more)" if len(needed) > 1 else "")
    if not download:
        forbidden = "--no-download"
    elif environment_flag(NO_DOWNLOAD_ENV):
        forbidden = f"{NO_DOWNLOAD_ENV} is set"
    else:
        forbidden = None
    if forbidden:
        raise ModelFileError(
            f"{shown} {problem}: run {command} (automatic download is off: {forbidden}"
            + ("" if problem == MISSING else f"; {fetch_command()} --check names every damaged file")
            + ")"
        )
    total = human_size(sum(release.size for release in releases))
    log.warning(
        "%s %s: downloading the release files (%s) into %s; --no-download or %s=1 turns this off",
        shown,
        problem,
        total,
        display_path(directory),
        NO_DOWNLOAD_ENV,
    )
    report = fetch_release_files(
        releases, directory, mirrors=environment_mirrors(), mirrors_only=environment_flag(MIRRORS_ONLY_ENV), quiet=quiet
    )
    for line in done_lines(report):
        log.info("%s", line)
    if report.failed:
        for line in failure_lines(report):
            log.warning("%s", line)
        names = ", ".join(result.release.name for result in report.failed)
        raise ModelFileError(
            f"could not download {names} from any source (above): see 'Model files' in the README, "
            f"or get the file by hand and run {fetch_command()} --from FILE{command[len(fetch_command()) :]}"
        )
