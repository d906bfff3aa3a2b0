# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""HTTP access to Sell's Sync API: headers, timeouts, client-side rate limit, retries, errors.

The client knows the three calls (start a session, fetch a queue page, ack keys) and
nothing about streams or state. Every call is retried with exponential backoff and full
jitter on 429, 5xx, timeouts, dropped connections and unreadable bodies, honouring
``Retry-After`` when the server sends one; 401, 403 and redirects fail at once.
"""

from __future__ import annotations

import decimal
import email.utils
import logging
import random
import time
import typing as t
import urllib.parse
from dataclasses import dataclass, field

import backoff
import msgspec
import requests

from tap_sell_sync.errors import (
    RetriableError,
    SellApiError,
    SellAuthError,
    SessionLostError,
)
from tap_sell_sync.repair import decode_repairing

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator

LOGGER = logging.getLogger("tap-sell-sync.client")

START_PATH = "/v2/sync/start"
QUEUE_PATH = "/v2/sync/{session_id}/queues/main"
ACK_PATH = "/v2/sync/ack"
DEVICE_HEADER = "X-Basecrm-Device-UUID"
REQUEST_ID_HEADER = "X-Request-Id"

DEFAULT_MAX_TRIES = 10
DEFAULT_MAX_RETRY_SECONDS = 300.0
DEFAULT_BACKOFF_BASE = 1.0
DEFAULT_BACKOFF_CAP = 60.0
MAX_RETRY_AFTER = 300.0
HTTP_SERVER_ERROR = 500
HTTP_TOO_MANY_REQUESTS = 429
HTTP_NOT_FOUND = 404
HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403
HTTP_REDIRECTS = range(300, 400)
MAX_ERROR_TEXT = 200
VERSION_SUFFIX = "/v2"

SESSION_CAP_HINT = (
    " (Sell allows 100 active sync sessions; sessions of other runs or integrations using "
    "this token end after a while, so run again later)"
)
REJECTED_HINT = "check that the access token is valid and has not expired or been revoked"
SCOPE_HINT = (
    "the access token needs the 'sync' scope, and the Sell account needs the Sync API "
    "(a premium API on Sell Growth or above)"
)

_PAGE_DECODER = msgspec.json.Decoder(float_hook=decimal.Decimal)


@dataclass(frozen=True)
class SyncSession:
    """A started sync session."""

    session_id: str
    total_count: int | None


@dataclass(frozen=True)
class QueuePage:
    """One page of the main queue, as sent (items are validated by the queue reader)."""

    items: list[t.Any]
    count_left: int | None
    failed_objects: list[t.Any]
    well_formed: bool = True


@dataclass
class RequestCounters:
    """Requests made, by call and outcome."""

    by_call: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    repaired_strings: int = 0

    def count(self, call: str, status: int | str) -> None:
        """Count one response (or a failure without one).

        Args:
            call: start, fetch or ack.
            status: The HTTP status, or a word for a failure without a response.
        """
        name = f"{call} {status}"
        self.by_call[name] = self.by_call.get(name, 0) + 1

    @property
    def total(self) -> int:
        """All requests sent."""
        return sum(self.by_call.values())


class RateLimiter:
    """Spaces request starts so that at most ``per_second`` begin in any second."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Create the limiter.

        Args:
            per_second: Requests allowed per second; 0 or less means no limit.
            clock: A monotonic clock (injectable for tests).
        """
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._clock = clock
        self._next_start = 0.0

    def wait(self) -> None:
        """Sleep until the next request may start."""
        if not self._interval:
            return
        now = self._clock()
        if now < self._next_start:
            time.sleep(self._next_start - now)
            now = self._next_start
        self._next_start = now + self._interval


def _retry_wait(base: float, cap: float) -> Generator[float, t.Any, None]:
    """Wait times for `backoff`: the server's Retry-After, else full-jitter exponential.

    Args:
        base: Seconds of the first backoff step.
        cap: Longest wait without a Retry-After.

    Yields:
        Seconds to wait before the next try.
    """
    attempt = 0
    exc = yield 0.0
    while True:
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            wait = min(float(retry_after), MAX_RETRY_AFTER)
        else:
            wait = random.uniform(0, min(cap, base * 2**attempt))  # noqa: S311
        attempt += 1
        exc = yield wait


def _parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header (seconds or an HTTP date).

    Args:
        value: The header value.

    Returns:
        Seconds to wait, or None when absent or unreadable.
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe_error(response: requests.Response) -> tuple[str, str | None]:
    """Turn an error response into a short description and Sell's request id.

    Args:
        response: The response with a non-success status.

    Returns:
        A description (codes and messages from the error envelope when present) and the
        logref (``meta.logref``, else ``X-Request-Id``).
    """
    logref = response.headers.get(REQUEST_ID_HEADER)
    parts: list[str] = []
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        body = None
    if isinstance(body, dict):
        meta = body.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("logref"), str):
            logref = meta["logref"]
        errors = body.get("errors")
        if isinstance(errors, list):
            for entry in errors:
                error = entry.get("error") if isinstance(entry, dict) else None
                if isinstance(error, dict):
                    # Sell often sends the same text as message and details: show it once.
                    texts = dict.fromkeys(
                        error[name]
                        for name in ("code", "message", "details")
                        if isinstance(error.get(name), str) and error[name]
                    )
                    text = ": ".join(texts)
                    if text and text not in parts:
                        parts.append(text)
    description = "; ".join(parts)[:MAX_ERROR_TEXT]
    return description, logref


def _redirect_host(response: requests.Response) -> str:
    """Name the host a redirect points to, without anything else of its address.

    Args:
        response: A 3xx response.

    Returns:
        The host (with its port, if any), or a phrase when there is no usable Location.
    """
    location = response.headers.get("Location")
    if not location:
        return "no location"
    try:
        target = urllib.parse.urlsplit(urllib.parse.urljoin(response.url, location))
        host = target.hostname
        port = target.port
    except ValueError:
        return "an unreadable location"
    if not host:
        return "an unreadable location"
    return f"{host}:{port}" if port else host


class SellClient:
    """The three calls of the Sync API over one keep-alive `requests.Session`."""

    def __init__(  # noqa: PLR0913
        self,
        *,
        api_url: str,
        access_token: str,
        user_agent: str,
        timeout: float,
        max_requests_per_second: float,
        max_tries: int = DEFAULT_MAX_TRIES,
        max_retry_seconds: float = DEFAULT_MAX_RETRY_SECONDS,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_cap: float = DEFAULT_BACKOFF_CAP,
    ) -> None:
        """Create the client.

        Args:
            api_url: Base URL, e.g. https://api.getbase.com.
            access_token: The Sell access token (never logged).
            user_agent: The User-Agent header.
            timeout: Seconds to wait for a connection and for each read.
            max_requests_per_second: Client-side request rate.
            max_tries: Tries per call before giving up.
            max_retry_seconds: Seconds per call before giving up.
            backoff_base: First backoff step in seconds.
            backoff_cap: Longest backoff step without a Retry-After.
        """
        self._base = api_url.rstrip("/")
        self._host = urllib.parse.urlsplit(self._base).netloc
        self._timeout = timeout
        self._limiter = RateLimiter(max_requests_per_second)
        self.counters = RequestCounters()
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
                "User-Agent": user_agent,
            },
        )
        self._retrying = backoff.on_exception(
            _retry_wait,
            RetriableError,
            max_tries=max_tries,
            max_time=max_retry_seconds,
            jitter=None,
            on_backoff=self._log_backoff,
            logger=None,
            base=backoff_base,
            cap=backoff_cap,
        )

    def __repr__(self) -> str:
        """Describe the client without its token.

        Returns:
            The class name and base URL.
        """
        return f"SellClient(api_url={self._base!r})"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._session.close()

    def _log_backoff(self, details: t.Any) -> None:  # noqa: ANN401
        self.counters.retries += 1
        exc = details.get("exception")
        LOGGER.warning(
            "Retrying %s in %.1f s after try %d: %s",
            details["target"].__name__.lstrip("_"),
            details["wait"],
            details["tries"],
            exc,
        )

    def _send(
        self,
        call: str,
        method: str,
        path: str,
        device_uuid: str,
        body: bytes | None = None,
    ) -> requests.Response:
        """Send one request and sort its failures into retriable and fatal ones.

        Args:
            call: start, fetch or ack (for counters and messages).
            method: HTTP method.
            path: Path under the base URL.
            device_uuid: The device header value.
            body: JSON body, for the ack call.

        Returns:
            A response with a 2xx status.

        Raises:
            RetriableError: 429, 5xx, timeouts, dropped connections.
            SellAuthError: 401 or 403.
            SessionLostError: 404 on a queue fetch.
            SellApiError: A redirect, or any other unexpected answer.
        """
        headers = {DEVICE_HEADER: device_uuid}
        if body is not None:
            headers["Content-Type"] = "application/json"
        self._limiter.wait()
        try:
            response = self._session.request(
                method,
                self._base + path,
                data=body,
                headers=headers,
                timeout=self._timeout,
                # Never follow redirects: the token must not travel to another address.
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            self.counters.count(call, "timeout")
            msg = f"{call}: no answer from Sell at {self._host} within {self._timeout:g} s"
            raise RetriableError(msg) from exc
        except requests.RequestException as exc:
            self.counters.count(call, "connection error")
            msg = f"{call}: connection to Sell at {self._host} failed ({type(exc).__name__})"
            raise RetriableError(msg) from exc

        status = response.status_code
        self.counters.count(call, status)
        if 200 <= status < 300:  # noqa: PLR2004
            return response

        description, logref = _describe_error(response)
        detail = f": {description}" if description else ""
        if call == "start" and "session" in (description or "").lower():
            detail += SESSION_CAP_HINT
        if status == HTTP_TOO_MANY_REQUESTS or status >= HTTP_SERVER_ERROR:
            msg = f"{call}: Sell answered {status}{detail}"
            raise RetriableError(
                msg,
                status=status,
                logref=logref,
                retry_after=_parse_retry_after(response.headers.get("Retry-After")),
            )
        raise self._refusal(call, response, detail, logref)

    def _refusal(
        self, call: str, response: requests.Response, detail: str, logref: str | None
    ) -> SellApiError:
        """Build the error for an answer that is neither success nor worth retrying.

        Args:
            call: start, fetch or ack.
            response: The answer.
            detail: ": " and the error envelope's description, or "".
            logref: Sell's request id.

        Returns:
            The error, its message saying what to do.
        """
        status = response.status_code
        if status == HTTP_UNAUTHORIZED:
            msg = f"Sell rejected the access token ({status}{detail}): {REJECTED_HINT}"
            return SellAuthError(msg, status=status, logref=logref)
        if status == HTTP_FORBIDDEN:
            msg = f"Sell refused access to the Sync API ({status}{detail}): {SCOPE_HINT}"
            return SellAuthError(msg, status=status, logref=logref)
        if status == HTTP_NOT_FOUND and call == "fetch":
            msg = f"the sync session is gone (404{detail}); a new session starts next run"
            return SessionLostError(msg, status=status, logref=logref)
        if status in HTTP_REDIRECTS:
            msg = (
                f"{call}: Sell answered {status}, a redirect to {_redirect_host(response)}; "
                "the tap refuses redirects (never follows them, so the token goes nowhere "
                "else): check api_url"
            )
            return SellApiError(msg, status=status, logref=logref)
        hint = ""
        if status == HTTP_NOT_FOUND and self._base.lower().endswith(VERSION_SUFFIX):
            hint = (
                f"; api_url must be the base URL without {VERSION_SUFFIX}, such as "
                "https://api.getbase.com"
            )
        msg = f"{call}: Sell answered {status} unexpectedly{detail}{hint}"
        return SellApiError(msg, status=status, logref=logref)

    def start_session(self, device_uuid: str) -> SyncSession | None:
        """Start a sync session.

        Args:
            device_uuid: The device to sync as.

        Returns:
            The session, or None when Sell has nothing new for the device (204).
        """
        return self._retrying(self._start)(device_uuid)

    def _start(self, device_uuid: str) -> SyncSession | None:
        response = self._send("start", "POST", START_PATH, device_uuid)
        if response.status_code == 204:  # noqa: PLR2004
            return None
        body = self._decode("start", response)
        data = body.get("data") if isinstance(body, dict) else None
        session_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(session_id, str) or not session_id or "/" in session_id:
            msg = "start: Sell's answer holds no session id"
            raise RetriableError(msg, status=response.status_code)
        total = None
        queues = data.get("queues") if isinstance(data, dict) else None
        if isinstance(queues, list):
            for queue in queues:
                queue_data = queue.get("data") if isinstance(queue, dict) else None
                if isinstance(queue_data, dict) and queue_data.get("name") == "main":
                    count = queue_data.get("total_count")
                    total = count if isinstance(count, int) else None
        return SyncSession(session_id, total)

    def fetch_page(self, session_id: str, device_uuid: str) -> QueuePage | None:
        """Fetch the next page of the main queue.

        Args:
            session_id: The session from `start_session`.
            device_uuid: The device to sync as.

        Returns:
            The page, or None when the queue is drained (204).
        """
        fetch = self._retrying(self._fetch)
        return fetch(session_id, device_uuid)

    def _fetch(self, session_id: str, device_uuid: str) -> QueuePage | None:
        path = QUEUE_PATH.format(session_id=session_id)
        response = self._send("fetch", "GET", path, device_uuid)
        if response.status_code == 204:  # noqa: PLR2004
            return None
        if response.status_code != 200:  # noqa: PLR2004
            msg = f"fetch: Sell answered {response.status_code} where 200 or 204 was expected"
            raise SellApiError(msg, status=response.status_code)
        body = self._decode("fetch", response)
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            return QueuePage([], None, [], well_formed=False)
        meta = body.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        count_left = meta.get("count_left")
        failed = meta.get("failed_objects")
        return QueuePage(
            items=body.get("items", []),
            count_left=count_left if isinstance(count_left, int) else None,
            failed_objects=failed if isinstance(failed, list) else [],
            well_formed="items" in body,
        )

    def ack(self, ack_keys: list[str], device_uuid: str) -> None:
        """Acknowledge keys for a device.

        Args:
            ack_keys: The keys (one pack; never empty).
            device_uuid: The device the keys were delivered to.
        """
        body = msgspec.json.encode({"data": {"ack_keys": ack_keys}})
        self._retrying(self._ack)(body, device_uuid)

    def _ack(self, body: bytes, device_uuid: str) -> None:
        self._send("ack", "POST", ACK_PATH, device_uuid, body)

    def _decode(self, call: str, response: requests.Response) -> t.Any:  # noqa: ANN401
        try:
            return _PAGE_DECODER.decode(response.content)
        except (msgspec.DecodeError, RecursionError) as exc:
            strict_error: Exception = exc
        try:
            body, repaired = decode_repairing(response.content)
        except (ValueError, RecursionError):
            detail = " (nested too deeply)" if isinstance(strict_error, RecursionError) else ""
            msg = f"{call}: Sell's answer is not JSON{detail}"
            raise RetriableError(msg, status=response.status_code) from strict_error
        self.counters.repaired_strings += repaired
        LOGGER.warning(
            "%s: Sell's answer held %d strings with characters that are not valid Unicode; "
            "each was replaced by U+FFFD.",
            call,
            repaired,
        )
        return body
