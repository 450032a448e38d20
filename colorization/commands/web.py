"""colorize-web: colorize photos in the browser, and serve the same over a REST API."""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
import threading
import webbrowser
from pathlib import Path

from ..errors import UsageError
from ..picture_header import OPENCV_MAX_PIXELS
from . import arguments, logs, running, values

DEFAULT_PORT = 8000
PORTS_TRIED = 20


EPILOG = (
    "exit codes: 0 stopped with Ctrl-C, 2 usage error (a bad option, no free port; a model problem is shown on the page), "
    f"143 terminated\n{arguments.REFERENCE}"
)


class Megapixels(argparse.Action):
    """The old --max-megapixels MP: still works, as --max-pixels of MP million, and says it is deprecated (once
    logging is set up, so that -q silences it like any warning)."""

    def __call__(self, parser, namespace, value, option_string=None):
        pixels = round(value * 1_000_000)
        setattr(namespace, self.dest, pixels)
        namespace.deprecation = f"{option_string} is deprecated: use --max-pixels {pixels} (the same limit, in pixels)"


def build_parser(prog: str | None = None):
    parser = arguments.new_parser(
        prog, "Colorize photos in the browser, and serve the same over a REST API: {prog}", EPILOG
    )
    parser.set_defaults(deprecation=None)
    server = parser.add_argument_group("server")
    server.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; any other than loopback needs the token (printed at start)",
    )
    server.add_argument(
        "--port",
        type=values.number_from(1, 65535, whole=True),
        default=DEFAULT_PORT,
        help="port; the next free one is taken when it is in use",
    )
    server.add_argument("--no-browser", action="store_true", help="do not open the page in the browser")
    server.add_argument(
        "--token",
        metavar="TOKEN",
        help="the token clients must give (default: one is generated when the address is not loopback)",
    )
    server.add_argument(
        "--no-auth",
        action="store_true",
        help="serve a non-loopback address WITHOUT a token: anyone who can reach it may use it",
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-upload-mb",
        type=values.number_from(0.001, 4096),
        default=50,
        metavar="MB",
        help="largest upload accepted",
    )
    arguments.add_picture_limit_option(limits)
    limits.add_argument(
        "--max-megapixels",
        type=values.number_from(0.001, OPENCV_MAX_PIXELS / 1e6),
        dest="max_pixels",
        action=Megapixels,
        default=argparse.SUPPRESS,
        metavar="MP",
        help="deprecated: the same limit in millions of pixels (use --max-pixels)",
    )
    limits.add_argument(
        "--cache-mb",
        type=values.number_from(1, 1 << 20),
        default=512,
        metavar="MB",
        help="memory for the photos kept for live re-rendering (least recently used dropped first)",
    )
    limits.add_argument(
        "--queue",
        type=values.number_from(0, 1000, whole=True),
        default=8,
        metavar="N",
        help="photos waiting for the network beyond the one running; more get 503 with Retry-After",
    )
    limits.add_argument(
        "--preview-size",
        type=values.number_from(64, 8192, whole=True),
        default=1024,
        metavar="PIXELS",
        help="longest side of the on-screen previews",
    )
    add_film_options(parser)
    arguments.add_model_options(parser)
    arguments.add_verbosity_options(parser, "also log each photo and request")
    return parser


def add_film_options(parser) -> None:
    films = parser.add_argument_group(
        "films",
        "films dropped on the page or posted to /api/films are colorized one at a time, as video_colorize.py would",
    )
    films.add_argument(
        "--work-dir",
        type=Path,
        metavar="DIR",
        help="folder the server keeps uploaded and colorized films in; its films are removed when it stops (default: web-films in your cache folder)",
    )
    films.add_argument(
        "--max-film-mb",
        type=values.number_from(1, 1 << 30),
        default=2048,
        metavar="MB",
        help="largest film upload, refused while it streams in",
    )
    films.add_argument(
        "--max-film-minutes",
        type=values.number_from(0.01, 1e6),
        default=180,
        metavar="MIN",
        help="longest film accepted",
    )
    films.add_argument(
        "--keep-films-hours",
        type=values.number_from(0.01, 1e6),
        default=24,
        metavar="HOURS",
        help="finished films are deleted this long after their last change",
    )
    films.add_argument(
        "--film-queue",
        type=values.number_from(0, 1000, whole=True),
        default=4,
        metavar="N",
        help="films waiting beyond the one running; more get 503 with Retry-After",
    )


def film_settings_from_args(args):
    from ..web.film_jobs import FilmSettings
    from ..web.uploads import MEGABYTE

    films = FilmSettings(
        work_dir=args.work_dir,
        max_bytes=int(args.max_film_mb * MEGABYTE),
        max_seconds=args.max_film_minutes * 60,
        keep_seconds=args.keep_films_hours * 3600,
        queue_size=args.film_queue,
    )
    if films.folder.exists() and not (films.folder.is_dir() and os.access(films.folder, os.W_OK | os.X_OK)):
        raise UsageError(f"--work-dir {films.folder} is not a folder this server can write films in: give another")
    return films


def settings_from_args(args):
    """The app's settings, with the access rule: loopback is open, anything else needs a token unless --no-auth."""
    from ..web.auth import LOOPBACK_NAMES, is_loopback, new_token
    from ..web.service import WebSettings

    if args.token is not None and len(args.token) < 16:
        raise UsageError("--token must be at least 16 characters (or leave it out to have one generated)")
    if args.token and args.no_auth:
        raise UsageError("--token and --no-auth contradict each other: choose one")
    loopback = is_loopback(args.host)
    token = args.token
    if token is None and not loopback and not args.no_auth:
        token = new_token()
    if args.deprecation:
        logs.log.warning("warning: %s", args.deprecation)
    if args.no_auth and not loopback:
        logs.log.warning(
            "warning: --no-auth on %s: anyone who can reach this address can use the server and see its photos",
            args.host,
        )
    return WebSettings(
        token=token,
        allowed_hosts=LOOPBACK_NAMES if loopback and token is None else None,
        max_upload_bytes=int(args.max_upload_mb * (1 << 20)),
        max_pixels=args.max_pixels,
        cache_bytes=int(args.cache_mb * (1 << 20)),
        queue_size=args.queue,
        preview_side=args.preview_size,
        default_temperature=args.temperature,
        films=film_settings_from_args(args),
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on the port asked for, or the next free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in range(port, port + PORTS_TRIED):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as error:
            sock.close()
            if error.errno == errno.EADDRINUSE:
                continue
            raise UsageError(f"cannot listen on {host}:{candidate} ({error.strerror or error})") from None
        sock.listen(128)
        return sock
    raise UsageError(f"ports {port} to {port + PORTS_TRIED - 1} are all in use on {host}: pick another with --port")


def machine_address() -> str:
    """This machine's address as other devices on its network see it (no packet is sent to find it)."""
    from ..web.auth import is_loopback

    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        address = ""
    return address if address and not is_loopback(address) else "THIS-MACHINES-ADDRESS"


def main(argv=None, prog: str | None = None) -> int:
    args = arguments.parse_arguments(build_parser(prog), argv)
    settings = settings_from_args(args)
    import uvicorn

    from ..web.app import create_app

    app = create_app(arguments.colorizer_settings(args), settings)
    sock = bind(args.host, args.port)
    port = sock.getsockname()[1]
    shown_host = (
        "127.0.0.1" if args.host in ("0.0.0.0", "::") else (f"[{args.host}]" if ":" in args.host else args.host)
    )
    address = f"http://{shown_host}:{port}/"
    if settings.token:
        address += f"?token={settings.token}"
    if port != args.port:
        print(f"port {args.port} is in use: took {port}", file=sys.stderr)
    print(f"Serving on {address}  (Ctrl-C stops)", flush=True)
    if args.host in ("0.0.0.0", "::"):
        print(
            f"from other devices: http://{machine_address()}:{port}/"
            + (f"?token={settings.token}" if settings.token else ""),
            flush=True,
        )
    if settings.token and args.token is None:
        print(f"token: {settings.token}  (API clients send 'Authorization: Bearer {settings.token}')", flush=True)
    if not args.no_browser:
        threading.Timer(0.5, webbrowser.open, (address,)).start()
    config = uvicorn.Config(
        app, log_level="info" if args.verbose else "warning", access_log=args.verbose, timeout_graceful_shutdown=2
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stops gracefully on Ctrl-C, then raises it again
        pass
    return running.EXIT_OK


def entry() -> None:
    sys.exit(running.run(main))
