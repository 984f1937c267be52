"""Starting the Streamlit app: a free localhost port and the command line."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

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
