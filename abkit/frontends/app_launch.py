"""Starting the Streamlit app: a free localhost port and the command line."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from abkit.resources import resource_dir


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_script() -> Path:
    """The app's entry script: packaged, or beside the package in a checkout."""
    return resource_dir("app") / "streamlit_app.py"


def streamlit_command(directory: Path, port: int) -> list[str]:
    """`streamlit run` bound to 127.0.0.1, headless, no telemetry, for `directory`."""
    return [
        sys.executable, "-m", "streamlit", "run", str(app_script()),
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
        "--", "--dir", str(directory),
    ]  # fmt: skip


def run_app(command: Sequence[str]) -> int:
    """Run the Streamlit server until it exits; SIGTERM / SIGHUP stop it too.

    The signals are forwarded to the server, so stopping `abkit app` (a service
    manager, `kill`) never leaves a streamlit process behind. Returns its exit code.
    """
    process = subprocess.Popen(list(command))

    def forward(signum: int, _frame: FrameType | None) -> None:
        process.send_signal(signum)

    stops = (signal.SIGTERM, signal.SIGHUP)
    previous = {stop: signal.signal(stop, forward) for stop in stops}
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:  # Ctrl+C reached the server too; let it finish
                process.send_signal(signal.SIGINT)
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
