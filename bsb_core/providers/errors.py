"""Turn provider failures into :class:`ProviderError` with scrubbed text and a parsed Retry-After."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from bsb_core.providers.base import ProviderError
from bsb_core.secrets import scrub

# Maximum characters of provider text kept in an error, because bodies can be whole HTML pages.
MAX_MESSAGE_CHARS = 300

# HTTP statuses worth retrying: request timeout, conflict (OpenAI's lock timeouts), too early,
# rate limited, and every 5xx (Anthropic's 529 "overloaded" included).
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})


def is_retryable_status(status: int) -> bool:
    """Return True for statuses where the same request can succeed later."""
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Return the wait in seconds from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}

    milliseconds = lowered.get("retry-after-ms")
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass

    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


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
    return ProviderError(text, retryable=is_retryable_status(status), status=status, retry_after_s=retry_after)


def timeout_error(provider: str, timeout_s: float) -> ProviderError:
    """Build the error for a request that got no complete response within ``timeout_s``."""
    return ProviderError(f"{provider} request timed out after {timeout_s:g} s", retryable=True)


def connection_error(provider: str, exc: BaseException) -> ProviderError:
    """Build the error for a connection that failed or closed before a response arrived."""
    return ProviderError(f"{provider} connection failed ({type(exc).__name__}): {clean_message(exc)}", retryable=True)


def malformed_error(provider: str, detail: Any) -> ProviderError:
    """Build the error for a response body that is not the documented shape."""
    return ProviderError(f"{provider} returned a malformed response body: {clean_message(detail)}", retryable=True)


__all__ = [
    "clean_message",
    "connection_error",
    "is_retryable_status",
    "malformed_error",
    "parse_duration",
    "parse_retry_after",
    "status_error",
    "timeout_error",
]
