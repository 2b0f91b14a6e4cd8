"""``steepest explore`` from the command line: URL, warning, clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from steepest.cli import build_parser  # noqa: E402
from steepest.explore import is_loopback, url_for  # noqa: E402

SRC = Path(__file__).resolve().parents[2] / "src"


def test_arguments_and_defaults() -> None:
    args = build_parser().parse_args(["explore"])
    assert (args.host, args.port, args.no_browser) == ("127.0.0.1", 8050, False)
    args = build_parser().parse_args(["explore", "--host", "0.0.0.0", "--port", "0", "--no-browser"])
    assert (args.host, args.port, args.no_browser) == ("0.0.0.0", 0, True)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["explore", "--port", "70000"])


def test_loopback_and_url() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert url_for("127.0.0.1", 8050) == "http://127.0.0.1:8050/"
    assert url_for("::1", 80) == "http://[::1]:80/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(*extra: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "steepest", "explore", "--no-browser",
                                "--port", str(_free_port()), *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    assert "serving on http://" in line, (line, process.stderr.read() if process.poll() else "")
    return process, line.split("serving on ")[1].split()[0]


def test_serves_prints_the_url_and_stops_cleanly_on_ctrl_c() -> None:
    process, url = _start()
    try:
        with urllib.request.urlopen(url + "api/health", timeout=10) as response:
            assert json.loads(response.read())["ok"] is True
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b"steepest explore" in response.read()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped" in out


def test_a_non_loopback_host_prints_a_warning() -> None:
    process, url = _start("--host", "0.0.0.0")
    try:
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert "warning: binding to 0.0.0.0" in err
    assert url.startswith("http://127.0.0.1:")
