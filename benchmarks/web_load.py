"""web_colorize.py under load, a slider move on a 12 MP photo against a full run, and photos while a film runs, on
127.0.0.1 only.

    python -m benchmarks.web_load                        # 20 clients x 3 requests, 2 MP photos
    python -m benchmarks.web_load --clients 50 --requests 2 --work-dir /tmp/web-bench

The server runs as users run it (a separate web_colorize.py process with the release architecture and random
weights: the real model's compute), so its peak memory (VmHWM) is its own. Each client posts photos to
/api/colorize; a 503 is counted and retried after its Retry-After, anything else that is not an image is a failure
(there must be none). Then one 12 MP photo is added as the page adds it (the full run), and the vividness slider is
moved: each re-render's server time is read from its Server-Timing header. Last, photos are sent one at a time to
the idle server, then again while it colorizes a film (a 640x480 clip, posted to /api/films): their latency both
ways, and the film's frames per second meanwhile (the film is deleted once the photos are answered).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import requests

REPO = Path(__file__).resolve().parent.parent

from benchmarks.batch_benchmark import synthetic_scan
from benchmarks.video_benchmark import make_clip
from tests.support.release_model import release_architecture

HOST = "127.0.0.1"


def free_port() -> int:
    from colorization.commands.web import bind

    sock = bind(HOST, 0)
    port = sock.getsockname()[1]
    sock.close()
    return port


def start_server(files: dict, port: int, engine: str, queue: int, films: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        str(REPO / "web_colorize.py"),
        "--no-browser",
        "--host",
        HOST,
        "--port",
        str(port),
        "--engine",
        engine,
        "--queue",
        str(queue),
        "--work-dir",
        str(films),
        "-q",
    ]
    for key, path in files.items():
        command += [f"--{key}", str(path)]
    server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"error: the server stopped (exit code {server.returncode}) before answering")
        try:
            if requests.get(f"http://{HOST}:{port}/api/health", timeout=1).json().get("model_loaded"):
                return server
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit("error: the server did not answer within 3 minutes")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def jpeg(width: int, height: int, seed: int) -> bytes:
    scan = synthetic_scan(seed, False)
    return cv2.imencode(
        ".jpg", cv2.resize(scan, (width, height), interpolation=cv2.INTER_AREA), [cv2.IMWRITE_JPEG_QUALITY, 92]
    )[1].tobytes()


def load(base: str, photo: bytes, clients: int, per_client: int) -> dict:
    """Every client sends its requests one after another; all clients at once."""
    latencies, busy, failures, served = [], [0], [], [0]
    lock = threading.Lock()

    def client(number: int) -> None:
        session = requests.Session()
        for index in range(per_client):
            start = time.perf_counter()
            while True:
                try:
                    response = session.post(
                        f"{base}/api/colorize?temperature={0.3 + 0.05 * (index % 4):.2f}",
                        data=photo,
                        headers={"Content-Type": "image/jpeg"},
                        timeout=300,
                    )
                except requests.RequestException as error:
                    with lock:
                        failures.append(f"client {number}: {type(error).__name__}: {error}")
                    break
                if response.status_code == 503 and response.headers.get("Retry-After", "").isdigit():
                    with lock:
                        busy[0] += 1
                    time.sleep(int(response.headers["Retry-After"]))
                    continue
                ok = response.status_code == 200 and response.content[:2] == b"\xff\xd8"
                with lock:
                    if ok:
                        served[0] += 1
                        latencies.append(time.perf_counter() - start)
                    else:
                        failures.append(f"client {number}: HTTP {response.status_code} {response.text[:120]}")
                break

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "served": served[0],
        "busy": busy[0],
        "failures": failures,
        "latencies": latencies,
        "seconds": time.perf_counter() - started,
    }


def slider(base: str, photo: bytes, moves: int) -> dict:
    """The page's path: add the photo (one network run), then re-render the preview at other vividness values."""
    start = time.perf_counter()
    added = requests.post(f"{base}/api/photos", files={"file": ("big.jpg", photo, "image/jpeg")}, timeout=300)
    added.raise_for_status()
    full_run = time.perf_counter() - start
    photo_id = added.json()["id"]
    server_ms, client_ms = [], []
    for index in range(moves + 1):
        temperature = 0.15 + 0.8 * index / max(1, moves)
        start = time.perf_counter()
        response = requests.get(f"{base}/api/photos/{photo_id}/preview?temperature={temperature:.3f}", timeout=60)
        response.raise_for_status()
        if index:  # the first one warms the lookup tables
            client_ms.append((time.perf_counter() - start) * 1000)
            server_ms.append(float(response.headers["Server-Timing"].split("dur=")[1]))
    start = time.perf_counter()
    colorized = requests.post(f"{base}/api/colorize", data=photo, headers={"Content-Type": "image/jpeg"}, timeout=300)
    colorized.raise_for_status()
    rest_seconds = time.perf_counter() - start
    start = time.perf_counter()
    requests.get(f"{base}/api/photos/{photo_id}/download", timeout=300).raise_for_status()
    download_seconds = time.perf_counter() - start
    return {
        "add": full_run,
        "rest": rest_seconds,
        "download": download_seconds,
        "server_ms": server_ms,
        "client_ms": client_ms,
    }


def photo_latencies(base: str, photo: bytes, count: int, film_id: str | None = None) -> list[float]:
    """Seconds for each of `count` photos sent one after another; with `film_id`, only those answered while it ran."""
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        response = requests.post(
            f"{base}/api/colorize", data=photo, headers={"Content-Type": "image/jpeg"}, timeout=300
        )
        response.raise_for_status()
        if film_id is None or requests.get(f"{base}/api/films/{film_id}", timeout=10).json()["state"] == "running":
            seconds.append(time.perf_counter() - start)
    return seconds


def film_case(base: str, photo: bytes, count: int, clip: Path) -> dict:
    """Photos alone, then photos while a film runs, and the film's rate meanwhile."""
    alone = photo_latencies(base, photo, count)
    with open(clip, "rb") as film:
        film_id = requests.post(f"{base}/api/films", files={"file": ("reel.mp4", film)}, timeout=300).json()["id"]
    status = requests.get(f"{base}/api/films/{film_id}", timeout=10).json()
    while status["state"] == "queued" or status["state"] == "running" and status["frames_done"] < 5:
        time.sleep(0.2)
        status = requests.get(f"{base}/api/films/{film_id}", timeout=10).json()
    estimate, film_alone = status["estimate_seconds"], status["fps"]
    before, started = status["frames_done"], time.perf_counter()
    during = photo_latencies(base, photo, count, film_id)
    status = requests.get(f"{base}/api/films/{film_id}", timeout=10).json()
    frames_per_second = (status["frames_done"] - before) / (time.perf_counter() - started)
    requests.delete(f"{base}/api/films/{film_id}", timeout=60)
    return {
        "alone": alone,
        "during": during,
        "film_fps": frames_per_second,
        "film_alone": film_alone,
        "estimate": estimate,
        "frames": status["frames_total"],
    }


def print_film_case(film: dict, size: str) -> None:
    alone, during = film["alone"], film["during"]
    print(f"photos of {size} one at a time, server idle: p50 {percentile(alone, 0.5):.2f} s, max {max(alone):.2f} s")
    print(
        f"the same while a 640x480 film runs ({len(during)} answered during it): p50 {percentile(during, 0.5):.2f} s, "
        f"max {max(during, default=float('nan')):.2f} s"
    )
    print(
        f"the film: {film['film_alone']:.2f} frames/s alone, {film['film_fps']:.2f} while the photos were answered; "
        f"estimated before it started at {film['frames'] / film['estimate']:.2f} frames/s "
        f"({film['estimate']:.0f} s for {film['frames']} frames)"
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=3, help="requests per client")
    parser.add_argument("--load-size", default="1600x1200", help="WIDTHxHEIGHT of the photos the clients send")
    parser.add_argument("--moves", type=int, default=10, help="slider moves timed on the 12 MP photo")
    parser.add_argument("--engine", default="caffe", help="--engine for the server")
    parser.add_argument("--queue", type=int, default=8, help="--queue for the server")
    parser.add_argument("--reference-dir", help="folder with the release prototxt and pts_in_hull.npy")
    parser.add_argument(
        "--work-dir", type=Path, help="where the random-weight caffemodel goes (default: a temporary folder)"
    )
    parser.add_argument("--film-photos", type=int, default=6, help="photos timed alone and again while a film runs")
    parser.add_argument(
        "--film-seconds",
        type=float,
        default=60,
        help="length of the test film (it is deleted once the photos are answered)",
    )
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.load_size.lower().split("x"))
    with tempfile.TemporaryDirectory() as temporary:
        files = release_architecture(args.work_dir or Path(temporary), args.reference_dir)
        port = free_port()
        server = start_server(files, port, args.engine, args.queue, Path(temporary) / "films")
        base = f"http://{HOST}:{port}"
        try:
            health = requests.get(f"{base}/api/health", timeout=5).json()
            print(
                f"server: {health['engine']}; queue {args.queue}; {args.clients} clients x {args.requests} requests of {width}x{height}"
            )
            result = load(base, jpeg(width, height, 1), args.clients, args.requests)
            big = slider(base, jpeg(4000, 3000, 2), args.moves)
            film = film_case(
                base,
                jpeg(width, height, 3),
                args.film_photos,
                make_clip(Path(temporary) / "reel.mp4", args.film_seconds, size="640x480", rate=25),
            )
            peak = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(30)
    latencies = result["latencies"]
    print(f"requests served: {result['served']} of {args.clients * args.requests} in {result['seconds']:.1f} s")
    print(f"503 answers (retried after Retry-After): {result['busy']}")
    print(f"failures: {len(result['failures'])}")
    for line in result["failures"][:10]:
        print(f"  {line}")
    print(f"latency, retries included: p50 {percentile(latencies, 0.5):.2f} s, p95 {percentile(latencies, 0.95):.2f} s")
    print(
        f"12 MP photo: added (decode + network, what the page waits for) {big['add'] * 1000:.0f} ms; "
        f"POST /api/colorize full run {big['rest'] * 1000:.0f} ms; full-size download {big['download'] * 1000:.0f} ms"
    )
    print(
        f"slider re-render on it (screen-sized preview): server {statistics.median(big['server_ms']):.0f} ms median, "
        f"{max(big['server_ms']):.0f} ms max; at the client {statistics.median(big['client_ms']):.0f} ms median"
    )
    print_film_case(film, f"{width}x{height}")
    print(f"server peak RSS: {peak:.0f} MB")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
