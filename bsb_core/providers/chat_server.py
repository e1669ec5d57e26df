"""An OpenAI-compatible chat server for tests, benchmarks and ``bsb sim-server``.

It serves ``POST /v1/chat/completions`` and ``GET /v1/models`` on 127.0.0.1 by default, responds
through a pluggable responder (the simulated personas for ``bsb sim-server``), injects faults
on request (latency, HTTP errors with Retry-After, hangs, malformed bodies, dropped
connections; by rate or at given request numbers, per model) and keeps a log of every request.
Other wire formats plug in through :class:`WireFormat`; the tests add Anthropic's and Google's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bsb_core.providers.base import ChatResult

log = logging.getLogger(__name__)

# Request headers that carry credentials; the request log keeps only a fingerprint of them.
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})

# A responder turns (model, messages, params) into a completion or its text.
Responder = Callable[[str, list[dict[str, Any]], dict[str, Any]], "ChatResult | str"]

FAULT_KINDS = ("status", "hang", "malformed", "disconnect")

# Maximum request body in bytes, far above any chat request the collector sends.
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Fault:
    """One injected failure. Build it with the class methods."""

    kind: str  # one of FAULT_KINDS
    status: int = 500
    retry_after: str | None = None  # Retry-After header value: seconds, or an HTTP date
    seconds: float = 0.0  # how long a hang lasts before the connection is closed
    body: str | None = None  # body of a malformed response
    message: str | None = None  # error message of a status fault, in the wire format's error body

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}: expected one of {', '.join(FAULT_KINDS)}")

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1") -> Fault:
        """Build an HTTP 429 with a Retry-After header (omitted when ``retry_after`` is None)."""
        return cls("status", status=429, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500, message: str | None = None) -> Fault:
        """Build an HTTP 5xx (or any other status) with the wire format's error body."""
        return cls("status", status=status, message=message)

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Fault:
        """Build a hang: no response for ``seconds``, then the connection is closed."""
        return cls("hang", seconds=seconds)

    @classmethod
    def malformed(cls, body: str = '{"id": "chatcmpl-broken", "choices": [') -> Fault:
        """Build an HTTP 200 whose body is not a valid completion (truncated JSON by default)."""
        return cls("malformed", body=body)

    @classmethod
    def disconnect(cls) -> Fault:
        """Build a fault that closes the connection without any response."""
        return cls("disconnect")


@dataclass(frozen=True)
class FaultRule:
    """When to inject a fault: for requests to ``model`` (``*`` = any), by rate or at request numbers.

    With ``contains`` set, only requests whose raw body contains that text are eligible.
    """

    fault: Fault
    model: str = "*"
    rate: float = 0.0  # probability per request, drawn from the plan's seeded generator
    at: frozenset[int] = frozenset()  # 0-based request numbers, counted per model, that get the fault
    contains: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate {self.rate!r} must be between 0 and 1")
        object.__setattr__(self, "at", frozenset(self.at))


@dataclass
class FaultPlan:
    """The faults and latency a server injects. The first matching rule wins."""

    rules: list[FaultRule] = field(default_factory=list)
    latency_s: float = 0.0  # added before every response
    latency_by_model: dict[str, float] = field(default_factory=dict)  # replaces latency_s for a model
    seed: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def latency_for(self, model: str) -> float:
        """Return the injected latency in seconds for a request to ``model``."""
        return self.latency_by_model.get(model, self.latency_s)

    def choose(self, model: str, number: int, body: str = "") -> Fault | None:
        """Return the fault for the ``number``-th request to ``model`` (raw ``body``), or None."""
        for rule in self.rules:
            if rule.model not in ("*", model):
                continue
            if rule.contains is not None and rule.contains not in body:
                continue
            if number in rule.at:
                return rule.fault
            if rule.rate > 0:
                with self._lock:
                    draw = self._random.random()
                if draw < rule.rate:
                    return rule.fault
        return None


@dataclass
class RequestRecord:
    """One request the server received, as kept in its request log."""

    number: int  # 0-based, over all requests
    model_number: int  # 0-based, over requests to the same model
    method: str
    path: str
    model: str | None
    body: Any
    headers: dict[str, str]  # credential headers replaced by "sha256:<prefix>"
    endpoint: str | None = None  # "chat", "models", or None for an unknown path
    fault: str | None = None  # kind of the injected fault, or None
    status: int | None = None
    received_at: float = 0.0  # time.time()
    # The chat messages as the wire format parsed them into OpenAI form, or None when unparsed.
    parsed_messages: list[dict[str, Any]] | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Return the request's messages in OpenAI form (system prompt first when there is one).

        A request the wire format could not parse falls back to its body's ``messages`` list.
        """
        if self.parsed_messages is not None:
            return list(self.parsed_messages)
        if isinstance(self.body, dict):
            return list(self.body.get("messages") or [])
        return []


def fingerprint(secret: str) -> str:
    """Return a short SHA-256 fingerprint, so tests can compare a credential without storing it."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


class WireFormat:
    """Wire format of one API: its routes and the shapes of requests, responses and errors (OpenAI's here)."""

    name = "openai"
    api_prefix = "/v1"
    retry_after_header = True  # whether an injected 429 or 5xx carries the Retry-After header

    def route(self, method: str, path: str) -> str | None:
        """Return ``"chat"``, ``"models"`` or None for an unknown endpoint."""
        path = path.split("?", 1)[0].rstrip("/")
        if method == "POST" and path == f"{self.api_prefix}/chat/completions":
            return "chat"
        if method == "GET" and path == f"{self.api_prefix}/models":
            return "models"
        return None

    def parse_chat(self, path: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        """Return (model, messages in OpenAI form, parameters) of a chat request."""
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not isinstance(messages, list):
            raise ValueError("request needs a string 'model' and a list 'messages'")
        params = {key: value for key, value in body.items() if key not in ("model", "messages")}
        return model, messages, params

    def render_chat(self, model: str, result: ChatResult) -> dict[str, Any]:
        """Return the response body for a completion."""
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": result.model_version or model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text},
                    "finish_reason": result.finish_reason or "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": result.tokens_in or 0,
                "completion_tokens": result.tokens_out or 0,
                "total_tokens": (result.tokens_in or 0) + (result.tokens_out or 0),
            },
        }

    def render_error(self, status: int, message: str, retry_after: str | None = None) -> dict[str, Any]:
        """Return the error body for ``status``; ``retry_after`` is the Retry-After header sent with it."""
        kinds = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 429: "rate_limit_exceeded"}
        return {"error": {"message": message, "type": kinds.get(status, "server_error"), "param": None, "code": None}}

    def render_models(self, models: Iterable[str]) -> dict[str, Any]:
        """Return the body of the model list."""
        return {
            "object": "list",
            "data": [{"id": name, "object": "model", "created": 0, "owned_by": "bsb"} for name in models],
        }


def echo_responder(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
    """Return the last user message as the completion, so tests can see what arrived."""
    last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    text = f"Echo from {model}: {last}"
    return ChatResult(text=text, model_version=f"{model}-echo-1", tokens_in=_count_tokens(messages), tokens_out=len(text.split()))


def sim_responder(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
    """Return the completion of the simulated persona named by ``model``."""
    from bsb_core.providers.sim import respond

    return respond(model, messages, params)


def _count_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(message.get("content", "")).split()) for message in messages)


class ChatServer:
    """A threaded HTTP server speaking one :class:`WireFormat`, with faults and a request log.

    Use it as a context manager or call :meth:`start` and :meth:`stop`. ``url`` is the base
    URL a client takes (``http://127.0.0.1:PORT/v1`` for the OpenAI format).
    """

    def __init__(
        self,
        responder: Responder = echo_responder,
        *,
        faults: FaultPlan | None = None,
        wire: WireFormat | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        models: Iterable[str] = (),
        log_path: str | Path | None = None,
    ) -> None:
        self.responder = responder
        self.faults = faults or FaultPlan()
        self.wire = wire or WireFormat()
        self.models = list(models)
        self.log_path = Path(log_path) if log_path else None
        if self.log_path is not None:
            # Opened once here, so an unwritable path fails at start and not on every request.
            self.log_path.open("a", encoding="utf-8").close()
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._model_counts: dict[str, int] = {}
        self._stopping = threading.Event()
        self._httpd = _HTTPServer((host, port), _make_handler(self))
        self._thread: threading.Thread | None = None

    # lifecycle ----------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        """The server's origin, e.g. ``http://127.0.0.1:8123``."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL a client of this wire format takes."""
        return self.root_url + self.wire.api_prefix

    def start(self) -> ChatServer:
        """Serve in a daemon thread and return self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"chat-server-{self.port}", daemon=True
        )
        self._thread.start()
        log.info("chat server (%s format) listening on %s", self.wire.name, self.root_url)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        log.info("chat server (%s format) listening on %s", self.wire.name, self.root_url)
        try:
            self._httpd.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, release hanging requests and close the socket."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()
        log.info("chat server on %s stopped after %d requests", self.root_url, len(self.requests))

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # request log --------------------------------------------------------------------------------

    def chat_requests(self, model: str | None = None) -> list[RequestRecord]:
        """Return the logged chat requests, optionally only those to ``model``."""
        with self._lock:
            records = list(self.requests)
        return [r for r in records if r.endpoint == "chat" and (model is None or r.model == model)]

    def clear_log(self) -> None:
        """Forget the logged requests (request numbers keep counting)."""
        with self._lock:
            self.requests.clear()

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)
        if self.log_path is not None:
            line = json.dumps(asdict(record), ensure_ascii=False)
            with self._lock, self.log_path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def _next_numbers(self, model: str | None) -> tuple[int, int]:
        with self._lock:
            number = sum(self._model_counts.values())
            key = model or ""
            model_number = self._model_counts.get(key, 0)
            self._model_counts[key] = model_number + 1
        return number, model_number

    # responding ---------------------------------------------------------------------------------

    def respond(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        """Answer one HTTP request: route it, apply faults, call the responder and log it."""
        length = _content_length(handler.headers.get("Content-Length"))
        if length is None or length > MAX_BODY_BYTES:
            status = 400 if length is None else 413
            message = "invalid Content-Length header" if length is None else f"request body over {MAX_BODY_BYTES} bytes"
            # The body is left unread, so the connection cannot carry another request.
            handler.close_connection = True
            record = RequestRecord(*self._next_numbers(None), method, handler.path, None, None, {}, received_at=time.time())
            self._send_json(handler, status, self.wire.render_error(status, message), record, {"Connection": "close"})
            return
        raw = handler.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in handler.headers.items()}
        for key in CREDENTIAL_HEADERS & headers.keys():
            headers[key] = fingerprint(headers[key])
        endpoint = self.wire.route(method, handler.path)

        try:
            body: Any = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")

        model = None
        parsed = None
        if endpoint == "chat" and isinstance(body, dict):
            try:
                parsed = self.wire.parse_chat(handler.path, body)
                model = parsed[0]
            except ValueError:
                parsed = None

        number, model_number = self._next_numbers(model)
        record = RequestRecord(
            number, model_number, method, handler.path, model, body, headers, endpoint=endpoint, received_at=time.time(),
            parsed_messages=None if parsed is None else parsed[1],
        )  # fmt: skip

        if endpoint is None:
            self._send_json(handler, 404, self.wire.render_error(404, f"unknown endpoint {method} {handler.path}"), record)
            return
        if endpoint == "models":
            self._send_json(handler, 200, self.wire.render_models(self.models), record)
            return
        if parsed is None:
            self._send_json(handler, 400, self.wire.render_error(400, "invalid chat request body"), record)
            return

        if self.models and parsed[0] not in self.models:
            message = f"model {parsed[0]!r} not found: available models are {', '.join(self.models)}"
            self._send_json(handler, 404, self.wire.render_error(404, message), record)
            return

        latency = self.faults.latency_for(parsed[0])
        if latency > 0:
            self._stopping.wait(latency)

        fault = self.faults.choose(parsed[0], model_number, raw.decode("utf-8", "replace"))
        if fault is not None:
            record.fault = fault.kind
            self._inject(handler, fault, record)
            return

        try:
            result = self.responder(*parsed)
        except ValueError as exc:  # the responder rejects the request itself, e.g. no user message
            log.warning("responder rejected a request for model %s: %s", parsed[0], exc)
            self._send_json(handler, 400, self.wire.render_error(400, str(exc)), record)
            return
        except Exception as exc:  # a broken responder becomes a 500 the client can see
            log.exception("responder failed for model %s", parsed[0])
            self._send_json(handler, 500, self.wire.render_error(500, f"responder failed: {type(exc).__name__}"), record)
            return
        if isinstance(result, str):
            result = ChatResult(text=result, tokens_in=_count_tokens(parsed[1]), tokens_out=len(result.split()))
        self._send_json(handler, 200, self.wire.render_chat(parsed[0], result), record)

    def _inject(self, handler: BaseHTTPRequestHandler, fault: Fault, record: RequestRecord) -> None:
        if fault.kind == "status":
            headers = {}
            if fault.retry_after is not None and self.wire.retry_after_header:
                headers["Retry-After"] = fault.retry_after
            message = fault.message or ("rate limit reached, retry later" if fault.status == 429 else "injected server error")
            body = self.wire.render_error(fault.status, message, fault.retry_after)
            self._send_json(handler, fault.status, body, record, headers)
        elif fault.kind == "malformed":
            self._send_raw(handler, 200, (fault.body or "").encode("utf-8"), record)
        elif fault.kind == "hang":
            self._record(record)
            self._stopping.wait(fault.seconds)
            handler.close_connection = True
        elif fault.kind == "disconnect":
            self._record(record)
            handler.close_connection = True

    def _send_json(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: Any,
        record: RequestRecord,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._send_raw(handler, status, json.dumps(payload).encode("utf-8"), record, headers)

    def _send_raw(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        data: bytes,
        record: RequestRecord,
        headers: dict[str, str] | None = None,
    ) -> None:
        record.status = status
        self._record(record)
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client closed the connection before request %d was answered", record.number)


def _content_length(value: str | None) -> int | None:
    # Returns the body length in bytes, 0 when the header is absent, or None when it is invalid.
    if value is None or not value.strip():
        return 0
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 resets connections when a client opens dozens at once.
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr; a client that hangs up (timeouts, a killed
        # collector) is routine here, anything else is logged with its traceback.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionResetError, BrokenPipeError, TimeoutError)):
            log.debug("client %s closed the connection: %s", client_address, type(error).__name__)
            return
        log.exception("error while serving %s", client_address)


def _make_handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API clients expect
        server_version = "bsb-chat-server"
        # Headers and body leave in one segment with Nagle off; otherwise delayed ACKs add
        # about 40 ms to every keep-alive request.
        disable_nagle_algorithm = True
        wbufsize = 64 * 1024

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            server.respond(self, "POST")

        def do_GET(self) -> None:  # noqa: N802
            server.respond(self, "GET")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            # The request line only: paths carry no credentials in the formats served here.
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


__all__ = [
    "ChatServer",
    "Fault",
    "FaultPlan",
    "FaultRule",
    "RequestRecord",
    "WireFormat",
    "echo_responder",
    "fingerprint",
    "sim_responder",
]
