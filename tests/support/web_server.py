"""The web app served by a real uvicorn on a free port of 127.0.0.1, in a thread: for the tests that need real
sockets (a browser, clients that stall or leave)."""

from __future__ import annotations

import contextlib
import threading
import time


@contextlib.contextmanager
def serving(app, **config):
    """The app's address for as long as the block runs; `config` goes to uvicorn.Config (log_config=None sends
    uvicorn's log to the root logger, where a test can read what it would print)."""
    import uvicorn

    from colorization.commands.web import bind

    sock = bind("127.0.0.1", 0)
    instance = uvicorn.Server(uvicorn.Config(app, **{"log_level": "warning", **config}))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert instance.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        instance.should_exit = True
        thread.join(10)
        sock.close()
