"""Start the app as a ``streamlit run`` subprocess on 127.0.0.1, wait until it serves, and stop it.

Used by ``make run`` (through scripts/serve_app.sh), the browser tests and the UI benchmark.
``python -m ui.server`` starts the app in the background, prints its address and returns;
``--foreground`` keeps it attached to the terminal instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "ui" / "app.py"
ADDRESS = "127.0.0.1"
DEFAULT_PORT = 8501  # Streamlit's own default
# Ports tried after DEFAULT_PORT when it is taken.
PORT_ATTEMPTS = 20
# Seconds to wait for the server's health endpoint; the first start imports pandas, altair and the app.
READY_TIMEOUT_S = 120.0
# Seconds a stopped server gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0


def port_is_free(port: int) -> bool:
    """Return True when nothing listens on ``ADDRESS:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ADDRESS, port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None) -> int:
    """Return ``preferred`` or one of the next PORT_ATTEMPTS ports if free, else any free port."""
    if preferred:
        for port in range(preferred, preferred + PORT_ATTEMPTS):
            if port_is_free(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((ADDRESS, 0))
        return int(probe.getsockname()[1])


def streamlit_command(port: int, app: Path = APP) -> list[str]:
    """Return the ``streamlit run`` command line for ``app`` on ``ADDRESS:port``, headless and without usage statistics."""
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true",
        "--server.address", ADDRESS,
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",  # no "Deploy" button: this is a local app
        # Reloading on source changes is for development. With the watcher on, Streamlit checks
        # every imported module after each script run, which made each page load about 0.5 s slower.
        "--server.fileWatcherType", "none",
    ]  # fmt: skip


class AppServer:
    """A ``streamlit run`` subprocess (the BSB app unless ``app`` names another script) in its own process group.

    Use it as a context manager to stop it at the end.
    """

    def __init__(
        self, port: int | None = None, db: str | os.PathLike[str] | None = None, log_file: Path | None = None, app: Path = APP
    ) -> None:
        self.port = port or free_port()
        self.db = db
        self.app = app
        self.log_file = log_file or Path(tempfile.gettempdir()) / f"bsb-app-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The app's address, e.g. ``http://127.0.0.1:8501``."""
        return f"http://{ADDRESS}:{self.port}"

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> AppServer:
        """Start the server and return once its health endpoint responds; raise RuntimeError naming the log otherwise."""
        env = dict(os.environ)
        if self.db is not None:
            env["BSB_DB"] = str(self.db)
        with self.log_file.open("wb") as output:
            self.process = subprocess.Popen(
                streamlit_command(self.port, self.app), cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        log.info("started the app server %d on %s (log %s)", self.process.pid, self.url, self.log_file)
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s: float) -> None:
        """Poll the health endpoint until it responds ``ok``; raise RuntimeError when the server exits or times out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the app server exited with status {self.process.returncode}; see {self.log_file}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the app server on {self.url} did not respond within {timeout_s:.0f} s; see {self.log_file}")

    def stop(self) -> None:
        """Stop the server's whole process group: SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("the app server %d ignored SIGTERM; killing it", self.process.pid)
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)
        log.info("stopped the app server %d", self.process.pid)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve the app on 127.0.0.1 and print its address; detach unless ``--foreground``."""
    parser = argparse.ArgumentParser(prog="python -m ui.server", description="Serve the BSB app on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"Port to try first (default {DEFAULT_PORT}); the next free one is used when it is taken.")
    parser.add_argument("--db", default=None, help="Store to show. Default: $BSB_DB, bsb.toml's database, else ./bsb.db.")
    parser.add_argument("--foreground", action="store_true", help="Keep the server attached to this terminal until Ctrl-C.")
    args = parser.parse_args(argv)

    server = AppServer(port=free_port(args.port), db=args.db)
    try:
        server.start()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        server.stop()
        return 1
    print(f"BSB app serving at {server.url}")
    if not args.foreground:
        print(f"  server process group {server.process.pid}, log {server.log_file}; stop it with: kill -- -{server.process.pid}")
        return 0
    try:
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
