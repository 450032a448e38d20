"""One release file's bytes from its sources into NAME.part, verified: downloads that resume with an HTTP Range
request and are retried with growing pauses, copies from folders and files the user has, each hashed while it
streams; the file is renamed to NAME only once its size and SHA-256 match (colorization.fetch tries the sources).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .model_files import MISSING, ReleaseFile, release_file_problem, sha256_of, sniff, sniff_bytes
from .paths import display_path

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

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


def is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


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


class HashedWriter:
    """NAME.part being written: each chunk hashed and counted on the bar on its way, the file synced when closed."""

    def __init__(self, part: Path, digest, bar, append: bool = False):
        self.handle = open(part, "ab" if append else "wb")  # noqa: SIM115 (closed by this object's __exit__)
        self.digest = digest
        self.bar = bar

    def __enter__(self) -> HashedWriter:
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
            result.failures.append(
                ("(no source)", "nothing to try: no --from file, no mirror, and no public source allowed or known")
            )
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
        return progress_bar(
            release.size, "B", release.name, self.quiet, unit_scale=True, unit_divisor=1024, initial=initial
        )

    def copy(self, source: Path, release: ReleaseFile, part: Path) -> None:
        """From a folder mirror or a file the user already has: checked, then copied with the hash computed on the way."""
        if not source.is_file():
            raise SourceFailed("no such file")
        size = source.stat().st_size
        if size != release.size:
            impostor = sniff(source)
            raise SourceFailed(
                f"is {impostor}" if impostor else f"is {size} bytes, not the {release.size} of the release file"
            )
        digest = hashlib.sha256()
        try:
            reader = open(source, "rb")  # noqa: SIM115 (opened apart to say it cannot be read; closed by the with below)
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
