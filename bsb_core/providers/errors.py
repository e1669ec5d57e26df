"""Turn provider failures into :class:`ProviderError` with scrubbed text and a parsed Retry-After."""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from bsb_core.config import redact_url
from bsb_core.providers.base import ProviderError
from bsb_core.secrets import scrub

# Maximum characters of provider text kept in an error, because bodies can be whole HTML pages.
MAX_MESSAGE_CHARS = 300

# HTTP statuses worth retrying: request timeout, conflict (OpenAI's lock timeouts), too early,
# rate limited, and every 5xx (Anthropic's 529 "overloaded" included).
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})

# What to check after a status that no retry can fix, because every later request of the model
# gets the same answer.
STATUS_HINTS = {
    401: "check the API key (`bsb keys list` shows where each key comes from)",
    403: "check the API key and that it has access to this model",
    404: "check the model name and base_url",
}


def is_retryable_status(status: int) -> bool:
    """Return True for statuses where the same request can succeed later."""
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Return the wait in seconds from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}

    milliseconds = _seconds(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000

    value = lowered.get("retry-after")
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def _seconds(value: str | None) -> float | None:
    # A number of seconds, at least 0; None for text, NaN and infinity, which no wait can honour.
    try:
        number = float(value) if value else math.nan
    except ValueError:
        return None
    return max(number, 0.0) if math.isfinite(number) else None


def parse_duration(value: Any) -> float | None:
    """Return seconds from a protobuf duration string such as ``"22s"`` or ``"1.5s"``."""
    if not isinstance(value, str) or not value.endswith("s"):
        return None
    try:
        return max(float(value[:-1]), 0.0)
    except ValueError:
        return None


def clean_message(text: Any) -> str:
    """Return provider text fit for an error: scrubbed of keys, one line, shortened."""
    flat = " ".join(str(text).split())
    flat = scrub(flat)
    if len(flat) > MAX_MESSAGE_CHARS:
        flat = flat[:MAX_MESSAGE_CHARS] + "..."
    return flat


def status_error(provider: str, status: int, message: Any, headers: Mapping[str, str] | None = None) -> ProviderError:
    """Build the error for an HTTP error response of ``provider``."""
    retry_after = parse_retry_after(headers)
    text = f"{provider} returned HTTP {status}"
    detail = clean_message(message) if message else ""
    if detail:
        text += f": {detail}"
    if status in STATUS_HINTS:
        text += f"; {STATUS_HINTS[status]}"
    return ProviderError(text, retryable=is_retryable_status(status), status=status, retry_after_s=retry_after)


def timeout_error(provider: str, timeout_s: float) -> ProviderError:
    """Build the error for a request that got no complete response within ``timeout_s``."""
    return ProviderError(f"{provider} request timed out after {timeout_s:g} s", retryable=True)


def connection_error(provider: str, exc: BaseException, url: str | None = None) -> ProviderError:
    """Build the error for a connection that failed or closed before a response arrived.

    ``url`` is the base URL the request went to; the message shows it without credentials.
    """
    text = f"{provider} connection failed ({type(exc).__name__}): {clean_message(exc)}"
    if url:
        text += f"; check that the server at {redact_url(url)} is running and reachable"
    return ProviderError(text, retryable=True)


def connect_failure(exc: BaseException) -> OSError | None:
    """Return the refused or failed connection under an SDK timeout error, or None for a real timeout.

    The aiohttp transport vendored in openai 3.3 (``openai/_vendor/httpx_aiohttp``) maps
    ``aiohttp.ClientConnectionError`` to ``httpx.ConnectTimeout`` before its subclass
    ``ClientConnectorError``, so a refused connection arrives as the SDK's timeout error.
    The original error stays in the exception chain. anthropic 2.17's copy maps both to
    ``httpx.ConnectError``, and the check costs nothing there.
    """
    current: BaseException | None = exc
    for _ in range(8):
        current = current.__cause__ or current.__context__ if current is not None else None
        if current is None:
            return None
        if isinstance(current, OSError) and not isinstance(current, TimeoutError):
            return current
    return None


def malformed_error(provider: str, detail: Any) -> ProviderError:
    """Build the error for a response body that is not the documented shape."""
    return ProviderError(f"{provider} returned a malformed response body: {clean_message(detail)}", retryable=True)


__all__ = [
    "clean_message",
    "connect_failure",
    "connection_error",
    "is_retryable_status",
    "malformed_error",
    "parse_duration",
    "parse_retry_after",
    "status_error",
    "timeout_error",
]


def sdk_error(
    sdk: Any,
    provider: str,
    exc: BaseException,
    *,
    base_url: str,
    timeout_s: float,
    status_message: Callable[[Any], str],
) -> ProviderError:
    """Map an exception raised by the ``openai`` or ``anthropic`` SDK (passed as ``sdk``) to a ProviderError.

    Both SDKs share the exception names used here. ``status_message`` extracts the server's
    message from an ``APIStatusError``.
    """
    if isinstance(exc, sdk.APIStatusError):
        return status_error(provider, exc.status_code, status_message(exc), exc.response.headers)
    if isinstance(exc, sdk.APITimeoutError):
        # Checked before APIConnectionError, its base class. The aiohttp transport reports a
        # refused connection as a timeout.
        refused = connect_failure(exc)
        if refused is not None:
            return connection_error(provider, refused, base_url)
        return timeout_error(provider, timeout_s)
    if isinstance(exc, sdk.APIConnectionError):
        return connection_error(provider, exc, base_url)
    if isinstance(exc, (sdk.APIResponseValidationError, json.JSONDecodeError, UnicodeDecodeError)):
        return malformed_error(provider, f"{type(exc).__name__}: {exc}")
    return ProviderError(f"{provider} request failed: {clean_message(exc)}", retryable=False)
