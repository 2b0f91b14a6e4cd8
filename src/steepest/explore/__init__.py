"""``steepest explore``: an interactive explorer in the browser, computed live by steepest.

Two pages, served by a local web app (:mod:`steepest.explore.server`, Starlette on uvicorn):
the optimizer view (drag the start point on a contour plot, pick a method and its
hyperparameters, watch the trajectory, the loss curve, the observed against the theoretical rate
and the diagnostics) and the network view (train a small network on a 2-D dataset and watch its
decision boundary, losses and gradients). Needs the ``explore`` extra:
``pip install "steepest[explore]"``.

This module imports neither Starlette nor uvicorn, so that ``steepest --help`` stays fast and
works without the extra.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable
from typing import Any

__all__ = ["serve", "url_for", "is_loopback", "listen", "PortError", "add_cli", "cli_main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_for(host: str, port: int) -> str:
    """The address to open in a browser."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown:  # an IPv6 literal
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


class PortError(OSError, ValueError):
    """The address cannot be listened on (the port is taken, or not ours to use). An OSError
    with the errno of the failed bind; also a ValueError, so that ``steepest explore`` reports
    it as a bad argument: one line and exit status 2."""

    def __str__(self) -> str:
        return str(self.strerror)


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` (as uvicorn binds it), for the server to use.

    Binding here, before uvicorn starts, turns "address already in use" into a
    :class:`PortError` naming the address and what to do, instead of uvicorn's log line and
    exit status 3; and the server then uses this very socket, so nothing can take the port in
    between.

    Raises
    ------
    PortError
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        where = url_for(host, port).removeprefix("http://").rstrip("/")
        if error.errno == errno.EADDRINUSE:
            why = ("the port is already in use (another steepest explore?); choose another with "
                   "--port N, or --port 0 for any free one")
        elif error.errno == errno.EACCES:
            why = "permission denied (ports below 1024 need privileges); choose --port 8050"
        else:
            why = f"{error.strerror or error}; check --host and --port"
        raise PortError(error.errno, f"explore: cannot listen on {where}: {why}") from None
    sock.set_inheritable(True)
    return sock


def _missing_extra(error: ImportError) -> ImportError:
    return ImportError(f"steepest explore needs Starlette and uvicorn ({error.name} is missing): "
                       f'pip install "steepest[explore]"')


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, open_browser: bool = True,
          echo: Callable[[str], Any] = print) -> None:
    """Run the explorer until interrupted (Ctrl-C stops it cleanly).

    Parameters
    ----------
    host : str, default "127.0.0.1"
        Address to bind. Anything but a loopback address makes the explorer reachable from
        other machines; a warning is printed then.
    port : int, default 8050
        TCP port (0 picks a free one).
    open_browser : bool, default True
        Open the page in the default browser once the server listens.
    echo : callable
        Where the URL and warnings are written.

    Raises
    ------
    PortError
        When the address cannot be listened on (the port is in use), before anything is
        served.
    """
    try:
        import uvicorn

        from .server import create_app
    except ImportError as error:
        raise _missing_extra(error) from None
    sock = listen(host, port)
    port = sock.getsockname()[1]  # the one the OS picked for port 0
    if not is_loopback(host):
        echo(f"warning: binding to {host}: anyone who can reach this machine on port {port} can "
             f"use the explorer and its CPU time; use --host 127.0.0.1 to keep it local")
    config = uvicorn.Config(create_app(host=host, port=port), host=host, port=port,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:  # print the URL once the port is bound
        await original_startup(sockets=sockets)
        bound = port
        for s in getattr(server, "servers", []):
            for sock in getattr(s, "sockets", []):
                bound = sock.getsockname()[1]
        url = url_for(host, bound)
        echo(f"steepest explore: serving on {url} (Ctrl-C to stop)")
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    server.startup = startup  # type: ignore[method-assign]
    try:
        # uvicorn handles SIGINT/SIGTERM (finishing requests in flight), then raises the signal
        # again once shut down: that KeyboardInterrupt is the normal way out.
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    echo("steepest explore: stopped")


# --------------------------------------------------------------------------- command line
def add_cli(commands: Any, subparser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``steepest explore`` to the CLI's subcommands (``subparser`` as in steepest.cli)."""
    p = subparser(
        commands, "explore", "the interactive explorer in the browser (local web app)",
        "Start a local web server with the interactive explorer: the optimizer view (pick a\n"
        "problem, click the start point, move the learning rate, watch the trajectory, loss\n"
        "curve, rates and diagnostics) and the network view (train a small network on a 2-D\n"
        "dataset). Prints the URL and opens the browser. Ctrl-C stops it. Needs\n"
        'pip install "steepest[explore]".',
        "steepest explore\nsteepest explore --port 8080 --no-browser")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help="address to bind; a non-loopback address serves other machines too "
                        "(a warning is printed)")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help="TCP port (0: any free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 65535], got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 65535], got {value}")
    return value


def cli_main(args: argparse.Namespace) -> int:
    """Run ``steepest explore`` with parsed arguments; the exit status."""
    def echo(text: str) -> None:
        print(text, file=sys.stderr if text.startswith("warning") else sys.stdout, flush=True)
    serve(args.host, args.port, open_browser=not args.no_browser, echo=echo)
    return 0
