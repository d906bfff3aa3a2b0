# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Exceptions of tap-sell-sync: every one of them is shown to the user as one line."""

from __future__ import annotations


class TapSellSyncError(Exception):
    """A problem the user can act on; the CLI prints its message and exits with code 1."""


class SettingsError(TapSellSyncError):
    """A setting is missing or malformed."""


class StateError(TapSellSyncError):
    """The incoming state is not what this tap writes."""


class CatalogError(TapSellSyncError):
    """The --catalog file is missing, empty or not a JSON object."""


class OutputError(TapSellSyncError):
    """Standard output cannot be written (the target stopped reading, a full disk)."""


class StreamMapError(TapSellSyncError):
    """A stream map's expression failed on a record."""


class SellApiError(TapSellSyncError):
    """Sell answered with an error, or could not be reached after retries."""

    def __init__(
        self, message: str, *, status: int | None = None, logref: str | None = None
    ) -> None:
        """Build the error, adding Sell's request id to the message when there is one.

        Args:
            message: What went wrong and what to do.
            status: The HTTP status, when there was a response.
            logref: Sell's request id (``meta.logref`` or ``X-Request-Id``).
        """
        if logref:
            message = f"{message} (Sell logref {logref})"
        super().__init__(message)
        self.status = status
        self.logref = logref


class SellAuthError(SellApiError):
    """Sell refused the access token (401 or 403)."""


class SessionLostError(SellApiError):
    """Sell no longer knows the sync session (404 on a queue fetch)."""


class RetriableError(SellApiError):
    """A failure worth retrying: 429, 5xx, timeouts, dropped connections, bad bodies."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        logref: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Build the error.

        Args:
            message: What went wrong.
            status: The HTTP status, when there was a response.
            logref: Sell's request id.
            retry_after: Seconds to wait that the server asked for, when it did.
        """
        super().__init__(message, status=status, logref=logref)
        self.retry_after = retry_after
