#!/usr/bin/env python3
"""Fetch the release model files, verified by size and SHA-256, trying every known source in turn:
python fetch_models.py"""
import sys

from colorization import cli, fetch
from colorization.model_files import MODEL_DIR_ENV, VARIANTS, release_files, resolve_model_dir

EPILOG = f"""
Sources, in order: --from files, --mirror URLs/folders, ${fetch.MIRRORS_ENV} (separated by '{fetch.MIRROR_SEPARATOR}'),
then the public places each file has been published. A file is accepted only when its size and SHA-256 match.
Exit codes: 0 all files in place and verified, 1 some files missing or damaged, 2 usage error.
"""


def main(argv=None) -> int:
    parser = cli.new_parser(__doc__)
    parser.epilog = EPILOG
    parser.add_argument("--dest", "--model-dir", dest="dest", metavar="DIR", help=f"where the files go (default: ${MODEL_DIR_ENV}, else models/)")
    parser.add_argument("--variant", choices=VARIANTS, default="release", help="which published weights to fetch")
    parser.add_argument("--mirror", action="append", metavar="URL_OR_DIR", help="a web server or folder holding the files as BASE/NAME, tried first (repeatable)")
    parser.add_argument("--mirrors-only", action="store_true", help=f"never contact the public sources, only --from and mirrors (also: {fetch.MIRRORS_ONLY_ENV}=1)")
    parser.add_argument("--from", dest="imports", action="append", metavar="FILE", help="a release file you already have (any name): verified, then copied in (repeatable)")
    parser.add_argument("--check", action="store_true", help="only verify size and SHA-256 of the files present; download nothing")
    parser.add_argument("--timeout", type=float, default=fetch.FetchSettings.timeout, metavar="SECONDS", help="give up on a connection after this long without data")
    parser.add_argument("--retries", type=int, default=fetch.FetchSettings.retries, metavar="N", help="tries again after a timeout, a dropped connection or a server error, with growing pauses")
    cli.add_verbosity_options(parser, verbose_help="also report each source tried, each retry and why")
    args = parser.parse_args(argv)
    cli.configure_logging(args)
    args.mirror, args.imports = args.mirror or [], args.imports or []
    directory = resolve_model_dir(args.dest)
    releases = release_files(args.variant)
    if args.check:
        if args.mirror or args.imports:
            parser.error("--check only verifies what is already in the folder: leave out --mirror and --from")
        return fetch.check_and_report(releases, directory, args.quiet)
    if args.timeout <= 0 or args.retries < 0:
        parser.error("--timeout must be more than 0 and --retries at least 0")
    mirrors = fetch.checked_mirrors(args.mirror) + fetch.environment_mirrors()
    mirrors_only = args.mirrors_only or fetch.environment_flag(fetch.MIRRORS_ONLY_ENV)
    if mirrors_only and not mirrors and not args.imports:
        parser.error("--mirrors-only needs at least one --mirror or --from")
    settings = fetch.FetchSettings(timeout=args.timeout, retries=args.retries)
    return fetch.fetch_and_report(
        releases, directory, mirrors=mirrors, imports=args.imports, mirrors_only=mirrors_only, settings=settings, quiet=args.quiet
    )


if __name__ == "__main__":
    sys.exit(cli.run(main))
