"""Getting the release model files onto a user's disk despite dead links: every source tried in turn, every byte verified.

A file is accepted by its pinned size and SHA-256, never by where it came from. Downloads stream into NAME.part in
the destination folder, resume with an HTTP Range request after an interruption, are hashed while they stream and
are renamed to NAME only once verified, so a bad file never sits under the final name and an interrupted fetch
continues where it stopped.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shlex
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from .errors import ModelFileError, UsageError
from .model_files import (
    CAFFEMODELS,
    MISSING,
    ModelFiles,
    ReleaseFile,
    all_release_files,
    fetch_command,
    release_file_problem,
    resolve_model_dir,
    sha256_of,
    sniff,
    sniff_bytes,
)
from .paths import display_path

if TYPE_CHECKING:
    import requests

log = logging.getLogger("colorization")

MIRRORS_ENV = "COLORIZE_MIRRORS"
MIRRORS_ONLY_ENV = "COLORIZE_MIRRORS_ONLY"
NO_DOWNLOAD_ENV = "COLORIZE_NO_DOWNLOAD"
MIRROR_SEPARATOR = ";"
PART_SUFFIX = ".part"
GONE_STATUSES = {401: "unauthorized", 403: "forbidden", 404: "not found", 410: "gone"}


@dataclass(frozen=True)
class FetchSettings:
    """How patient the fetcher is. `timeout` is seconds without any data; retries wait backoff, 2 x backoff, ..."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    chunk_size: int = 1 << 16


class SourceFailed(Exception):
    """This source cannot serve the file (gone, wrong bytes, out of retries): the next source is tried."""


class TransientFailure(Exception):
    """Worth trying the same source again after a pause (timeout, dropped connection, HTTP 5xx)."""


class HashMismatch(Exception):
    def __init__(self, resumed: bool):
        super().__init__("the bytes served do not match the release file's SHA-256 (damaged or a different file)")
        self.resumed = resumed


def environment_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


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


def progress_bar(*arguments, **options):
    """colorization.progress's bar, imported by the first fetch that shows one (tqdm is no part of a start)."""
    from .progress import progress_bar as bar

    return bar(*arguments, **options)


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def network_failure(error: requests.RequestException, timeout: float) -> Exception:
    """One short line for a requests exception, as a failure worth retrying or not.

    A host that cannot be reached at all (no name, refused, no answer) is not retried: on an offline machine every
    source fails at once instead of after minutes of pauses. Stalls and drops during a transfer are retried.
    """
    import requests

    text = str(error)
    errno_reason = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    reason = errno_reason.group(1).strip() if errno_reason else type(error).__name__
    if isinstance(error, requests.exceptions.SSLError):
        return SourceFailed("TLS/certificate error (check the system's certificates or the URL)")
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return SourceFailed(f"could not connect (no answer within {timeout:g} s)")
    if isinstance(error, requests.exceptions.Timeout) or "read timed out" in text.lower():
        return TransientFailure(f"timed out (no data for {timeout:g} s)")
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return TransientFailure("the connection dropped in the middle of the file")
    if isinstance(error, requests.exceptions.ConnectionError):
        if any(marker in text for marker in ("NewConnectionError", "NameResolutionError", "Failed to resolve")):
            return SourceFailed(f"could not connect ({reason})")
        return TransientFailure(f"the connection failed ({reason})")
    return SourceFailed(f"request failed ({type(error).__name__})")


def content_range_start(header: str | None) -> int | None:
    match = re.match(r"\s*bytes\s+(\d+)-", header or "")
    return int(match.group(1)) if match else None


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)


@dataclass
class FetchedFile:
    """What happened to one release file: `outcome` is "present", "fetched" or "failed"."""

    release: ReleaseFile
    path: Path
    outcome: str
    source: str | None = None
    replaced: str | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def part(self) -> Path:
        return self.path.with_name(self.path.name + PART_SUFFIX)


@dataclass
class FetchReport:
    directory: Path
    results: list[FetchedFile]
    rejected_imports: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected_imports and all(result.outcome != "failed" for result in self.results)

    @property
    def failed(self) -> list[FetchedFile]:
        return [result for result in self.results if result.outcome == "failed"]


class HashedWriter:
    """NAME.part being written: each chunk hashed and counted on the bar on its way, the file synced when closed."""

    def __init__(self, part: Path, digest, bar, append: bool = False):
        self.handle = open(part, "ab" if append else "wb")
        self.digest = digest
        self.bar = bar

    def __enter__(self) -> "HashedWriter":
        return self

    def __exit__(self, *exception) -> None:
        with self.handle:
            self.handle.flush()
            os.fsync(self.handle.fileno())

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)
        self.digest.update(chunk)
        self.bar.update(len(chunk))


class Fetcher:
    """Fetches release files into one folder, trying each file's sources in order until one serves the real bytes."""

    def __init__(self, directory: Path, settings: FetchSettings = FetchSettings(), quiet: bool = False):
        self.directory = Path(directory)
        self.settings = settings
        self.quiet = quiet
        import requests  # here, not at the top: a start with the files in place imports neither it nor tqdm

        self.session = requests.Session()
        user_agent = f"zhang-colorization-fetch (python-requests {requests.__version__})"
        self.session.headers.update({"User-Agent": user_agent, "Accept-Encoding": "identity"})

    def close(self) -> None:
        self.session.close()

    def fetch(self, release: ReleaseFile, sources: list[str]) -> FetchedFile:
        final = self.directory / release.name
        result = FetchedFile(release, final, "failed")
        present_problem = release_file_problem(final, release, verify_hash=True)
        if present_problem is None:
            result.outcome = "present"
            return result
        if present_problem != MISSING:
            result.replaced = present_problem
        if not sources:
            result.failures.append(("(no source)", "nothing to try: no --from file, no mirror, and no public source allowed or known"))
            return result
        shortage = self.space_shortage(release, result.part)
        if shortage:
            result.failures.append((display_path(self.directory), shortage))
            return result
        try:
            for source in sources:
                try:
                    if is_url(source):
                        self.download(source, release, result.part)
                    else:
                        self.copy(Path(source), release, result.part)
                except SourceFailed as failure:
                    log.info("%s: %s", source, failure)
                    result.failures.append((source, str(failure)))
                    continue
                os.replace(result.part, final)
                result.outcome, result.source = "fetched", source
                return result
        except OSError as error:
            result.failures.append((display_path(self.directory), f"cannot write there ({error.strerror or error})"))
        return result

    def space_shortage(self, release: ReleaseFile, part: Path) -> str | None:
        needed = release.size - (part.stat().st_size if part.is_file() else 0)
        free = shutil.disk_usage(self.directory).free
        if free < needed:
            return f"not enough disk space: {human_size(needed)} needed, {human_size(free)} free (choose another folder: --dest or --model-dir)"
        return None

    def progress(self, release: ReleaseFile, initial: int):
        return progress_bar(release.size, "B", release.name, self.quiet, unit_scale=True, unit_divisor=1024, initial=initial)

    def copy(self, source: Path, release: ReleaseFile, part: Path) -> None:
        """From a folder mirror or a file the user already has: checked, then copied with the hash computed on the way."""
        if not source.is_file():
            raise SourceFailed("no such file")
        size = source.stat().st_size
        if size != release.size:
            impostor = sniff(source)
            raise SourceFailed(f"is {impostor}" if impostor else f"is {size} bytes, not the {release.size} of the release file")
        digest = hashlib.sha256()
        try:
            reader = open(source, "rb")
        except OSError as error:
            raise SourceFailed(f"cannot be read ({error.strerror})") from None
        unreadable = None
        with reader, self.progress(release, 0) as bar, HashedWriter(part, digest, bar) as writer:
            while True:
                try:
                    chunk = reader.read(self.settings.chunk_size)
                except OSError as error:
                    unreadable = f"cannot be read ({error.strerror})"
                    break
                if not chunk:
                    break
                writer.write(chunk)
        if unreadable:
            discard(part)
            raise SourceFailed(unreadable)
        if digest.hexdigest() != release.sha256:
            discard(part)
            raise SourceFailed("has the release file's size but not its SHA-256 (damaged or a different file)")

    def download(self, url: str, release: ReleaseFile, part: Path) -> None:
        """Retry transient failures with growing pauses, resuming from NAME.part; a resumed file that fails its hash
        is fetched once more from the first byte, since the earlier bytes may have come from elsewhere."""
        failures = 0
        restarted = False
        while True:
            try:
                self.download_once(url, release, part)
                return
            except TransientFailure as failure:
                failures += 1
                if failures > self.settings.retries:
                    attempts = "1 attempt" if failures == 1 else f"{failures} attempts"
                    raise SourceFailed(f"{failure}; gave up after {attempts}") from None
                pause = self.settings.backoff * 2 ** (failures - 1)
                log.info("%s: %s; trying again in %g s", url, failure, pause)
                time.sleep(pause)
            except HashMismatch as mismatch:
                discard(part)
                if mismatch.resumed and not restarted:
                    restarted = True
                    log.info("%s: a resumed download failed its SHA-256; starting again from the first byte", url)
                    continue
                raise SourceFailed(str(mismatch)) from None

    def download_once(self, url: str, release: ReleaseFile, part: Path) -> None:
        import requests

        offset = part.stat().st_size if part.is_file() else 0
        if offset > release.size:
            discard(part)
            offset = 0
        if offset == release.size:
            if sha256_of(part) == release.sha256:
                return
            raise HashMismatch(resumed=True)
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            response = self.session.get(url, headers=headers, stream=True, timeout=self.settings.timeout)
        except requests.RequestException as error:
            raise network_failure(error, self.settings.timeout) from None
        with response:
            status = response.status_code
            if status == 416 and offset:
                discard(part)
                raise TransientFailure("the server could not resume the partial download (HTTP 416)")
            if status == 429 or status >= 500:
                raise TransientFailure(f"HTTP {status} ({response.reason or 'server error'})")
            if status not in (200, 206):
                raise SourceFailed(f"HTTP {status} ({GONE_STATUSES.get(status, response.reason or 'refused')})")
            if status == 206 and content_range_start(response.headers.get("Content-Range")) != offset:
                discard(part)
                raise TransientFailure("the server resumed at the wrong byte")
            if status == 200 and offset:
                log.info("%s ignores HTTP Range: downloading %s from the first byte", url, release.name)
                offset = 0
            self.receive(response, release, part, offset)

    def receive(self, response: requests.Response, release: ReleaseFile, part: Path, offset: int) -> None:
        import requests

        digest = hashlib.sha256()
        if offset:
            with open(part, "rb") as earlier:
                for chunk in iter(lambda: earlier.read(1 << 20), b""):
                    digest.update(chunk)
        received = offset
        rejected = None
        try:
            with self.progress(release, offset) as bar, HashedWriter(part, digest, bar, append=offset > 0) as writer:
                for chunk in response.iter_content(self.settings.chunk_size):
                    if received == 0:
                        rejected = self.rejection(chunk, response, release)
                        if rejected:
                            break
                    received += len(chunk)
                    if received > release.size:
                        rejected = "serves more bytes than the release file has"
                        break
                    writer.write(chunk)
        except requests.RequestException as error:
            raise network_failure(error, self.settings.timeout) from None
        if rejected:
            discard(part)
            raise SourceFailed(rejected)
        if received < release.size:
            raise TransientFailure(f"the connection closed after {received} of {release.size} bytes")
        if digest.hexdigest() != release.sha256:
            raise HashMismatch(resumed=offset > 0)

    @staticmethod
    def rejection(first_chunk: bytes, response: requests.Response, release: ReleaseFile) -> str | None:
        """Refuse a whole body by its first bytes and announced length, before 129 MB of the wrong thing arrive."""
        impostor = sniff_bytes(first_chunk)
        if impostor:
            return f"served {impostor}"
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) != release.size:
            return f"serves {length} bytes, not the {release.size} of the release file"
        return None


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
        raise ModelFileError(f"cannot create {display_path(directory)} ({error.strerror}): choose another folder (--dest or --model-dir)") from None
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
    return [(release, directory / release.name, release_file_problem(directory / release.name, release, verify_hash=True)) for release in releases]


def fetch_command_for(directory: Path, releases) -> str:
    """The exact command that fetches `releases` into `directory`."""
    command = fetch_command()
    if Path(directory).expanduser().resolve() != resolve_model_dir().expanduser().resolve():
        command += f" --dest {shlex.quote(display_path(directory))}"
    for variant, caffemodel in CAFFEMODELS.items():
        if variant != "release" and caffemodel in releases:
            command += f" --variant {variant}"
    return command


def done_lines(report: FetchReport) -> list[str]:
    """One line per file that is now in place: where it came from, and which sources were skipped and why."""
    width = max([len(result.release.name) for result in report.results] + [0])
    lines = []
    for result in report.results:
        name = result.release.name.ljust(width)
        if result.outcome == "present":
            lines.append(f"{name}  already present, size and SHA-256 verified")
        elif result.outcome == "fetched":
            how = "downloaded from" if is_url(result.source) else "copied from"
            replaced = f", replacing a file that {result.replaced}" if result.replaced else ""
            lines.append(f"{name}  {how} {result.source} ({human_size(result.release.size)}, SHA-256 verified{replaced})")
            lines += [f"{' ' * width}    skipped {source}: {reason}" for source, reason in result.failures]
    return lines


def failure_lines(report: FetchReport) -> list[str]:
    """For each file that failed, every source tried and why it was refused."""
    lines = []
    for result in report.failed:
        lines.append(f"{result.release.name}: FAILED, no source served the release file:")
        lines += [f"    {source}: {reason}" for source, reason in result.failures]
        if result.replaced:
            lines.append(f"    (the {result.release.name} already there {result.replaced}; it was left as it was)")
    lines += [f"--from {display_path(path)}: not imported: it {reason}" for path, reason in report.rejected_imports]
    return lines


def advice_lines(report: FetchReport) -> list[str]:
    """What the user can do when files are still missing."""
    failed = report.failed
    if not failed:
        return []
    options = fetch_command_for(report.directory, [result.release for result in failed])[len(fetch_command()):]
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


def ensure_release_files(files: ModelFiles, *, download: bool = True, verify: bool = False, quiet: bool = False) -> None:
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
    command = fetch_command_for(directory, [model_file.release for model_file in files if model_file.release is not None])
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
            + ("" if problem == MISSING else f"; {fetch_command()} --check names every damaged file") + ")"
        )
    total = human_size(sum(release.size for release in releases))
    log.warning(
        "%s %s: downloading the release files (%s) into %s; --no-download or %s=1 turns this off",
        shown, problem, total, display_path(directory), NO_DOWNLOAD_ENV,
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
            f"or get the file by hand and run {fetch_command()} --from FILE{command[len(fetch_command()):]}"
        )
