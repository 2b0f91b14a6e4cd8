"""QA regression of ``steepest explore``: a port already in use is one line and status 2
(uvicorn printed its own error and exited 3)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from steepest.explore import PortError, listen  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src"


def _held_port() -> socket.socket:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def test_listen_names_a_port_in_use() -> None:
    holder = _held_port()
    try:
        port = holder.getsockname()[1]
        with pytest.raises(PortError, match=f"127.0.0.1:{port}: the port is already in use"):
            listen("127.0.0.1", port)
    finally:
        holder.close()
    sock = listen("127.0.0.1", 0)
    assert sock.getsockname()[1] > 0
    sock.close()


def test_a_port_in_use_is_one_line_and_status_2() -> None:
    holder = _held_port()
    try:
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        done = subprocess.run([sys.executable, "-m", "steepest", "explore", "--no-browser",
                               "--port", str(holder.getsockname()[1])],
                              capture_output=True, text=True, timeout=60, env=env)
    finally:
        holder.close()
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("steepest explore: error: explore: cannot "
                                                   "listen on 127.0.0.1:"), done.stderr
    assert "already in use" in lines[0] and "--port" in lines[0]
