"""Shared plumbing of the canary's HTTP processes (model servers, router): stdlib only.

Why the standard library and not FastAPI/uvicorn: each process must start in well under a second,
import nothing heavy, and run on any Airflow worker image. ``ThreadingHTTPServer`` with HTTP/1.1
keep-alive is enough for the few hundred requests per second a canary bake needs.

Every process binds port 0 (the kernel picks a free port, so two runs never race for one) and
writes ``{"port", "pid", "host"}`` to a ready file once it listens; every process shuts itself down
after ``ttl`` seconds, the safety net should a teardown never run (worker killed, machine rebooted).

Hardening (:class:`HttpLimits`), because a request thread that never answers or never ends is a
leak a canary cannot afford (the bake runs for minutes, the load generator never stops):

* a body over ``max_body_bytes`` is refused with **413** before it is read (``Content-Length`` is
  checked first; the connection then closes after draining what the client already sent, so the
  client reads the answer instead of a reset);
* a request must arrive *whole* — request line, headers and body — within ``read_timeout_s``, however
  slowly it trickles in (a per-``recv`` timeout alone lets a slow-loris client send one byte every
  few seconds forever); a late one gets **408** and the connection is closed;
* an idle keep-alive connection is closed after ``idle_timeout_s``;
* every malformed input (bad ``Content-Length``, JSON that does not parse, wrong types, a bad query
  value) answers **400** with a JSON ``{"error": ...}``, and an unexpected exception answers **500**
  JSON: no request is left without a response.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpLimits:
    """Per-server limits; the defaults suit a canary (small JSON bodies, loopback clients)."""

    max_body_bytes: int = 1 << 20  # 1 MiB: a batch of texts, never a file
    read_timeout_s: float = 10.0  # the whole request (line + headers + body) must arrive in this time
    idle_timeout_s: float = 60.0  # keep-alive connections idle longer than this are closed
    drain_bytes: int = 16 << 20  # after a 413, read at most this much of the refused body (then close)


class BadRequest(ValueError):
    """Malformed input: answered with ``status`` and a JSON error, never an unanswered socket."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = int(status)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url(host: str, port: int) -> str:
    """``http://host:port`` for the address a server bound; a wildcard bind advertises the FQDN."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the wildcard, not binding it
        host = socket.getfqdn()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: no TCP handshake per request
    # A request line without a version would be answered HTTP/0.9-style (a bare body, no status):
    # every answer here, errors included, carries a status line and JSON.
    default_request_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle on, the client's delayed ACK then
    # stalls every response by ~40 ms (measured: p50 32 ms direct instead of ~1 ms).
    disable_nagle_algorithm = True
    server: Server

    # -- connection life -----------------------------------------------------------------------
    def setup(self) -> None:
        self.limits: HttpLimits = getattr(self.server, "limits", HttpLimits())
        self.timeout = self.limits.idle_timeout_s  # StreamRequestHandler applies it to the socket
        self._state_lock = threading.Lock()
        self._reading = False
        self._cut = False
        self._responded = False
        self._body_consumed = False
        self._linger = False
        super().setup()

    def handle_one_request(self) -> None:
        """One request, with the whole-request deadline armed from its first byte."""
        try:
            # Wait for the next request on an idle keep-alive connection (idle timeout applies).
            if not self.rfile.peek(1):
                self.close_connection = True
                return
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        # The watchdog enforces the deadline (and answers 408); the socket timeout is only a backstop
        # set a little later, so a stalled recv() never ends the connection silently first.
        self.connection.settimeout(self.limits.read_timeout_s + 1.0)
        self._responded = self._body_consumed = False
        with self._state_lock:
            self._reading, self._cut = True, False
        self.server.watchdog.arm(self, time.monotonic() + self.limits.read_timeout_s)
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError, OSError) as exc:
            self.close_connection = True
            if not (self._cut or self._responded):
                self._try_send_error(HTTPStatus.REQUEST_TIMEOUT if isinstance(exc, TimeoutError)
                                     else HTTPStatus.BAD_REQUEST, f"request not received: {exc}")
        finally:
            self.done_reading()
            if self._cut:
                self.close_connection = True
            else:
                self.connection.settimeout(self.limits.idle_timeout_s)

    def parse_request(self) -> bool:
        if self._cut:  # the deadline cut this request: what was read is a fragment, not a request
            self.close_connection = True
            return False
        return super().parse_request()

    def handle_expect_100(self) -> bool:
        """Refuse an oversize body *before* inviting the client to send it (curl asks above 1 MiB)."""
        raw = (self.headers.get("Content-Length") or "").strip()
        if raw.isdigit() and int(raw) > self.limits.max_body_bytes:
            self.close_connection = True
            self.send_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                           {"error": f"body of {raw} bytes exceeds the limit of {self.limits.max_body_bytes}"})
            return False
        return super().handle_expect_100()

    def done_reading(self) -> None:
        """The request is in: from here on it is processing time, which the deadline does not bound."""
        with self._state_lock:
            if not self._reading:
                return
            self._reading = False
        self.server.watchdog.disarm(self)

    def cut_slow_client(self) -> None:
        """Called by the server's watchdog when this request missed its deadline."""
        with self._state_lock:
            if not self._reading:
                return
            self._cut = True
        log.warning("closing %s: request not received within %ss", self.client_address, self.limits.read_timeout_s)
        body = json.dumps({"error": f"request not received within {self.limits.read_timeout_s}s"}).encode()
        try:
            self.connection.sendall(b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                                    b"Connection: close\r\nContent-Length: " + str(len(body)).encode() +
                                    b"\r\n\r\n" + body)
        except OSError:
            pass
        try:  # wakes the handler thread blocked in recv(): it reads EOF and ends the connection
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        if self._linger and not self._cut:
            self._drain_then_close()

    def _drain_then_close(self) -> None:
        """After refusing a body: stop writing, read (and drop) what the client still sends, briefly.

        Closing with unread data makes the kernel send a reset, which can destroy the 413 before the
        client reads it; the client instead sees the answer, then end-of-file.
        """
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            deadline, left = time.monotonic() + 2.0, self.limits.drain_bytes
            while left > 0 and time.monotonic() < deadline:
                chunk = self.connection.recv(min(65536, left))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # one line per request would drown the process log

    # -- input ---------------------------------------------------------------------------------
    def read_body(self) -> bytes:
        """The request body, checked against the limits; raises :class:`BadRequest`."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise BadRequest("chunked bodies are not accepted; send Content-Length", HTTPStatus.LENGTH_REQUIRED)
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isdigit():
            self.close_connection = True  # the body's end is unknown: the connection cannot be reused
            raise BadRequest(f"invalid Content-Length {raw[:40]!r}")
        length = int(raw)
        if length > self.limits.max_body_bytes:
            self.close_connection, self._linger = True, True
            raise BadRequest(f"body of {length} bytes exceeds the limit of {self.limits.max_body_bytes}",
                             HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            raise BadRequest(f"body ended after {len(body)} of {length} bytes")
        self._body_consumed = True
        self.done_reading()
        return body

    def read_json(self) -> Any:
        body = self.read_body()
        if not body:
            return {}
        try:
            return json.loads(body)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise BadRequest(f"body is not valid JSON: {exc}") from None

    def read_json_object(self) -> dict[str, Any]:
        body = self.read_json()
        if not isinstance(body, dict):
            raise BadRequest(f"expected a JSON object, got {type(body).__name__}")
        return body

    def query(self) -> tuple[str, dict[str, list[str]]]:
        url = urlparse(self.path)
        return url.path, parse_qs(url.query)

    @staticmethod
    def query_int(query: dict[str, list[str]], name: str, default: int = 0, minimum: int = 0) -> int:
        values = query.get(name)
        if not values:
            return default
        try:
            value = int(values[-1])
        except ValueError:
            raise BadRequest(f"query parameter {name!r} must be an integer, got {values[-1][:40]!r}") from None
        if value < minimum:
            raise BadRequest(f"query parameter {name!r} must be >= {minimum}, got {value}")
        return value

    def client_is_local(self) -> bool:
        """Loopback, or this machine's own address (a server bound to a LAN address, called locally)."""
        client = self.client_address[0]
        return is_loopback(client) or client == self.connection.getsockname()[0]

    # -- output --------------------------------------------------------------------------------
    def send_response(self, code: int, message: str | None = None) -> None:
        self.done_reading()
        self._responded = True
        super().send_response(code, message)

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's parse errors (bad request line, too many headers, 414, 431) answered as JSON."""
        self.close_connection = True
        try:
            reason = self.responses.get(code, ("error",))[0]
        except (KeyError, IndexError):
            reason = "error"
        self.send_json(code, {"error": message or reason, **({"detail": explain} if explain else {})})

    def _try_send_error(self, status: int, message: str) -> None:
        try:
            self.send_json(status, {"error": message})
        except OSError:
            pass

    # -- dispatch ------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib API
        self._dispatch(self.handle_get)

    def do_POST(self) -> None:  # noqa: N802 - stdlib API
        self._dispatch(self.handle_shutdown if self.path == "/admin/shutdown" else self.handle_post)

    def handle_shutdown(self) -> None:
        """``POST /admin/shutdown`` (every canary process): a clean stop, for local clients only."""
        self.read_body()
        if not self.client_is_local():
            self.send_json(403, {"error": "admin endpoints answer local clients only"})
            return
        self.send_json(200, {"status": "stopping"})
        shutdown_soon(self.server)

    def handle_get(self) -> None:
        self.send_json(404, {"error": f"no route GET {self.path}"})

    def handle_post(self) -> None:
        self.send_json(404, {"error": f"no route POST {self.path}"})

    def _dispatch(self, handler: Any) -> None:
        if self._cut:
            self.close_connection = True
            return
        if self.command != "POST":
            self.done_reading()  # no body: the request is in once its headers are
        try:
            handler()
        except BadRequest as exc:
            if self._responded:
                self.close_connection = True
            else:
                self.send_json(exc.status, {"error": str(exc)})
        except TimeoutError:
            self.close_connection = True
            if not (self._responded or self._cut):
                self._try_send_error(HTTPStatus.REQUEST_TIMEOUT, "request not received in time")
        except ConnectionError:
            self.close_connection = True  # the client is gone: nobody to answer
        except Exception as exc:  # noqa: BLE001 - a request must get an answer, whatever broke
            log.exception("%s %s failed", self.command, self.path)
            self.close_connection = True
            if not self._responded:
                self._try_send_error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")
        finally:
            if not self._body_consumed and (self.headers.get("Content-Length") or "0").strip() not in ("", "0"):
                # A body the handler never read would be parsed as the next request: end the connection.
                self.close_connection = True


class Watchdog:
    """One thread per server that cuts requests past their deadline.

    Why not a ``threading.Timer`` per request: that is a thread started per request, measurable on
    the router's hot path; arming here is a dict write. Deadlines are checked every ``tick`` seconds,
    so a cut lands within ``read_timeout_s + tick``.
    """

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self._deadlines: dict[JsonHandler, float] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="http-deadlines", daemon=True)
        self._thread.start()

    def arm(self, handler: JsonHandler, deadline: float) -> None:
        with self._lock:
            self._deadlines[handler] = deadline

    def disarm(self, handler: JsonHandler) -> None:
        with self._lock:
            self._deadlines.pop(handler, None)

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.tick):
            now = time.monotonic()
            with self._lock:
                late = [h for h, deadline in self._deadlines.items() if deadline <= now]
                for handler in late:
                    del self._deadlines[handler]
            for handler in late:
                handler.cut_slow_client()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 limits: HttpLimits | None = None) -> None:
        self.limits = limits or HttpLimits()
        super().__init__(address, handler)  # binds first: a failed bind leaves no watchdog thread
        self.watchdog = Watchdog(tick=min(0.25, self.limits.read_timeout_s / 4))

    def server_close(self) -> None:
        self.watchdog.stop()
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The stdlib prints a traceback to stderr for any error escaping a handler; a client that
        # hung up mid-response is routine here, so one log line is enough.
        log.warning("connection from %s ended with an error", client_address, exc_info=log.isEnabledFor(10))


def serve(server: Server, ready_file: str | None, ttl: float) -> None:
    """Announce the bound address, arm the TTL, and serve until ``/admin/shutdown`` or the TTL."""
    host, port = server.server_address[:2]
    if ready_file:
        tmp = Path(ready_file).with_suffix(".tmp")
        tmp.write_text(json.dumps({"port": port, "pid": os.getpid(), "host": host}))
        tmp.replace(ready_file)  # atomic: the parent never reads half a file
    if ttl > 0:
        timer = threading.Timer(ttl, server.shutdown)
        timer.daemon = True
        timer.start()
    log.info("listening on %s:%s (pid %s, ttl %ss, limits %s)", host, port, os.getpid(), ttl, server.limits)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def shutdown_soon(server: Server) -> None:
    # shutdown() blocks until serve_forever returns, so it must not run on a request thread.
    threading.Thread(target=server.shutdown, daemon=True).start()


def add_limit_args(parser: Any) -> None:
    """The ``--host`` and limit options every canary process takes."""
    defaults = HttpLimits()
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    parser.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes)
    parser.add_argument("--read-timeout", type=float, default=defaults.read_timeout_s,
                        help="seconds a whole request may take to arrive")
    parser.add_argument("--idle-timeout", type=float, default=defaults.idle_timeout_s,
                        help="seconds an idle keep-alive connection stays open")


def limits_from_args(args: Any) -> HttpLimits:
    return HttpLimits(max_body_bytes=args.max_body_bytes, read_timeout_s=args.read_timeout,
                      idle_timeout_s=args.idle_timeout)
