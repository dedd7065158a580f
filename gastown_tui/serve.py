"""`gastown --serve`: the same app in a browser, through textual-serve.

One process serves the page; every browser tab that opens it gets its own `gastown` app
process (textual-serve starts one per websocket). So that the tabs share one town and one
engine, the server runs the town's engine itself — or, when an engine already holds the
town (a headless `gastown --engine-only`, another app), leaves that one in charge — and
every tab's app attaches to it, as the app attaches to a headless engine in a terminal.

The page drives the town with no login: whoever reaches the port can sling work and start
agents. So it binds to loopback unless told otherwise (and warns then), and refuses
websockets from other sites' pages (a page on any site the person visits could otherwise
open ws://127.0.0.1:PORT/ws from their browser) and from host names that are not ours
(DNS rebinding).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import shlex
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.server import Server

from engine.errors import GtError, UsageError

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.town import Town

log = logging.getLogger("gastown.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SHUTDOWN_GRACE = 3.0  # seconds a closing tab's app gets to quit before it is ended


class Endpoint(NamedTuple):
    host: str
    port: int
    loopback: bool  # every address the host names is a loopback one


def check_endpoint(host: str, port: int) -> Endpoint:
    """The host resolved and the port free, or a GtError that says which is wrong."""
    if not 1 <= port <= 65535:
        raise UsageError(f"port {port} is not a TCP port (1-65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"cannot serve on host {host!r}: {_reason(exc)}") from None
    loopback = all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
    )
    # Bind once the way aiohttp will (SO_REUSEADDR), so a taken port or an address that is
    # not this machine's is a one-line error here, not a traceback from deep in the loop.
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise _bind_error(host, port, exc) from None
    return Endpoint(host, port, loopback)


def _reason(exc: BaseException) -> str:
    return str(exc.args[-1] if exc.args else exc).rstrip(".").lower()


def _bind_error(host: str, port: int, exc: OSError) -> GtError:
    if exc.errno == errno.EADDRINUSE:
        return GtError(f"port {port} on {host} is in use; choose another with --port")
    if exc.errno == errno.EACCES:
        return GtError(f"not allowed to bind port {port} on {host}; choose one above 1023")
    if exc.errno == errno.EADDRNOTAVAIL:
        return GtError(f"{host} is not an address of this machine; cannot serve on it")
    return GtError(f"cannot serve on {host}:{port}: {_reason(exc)}")


def exposure_warning(endpoint: Endpoint) -> str:
    return (
        f"gastown: warning: serving on {endpoint.host}:{endpoint.port}, not loopback: anyone "
        "who can reach this port drives the town (slings work, starts agents, reads its "
        "mail) — there is no login. Prefer the default 127.0.0.1 and an SSH tunnel."
    )


def app_command(town: Town) -> str:
    """The shell command textual-serve runs for each tab: this same app, on this town.
    `exec`, so the app is the shell's own process and ends with it."""
    argv = [sys.executable, "-m", "gastown_tui.start", "--town", town.root]
    return "exec " + shlex.join(argv)


def _allowed_names(host: str) -> set[str]:
    names = {host.lower(), "localhost", socket.gethostname().lower(), socket.getfqdn().lower()}
    return {n.strip("[]") for n in names}


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(request_host: str, origin: str | None, allowed: set[str]) -> bool:
    """A request for our page or websocket names us (an IP, or one of our names — not a
    stranger's domain rebound to our address), and a websocket opened by a page comes
    from our own page (its Origin is the host it asks)."""
    name = (urlsplit(f"//{request_host}").hostname or "").lower()
    if not (_is_ip(name) or name in allowed):
        return False
    if origin is None:  # not a browser page (a script, a test): no site to confuse
        return True
    return urlsplit(origin).netloc.lower() == request_host.lower()


class TownServer(Server):
    """textual-serve's server with the town's engine, origin checks and a clean stop."""

    def __init__(self, town: Town, endpoint: Endpoint, *, verbose: bool = False) -> None:
        super().__init__(app_command(town), host=endpoint.host, port=endpoint.port)
        self.town = town
        self.title = "Gas Town"
        self.verbose = verbose
        self.allowed = _allowed_names(endpoint.host)
        self.engine: Engine | None = None
        self._engine_run: asyncio.Task[None] | None = None
        self._stop_engine = asyncio.Event()
        self._sessions: set[asyncio.Task[Any]] = set()

    def initialize_logging(self) -> None:
        from engine.headless import setup_logging

        setup_logging(self.verbose)
        # aiohttp logs every page and websocket request at INFO: noise beside the engine's
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.on_cleanup.append(self._close_engine)
        return app

    async def on_startup(self, app: web.Application) -> None:
        await self._open_engine()
        shown = "localhost" if self.host in ("127.0.0.1", "::1") else self.host
        url = f"http://{shown}:{self.port}" if ":" not in shown else f"http://[{shown}]:{self.port}"
        print(f"gastown: serving {self.town.root} on {url} (Ctrl-C stops)", flush=True)

    async def _open_engine(self) -> None:
        from engine.engine import Engine
        from engine.lock import holder_pid

        engine = Engine(self.town)
        await engine.start(attach_if_running=True)
        if engine.mode == "attached":
            # Another engine holds the town: it does the work, the tabs attach to it.
            pid = holder_pid(self.town.lock_path)
            print(f"gastown: the town's engine runs already (pid {pid}); the tabs attach to it")
            await engine.stop()
            return
        self.engine = engine
        self._engine_run = asyncio.create_task(engine.run(self._stop_engine))

    async def _close_engine(self, app: web.Application) -> None:
        self._stop_engine.set()
        if self._engine_run is not None:
            with contextlib.suppress(Exception):
                await self._engine_run
        if self.engine is not None:
            await self.engine.stop()

    async def on_shutdown(self, app: web.Application) -> None:
        # Each open tab's handler sends its app "quit" when cancelled, then waits for it.
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.wait(list(self._sessions), timeout=SHUTDOWN_GRACE)

    async def handle_index(self, request: web.Request) -> Any:
        if not host_allowed(request.host, None, self.allowed):
            raise web.HTTPForbidden(text="unknown host name\n")
        # The page's websocket address is built from public_url: make it the address the
        # browser used, so a page loaded through a name or another interface still works.
        # Nothing awaits between this and the page's rendering.
        self.public_url = f"http://{request.host}"
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not host_allowed(request.host, request.headers.get("Origin"), self.allowed):
            raise web.HTTPForbidden(text="cross-site request refused\n")
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self._sessions.discard(task)

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT, SIGTERM or SIGHUP; then close the tabs' apps and the
        engine, and end any app process that did not quit in time."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_exit)
        try:
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                handle_signals=False,
                loop=loop,
                print=None,
                shutdown_timeout=SHUTDOWN_GRACE,
            )
        finally:
            _end_children()


def _end_children() -> None:
    from engine.polecats import proctree

    me = os.getpid()
    left = proctree.descendants(me) - {me}
    if left:
        log.warning("ending %d app process(es) that did not quit", len(left))
        proctree.terminate(left)


def check_args(host: str | None, port: int | None) -> Endpoint:
    """The command line's --host and --port (defaults: loopback, 8000), checked; the
    warning for a non-loopback address is printed here, before anything starts."""
    endpoint = check_endpoint(
        DEFAULT_HOST if host is None else host, DEFAULT_PORT if port is None else port
    )
    if not endpoint.loopback:
        sys.stderr.write(exposure_warning(endpoint) + "\n")
        sys.stderr.flush()
    return endpoint


def run_server(town: Town, endpoint: Endpoint, *, verbose: bool = False) -> int:
    server = TownServer(town, endpoint, verbose=verbose)
    try:
        server.serve()
    except GtError as exc:
        sys.stderr.write(f"gastown: error: {exc.message}\n")
        return exc.exit_code
    except OSError as exc:  # the port was taken between the check and the bind
        error = _bind_error(endpoint.host, endpoint.port, exc)
        sys.stderr.write(f"gastown: error: {error.message}\n")
        return 1
    return 0
