"""Start the app as a ``streamlit run`` subprocess on 127.0.0.1, wait until it serves, and stop it.

Used by ``make run`` (through scripts/serve_app.sh), the browser tests and the UI benchmark.
``python -m ui.server`` starts the app in the background, prints its address and returns;
``--foreground`` keeps it attached to the terminal instead.
"""

from __future__ import annotations

import argparse
import json
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
            if _is_healthy(self.port):
                return
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


def state_file() -> Path:
    """Return the file that lists the background servers started here (``$BSB_APP_STATE`` overrides it)."""
    return Path(os.environ.get("BSB_APP_STATE") or REPO_ROOT / ".bsb-app.json")


def served_store(db: str | None) -> str:
    """Return the absolute path of the store a server started with ``db`` shows, resolved as the app resolves it."""
    from ui.location import resolve_location

    if db is not None:
        return str(Path(db).resolve())
    # The server runs in REPO_ROOT, where ./bsb.db and bsb.toml are looked up.
    previous = Path.cwd()
    os.chdir(REPO_ROOT)
    try:
        return str(resolve_location().path)
    finally:
        os.chdir(previous)


def _is_healthy(port: int) -> bool:
    """Return True when the app on ``ADDRESS:port`` returns ``ok`` from its health endpoint."""
    try:
        with urllib.request.urlopen(f"http://{ADDRESS}:{port}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _group_is_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_servers() -> list[dict[str, object]]:
    """Return the recorded background servers whose process group still runs; an unreadable list counts as empty."""
    try:
        entries = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(entries, list):
        return []
    alive = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("group"), int) and isinstance(entry.get("port"), int):
            if _group_is_alive(entry["group"]):
                alive.append(entry)
    return alive


def record_server(server: AppServer, store: str) -> None:
    """Add a started background server to the state file, dropping the entries of stopped ones."""
    entries = [*running_servers(), {"group": server.process.pid, "port": server.port, "store": store, "log": str(server.log_file)}]
    try:
        state_file().write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        log.warning("could not record the app server in %s: %s", state_file(), error)


def main(argv: list[str] | None = None) -> int:
    """Serve the app on 127.0.0.1 and print its address; detach unless ``--foreground``.

    In the background, a server already started here for the same store is reused: its
    address is printed again instead of starting a second one.
    """
    parser = argparse.ArgumentParser(prog="python -m ui.server", description="Serve the BSB app on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"Port to try first (default {DEFAULT_PORT}); the next free one is used when it is taken.")
    parser.add_argument("--db", default=None, help="Store to show. Default: $BSB_DB, bsb.toml's database, else ./bsb.db.")
    parser.add_argument("--foreground", action="store_true", help="Keep the server attached to this terminal until Ctrl-C.")
    parser.add_argument("--new", action="store_true", help="Start another server even when one already serves this store.")
    args = parser.parse_args(argv)

    store = served_store(args.db)
    if not args.foreground and not args.new:
        for entry in running_servers():
            if entry.get("store") == store and _is_healthy(int(entry["port"])):
                group = entry["group"]
                print(f"BSB app already serving at http://{ADDRESS}:{entry['port']}")
                print(f"  server process group {group}, log {entry.get('log')}; stop it with: kill -- -{group}")
                return 0

    server = AppServer(port=free_port(args.port), db=args.db)
    try:
        server.start()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        server.stop()
        return 1
    print(f"BSB app serving at {server.url}")
    if not args.foreground:
        record_server(server, store)
        print(f"  server process group {server.process.pid}, log {server.log_file}; stop it with: kill -- -{server.process.pid}")
        return 0
    try:
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
