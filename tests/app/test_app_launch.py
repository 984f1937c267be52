"""`abkit app`: SIGTERM stops the Streamlit server it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from abkit.frontends.app_launch import free_port
from tests.app.conftest import REPO


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def test_sigterm_to_abkit_app_stops_the_streamlit_server(tmp_path: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "abkit.frontends.cli", "app",
               "--dir", str(tmp_path), "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 90
        while not healthy(url):
            assert process.poll() is None, "abkit app exited early"
            assert time.monotonic() < deadline, "the server never became healthy"
            time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        deadline = time.monotonic() + 15
        while healthy(url) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not healthy(url), "streamlit kept serving after SIGTERM to abkit app"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
