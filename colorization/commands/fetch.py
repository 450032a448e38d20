"""colorize-fetch: the release model files, verified by size and SHA-256, every known source tried in turn."""

from __future__ import annotations

import sys

from .. import fetch, fetch_report, fetch_transfer
from ..errors import UsageError
from ..model_files import MODEL_DIR_ENV, VARIANTS, release_files, resolve_model_dir
from ..paths import display_path
from . import arguments, running, values

DESCRIPTION = (
    """Fetch the release model files, verified by size and SHA-256, trying every known source in turn: {prog}"""
)
EPILOG = f"""
Sources, in order: --from files, --mirror URLs/folders, ${fetch.MIRRORS_ENV} (separated by '{fetch.MIRROR_SEPARATOR}'),
then the public places each file has been published. A file is accepted only when its size and SHA-256 match.
exit codes: 0 all files in place and verified, 1 some files missing or damaged, 2 usage error
{arguments.REFERENCE}
"""


def build_parser(prog: str | None = None):
    parser = arguments.new_parser(prog, DESCRIPTION, EPILOG)
    parser.add_argument(
        "--dest",
        "--model-dir",
        dest="dest",
        metavar="DIR",
        help=f"where the files go (default: ${MODEL_DIR_ENV}, else models/ in a clone, the user cache folder when installed)",
    )
    parser.add_argument("--variant", choices=VARIANTS, default="release", help="which published weights to fetch")
    parser.add_argument(
        "--mirror",
        action="append",
        metavar="URL_OR_DIR",
        help="a web server or folder holding the files as BASE/NAME, tried first (repeatable)",
    )
    parser.add_argument(
        "--mirrors-only",
        action="store_true",
        help=f"never contact the public sources, only --from and mirrors (also: {fetch.MIRRORS_ONLY_ENV}=1)",
    )
    parser.add_argument(
        "--from",
        dest="imports",
        action="append",
        metavar="FILE",
        help="a release file you already have (any name): verified, then copied in (repeatable)",
    )
    parser.add_argument(
        "--check", action="store_true", help="only verify size and SHA-256 of the files present; download nothing"
    )
    parser.add_argument(
        "--timeout",
        type=values.number_from(0.1, 3600),
        default=fetch_transfer.FetchSettings.timeout,
        metavar="SECONDS",
        help="give up on a connection after this long without data",
    )
    parser.add_argument(
        "--retries",
        type=values.number_from(0, 100, whole=True),
        default=fetch_transfer.FetchSettings.retries,
        metavar="N",
        help="tries again after a timeout, a dropped connection or a server error, with growing pauses",
    )
    arguments.add_verbosity_options(parser, verbose_help="also report each source tried, each retry and why")
    return parser


def main(argv=None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = arguments.parse_arguments(parser, argv)
    args.mirror, args.imports = args.mirror or [], args.imports or []
    directory = resolve_model_dir(args.dest)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{display_path(directory)} is a file: the model files go into a folder (--dest DIR)")
    releases = release_files(args.variant)
    if args.check:
        if args.mirror or args.imports:
            parser.error("--check only verifies what is already in the folder: leave out --mirror and --from")
        return check_and_report(releases, directory, args.quiet)
    mirrors = fetch.checked_mirrors(args.mirror) + fetch.environment_mirrors()
    mirrors_only = args.mirrors_only or fetch.environment_flag(fetch.MIRRORS_ONLY_ENV)
    if mirrors_only and not mirrors and not args.imports:
        parser.error("--mirrors-only needs at least one --mirror or --from")
    settings = fetch_transfer.FetchSettings(timeout=args.timeout, retries=args.retries)
    return fetch_and_report(
        releases,
        directory,
        mirrors=mirrors,
        imports=args.imports,
        mirrors_only=mirrors_only,
        settings=settings,
        quiet=args.quiet,
    )


def fetch_and_report(releases, directory, *, mirrors, imports, mirrors_only, settings, quiet) -> int:
    """Fetch, then the summary: what is in place on stdout, what failed and what to do on stderr."""
    report = fetch.fetch_release_files(
        releases, directory, mirrors=mirrors, imports=imports, mirrors_only=mirrors_only, settings=settings, quiet=quiet
    )
    if not quiet:
        for line in fetch_report.done_lines(report):
            print(line)
        if report.ok:
            print(f"All {len(report.results)} files are in {display_path(report.directory)}, verified.")
    for line in fetch_report.failure_lines(report) + fetch.advice_lines(report):
        print(line, file=sys.stderr)
    return running.EXIT_OK if report.ok else running.EXIT_SOME_FAILED


def check_and_report(releases, directory, quiet: bool = False) -> int:
    """--check: size and SHA-256 of what is there, nothing downloaded; 0 when all are genuine."""
    checked = fetch.check_release_files(releases, directory)
    for _, path, problem in checked:
        if problem is None and not quiet:
            print(f"ok   {display_path(path)}")
        elif problem is not None:
            print(f"BAD  {display_path(path)} {problem}", file=sys.stderr)
    bad = [release for release, _, problem in checked if problem]
    if bad:
        print(
            f"{len(bad)} of {len(checked)} files are missing or damaged: run {fetch_report.fetch_command_for(directory, bad)}",
            file=sys.stderr,
        )
        return running.EXIT_SOME_FAILED
    return running.EXIT_OK


def entry() -> None:
    sys.exit(running.run(main))
