"""The part every scripted model server shares: a loopback HTTP server in a thread, the
request log, and the choice between the script's next turn, a fault and a side answer."""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tests.model_servers.script import Fault, Script, Turn, Usage

SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "x-goog-api-key", "cookie", "proxy-authorization"}
)
SECRET_QUERY = frozenset({"key", "api_key"})
MAIN = "main"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # secrets (``?key=``) removed
    headers: dict[str, str]  # secrets removed, names lower-case
    body: Any  # parsed JSON, or the raw text when it is not JSON
    kind: str  # "main" or the side request's kind ("title", "count_tokens", "schema", …)
    turn: int | None  # the script turn a main request selected
    status: int  # what the server answered
    fault: Fault | None = None
    usage: Usage | None = None  # the figures the answer reported, if it was a model answer


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    usage: Usage | None = None


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload).encode(), headers=headers or {})


def sse_reply(events: list[tuple[str | None, Any]]) -> Reply:
    """Server-sent events, whole: (event name or None, JSON data) each."""
    chunks = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        chunks.append(f"{head}data: {json.dumps(data)}\n\n")
    return Reply(200, "".join(chunks).encode(), content_type="text/event-stream")


def _public_path(raw: str) -> str:
    parts = urlsplit(raw)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in SECRET_QUERY
    ]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


class ScriptedModelServer:
    """Plays a script for one CLI on 127.0.0.1 (a free port), recording every request.

    Subclasses speak one API: they tell main requests from side requests, list the tool
    calls a conversation already answers, and render turns, faults and side answers.
    Use as a context manager; ``url`` is the base URL to hand the CLI.
    """

    def __init__(self, script: Script, side_usage: Usage | None = None) -> None:
        self.script = script
        self.side_usage = side_usage or Usage()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults_served: dict[int, int] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url = ""

    # ---- the API a subclass speaks
    def classify(self, method: str, path: str, body: Any) -> str:
        raise NotImplementedError

    def answered_call_ids(self, body: Any) -> list[str]:
        raise NotImplementedError

    def turn_reply(self, index: int, turn: Turn, path: str, body: Any) -> Reply:
        raise NotImplementedError

    def fault_reply(self, fault: Fault) -> Reply:
        raise NotImplementedError

    def side_reply(self, kind: str, path: str, body: Any) -> Reply:
        raise NotImplementedError

    # ---- what tests read
    @property
    def url(self) -> str:
        """The base URL (still readable after the server stopped)."""
        assert self._url, "server not started"
        return self._url

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def main_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == MAIN]

    def side_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind != MAIN]

    def turns_played(self) -> list[int]:
        """The script turns answered with a 200, in order (a retried turn counts each time)."""
        return [r.turn for r in self.main_requests() if r.status == 200 and r.turn is not None]

    def usage_returned(self, kind: str | None = None) -> Usage:
        """The sum of the usage figures the answers reported (those of one kind if given)."""
        total = Usage()
        for r in self.requests:
            if r.usage is not None and kind in (None, r.kind):
                total = total + r.usage
        return total

    # ---- serving
    def answer(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> Reply:
        text = raw_body.decode("utf-8", errors="replace")
        try:
            body: Any = json.loads(text) if text else None
        except json.JSONDecodeError:
            body = text
        path = _public_path(raw_path)
        kind = self.classify(method, path, body)
        turn_index: int | None = None
        fault: Fault | None = None
        if kind == MAIN:
            turn_index = self.script.next_turn(self.answered_call_ids(body))
            turn = self.script.turn(turn_index)
            with self._lock:
                served = self._faults_served.get(turn_index, 0)
                if turn.fault is not None and (
                    turn.fault.times is None or served < turn.fault.times
                ):
                    self._faults_served[turn_index] = served + 1
                    fault = turn.fault
            if fault:
                reply = self.fault_reply(fault)
            else:
                reply = replace(self.turn_reply(turn_index, turn, path, body), usage=turn.usage)
        else:
            reply = self.side_reply(kind, path, body)
        public = {k.lower(): v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method, path, public, body, kind, turn_index, reply.status, fault, reply.usage
                )
            )
        return reply

    def start(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _read_body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    data = b""
                    while (size := int(self.rfile.readline().strip() or b"0", 16)) > 0:
                        data += self.rfile.read(size)
                        self.rfile.readline()
                    self.rfile.readline()
                    return data
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def _serve(self) -> None:
                body = self._read_body()
                reply = server.answer(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                self.send_header("content-length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_HEAD = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # A short poll so stopping takes milliseconds, not the default half second.
        serve = functools.partial(self._httpd.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        self._url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
