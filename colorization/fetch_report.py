"""What a fetch did, for people: one line per file in place (and where from), every source refused and why, and
the exact command that fetches what is still missing."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .fetch_transfer import FetchedFile, human_size, is_url
from .model_files import CAFFEMODELS, fetch_command, resolve_model_dir
from .paths import display_path


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
            how = "downloaded from" if is_url(result.source or "") else "copied from"
            replaced = f", replacing a file that {result.replaced}" if result.replaced else ""
            lines.append(
                f"{name}  {how} {result.source} ({human_size(result.release.size)}, SHA-256 verified{replaced})"
            )
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
