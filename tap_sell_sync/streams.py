# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""One Singer stream per Sell resource type, all fed from the tap's single queue drain.

A stream owns no HTTP request: its ``get_records`` asks the tap's `SyncRun` for the
stream's spooled records (the first stream to ask triggers the drain of the whole session).
Every stream is LOG_BASED and selected by default.
"""

from __future__ import annotations

import logging
import sys
import typing as t

from singer_sdk import Stream
from singer_sdk.exceptions import (
    AbortedSyncFailedException,
    AbortedSyncPausedException,
    MapExpressionError,
    StreamMapConfigError,
)
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.catalog import Metadata, MetadataMapping, SelectionMask
from typing_extensions import override

from tap_sell_sync import schemas
from tap_sell_sync.errors import StreamMapError, TapSellSyncError

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterable

    from singer_sdk.helpers.types import Context, Record

    from tap_sell_sync.tap import TapSellSync

LOG_BASED = "LOG_BASED"
MAP_NULLS_HINT = (
    "maps also see delete records, whose fields are null except the key, sell_event_type, "
    "sell_revision and _sdc_deleted_at"
)
# What a map expression raises when it meets a value it cannot handle, such as a null field
# of a delete record (``None * 2``). The SDK names only syntax errors and bad map settings.
_MAP_EXPRESSION_ERRORS = (
    MapExpressionError,
    ArithmeticError,
    AttributeError,
    LookupError,
    TypeError,
    ValueError,
)
LOGGER = logging.getLogger(__name__)


class _RememberingMask(SelectionMask):
    """A selection mask that remembers what it worked out for breadcrumbs it was not given.

    The SDK asks the mask about every property of every record, including the keys of
    ``custom_fields`` that no catalog names; remembering the answer saves the walk up to
    the parent for each later record.
    """

    def __init__(self, named: SelectionMask) -> None:
        """Wrap the mask the SDK resolved from the catalog.

        Args:
            named: The SDK's mask of the breadcrumbs the catalog names.
        """
        super().__init__(named)
        # Breadcrumbs the catalog does not name inherit from their parent, so when every
        # named one is selected, nothing is deselected.
        self.nothing_deselected = all(named.values())

    @override
    def __missing__(self, breadcrumb: tuple[str, ...]) -> bool:
        selected = super().__missing__(breadcrumb)
        self[breadcrumb] = selected
        return selected


# Exceptions the SDK's "unhandled error" line must not announce (see `SellStream.log`).
_NOT_LOGGED_AS_ERRORS = (
    TapSellSyncError,
    AbortedSyncFailedException,
    AbortedSyncPausedException,
    # Shown as one line by the CLI (`TapSellSync.invoke`).
    MapExpressionError,
    StreamMapConfigError,
)


class SellStream(Stream):
    """A stream of one Sell resource type, fed from the drained queue."""

    resource_type: t.ClassVar[str]
    primary_keys: t.ClassVar[list[str]] = ["id"]
    selected_by_default = True
    # Records are built from JSON by the queue reader and hold only JSON types and exact
    # decimals, limited to the schema's properties, so the SDK need not convert them.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapSellSync) -> None:
        """Create the stream.

        Args:
            tap: The tap that owns the queue drain.
        """
        super().__init__(tap)
        self.forced_replication_method = LOG_BASED
        self._sell_tap = tap

    @property
    @override
    def metadata(self) -> MetadataMapping:
        """The stream's metadata; the tap's own columns cannot be deselected.

        Without ``_sdc_deleted_at`` a delete would reach the target as a live-looking row
        while its key is acked, so the delete mark and the sync columns are ``automatic``,
        whatever a catalog says.

        Returns:
            The metadata.
        """
        metadata = super().metadata
        for name in schemas.TAP_COLUMNS:
            entry = metadata.get(("properties", name))
            if entry is not None:
                entry.inclusion = Metadata.InclusionType.AUTOMATIC
        return metadata

    @property
    @override
    def mask(self) -> SelectionMask:
        """The SDK's selection mask, remembering answers for unnamed breadcrumbs.

        Returns:
            The mask.
        """
        mask = super().mask
        if not isinstance(mask, _RememberingMask):
            mask = _RememberingMask(mask)
            self._mask = mask
        return mask

    @override
    def _generate_record_messages(
        self,
        record: Record,
    ) -> Generator[RecordMessage, None, None]:
        """Build the RECORD messages of one record, skipping the walk for deselected fields.

        The SDK walks every property of every record, nested objects included, to remove
        deselected ones; with nothing deselected that walk removes nothing and was the
        largest cost per record. Type conformance is off (`TYPE_CONFORMANCE_LEVEL`), so
        what is left is the SDK's own last step: stream maps, then the message. Records
        that maps drop are counted; a map expression that fails on the record ends the run
        with one line that names the stream and the record's key, and the record's ack keys
        stay unacked.

        Args:
            record: The record.

        Yields:
            One message per stream map that keeps the record.

        Raises:
            StreamMapError: When a map expression fails on the record.
        """
        kept = False
        mask = self.mask
        try:
            if not isinstance(mask, _RememberingMask) or not mask.nothing_deselected:
                for message in super()._generate_record_messages(record):
                    kept = True
                    yield message
            else:
                for stream_map in self.stream_maps:
                    mapped_record = stream_map.transform(record)
                    if mapped_record is not None:
                        kept = True
                        yield RecordMessage(
                            stream=stream_map.stream_alias,
                            record=mapped_record,
                            version=self._stream_version,
                            time_extracted=utc_now(),
                        )
        except _MAP_EXPRESSION_ERRORS as exc:
            LOGGER.debug("Stream map failure on stream %s.", self.name, exc_info=True)
            raise StreamMapError(self._describe_map_failure(record, exc)) from exc
        if not kept:
            self._sell_tap.sync_run().note_dropped_by_map(self.name)

    def _describe_map_failure(self, record: Record, exc: Exception) -> str:
        """Say which record a map failed on, by its key only (values may be personal data).

        Args:
            record: The record.
            exc: What the map expression raised.

        Returns:
            The one-line message.
        """
        key = ", ".join(f"{name} {record.get(name)!r}" for name in type(self).primary_keys)
        kind = "delete record" if record.get(schemas.DELETED_AT_COLUMN) else "record"
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, MapExpressionError) and exc.__cause__ is not None:
            reason = f"{exc} {type(exc.__cause__).__name__}: {exc.__cause__}"
        hint = f" ({MAP_NULLS_HINT})" if kind == "delete record" else ""
        return (
            f"a stream map failed on the {kind} of stream {self.name} with {key}: "
            f"{' '.join(reason.split())}{hint}; fix the map, the record is not acked and "
            "comes again next run"
        )

    @override
    def log(
        self,
        message: str,
        *args: t.Any,
        level: int = logging.INFO,
        **kwargs: t.Any,
    ) -> None:
        """Log a message, except the SDK's generic error line where nothing failed.

        A `TapSellSyncError` is shown by the CLI as one line; the SDK's "unhandled error"
        line would only repeat it. ``--test`` stops every stream after its first record by
        raising an abort, which is its success, not an error.

        Args:
            message: The %-style message.
            args: Its arguments.
            level: The log level.
            kwargs: Passed to the logger.
        """
        if level >= logging.ERROR and isinstance(sys.exc_info()[1], _NOT_LOGGED_AS_ERRORS):
            return
        super().log(message, *args, level=level, **kwargs)

    @override
    def generate_child_contexts(
        self,
        record: Record,
        context: Context | None,
    ) -> Iterable[Context | None]:
        """Yield no child context: the streams have no children.

        The SDK would otherwise run the ``__filter__`` of a stream map once more per record
        only to decide whether to sync children, outside the checks that turn a failing map
        into one line.

        Args:
            record: The record.
            context: Unused.

        Returns:
            No context.
        """
        return ()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Yield this stream's records from the drained queue.

        Args:
            context: Unused (the streams have no partitions).

        Returns:
            The records; their ack keys become pending once each is written.
        """
        return self._sell_tap.sync_run().records(self.name)


class AccountStream(SellStream):
    """Items of type ``account``."""

    name = "accounts"
    resource_type = "account"
    schema = schemas.ACCOUNT


class UserStream(SellStream):
    """Items of type ``user``."""

    name = "users"
    resource_type = "user"
    schema = schemas.USER


class LeadStream(SellStream):
    """Items of type ``lead``."""

    name = "leads"
    resource_type = "lead"
    schema = schemas.LEAD


class ContactStream(SellStream):
    """Items of type ``contact``."""

    name = "contacts"
    resource_type = "contact"
    schema = schemas.CONTACT


class DealStream(SellStream):
    """Items of type ``deal``."""

    name = "deals"
    resource_type = "deal"
    schema = schemas.DEAL


class AssociatedContactStream(SellStream):
    """Items of type ``associated_contact``."""

    name = "associated_contacts"
    resource_type = "associated_contact"
    primary_keys: t.ClassVar[list[str]] = ["deal_id", "contact_id"]
    schema = schemas.ASSOCIATED_CONTACT


class PipelineStream(SellStream):
    """Items of type ``pipeline``."""

    name = "pipelines"
    resource_type = "pipeline"
    schema = schemas.PIPELINE


class StageStream(SellStream):
    """Items of type ``stage``."""

    name = "stages"
    resource_type = "stage"
    schema = schemas.STAGE


class LossReasonStream(SellStream):
    """Items of type ``loss_reason``."""

    name = "loss_reasons"
    resource_type = "loss_reason"
    schema = schemas.REASON


class LeadUnqualifiedReasonStream(SellStream):
    """Items of type ``lead_unqualified_reason``."""

    name = "lead_unqualified_reasons"
    resource_type = "lead_unqualified_reason"
    schema = schemas.REASON


class DealUnqualifiedReasonStream(SellStream):
    """Items of type ``deal_unqualified_reason``."""

    name = "deal_unqualified_reasons"
    resource_type = "deal_unqualified_reason"
    schema = schemas.REASON


class SourceStream(SellStream):
    """Items of type ``source``."""

    name = "sources"
    resource_type = "source"
    schema = schemas.SOURCE


class LeadSourceStream(SellStream):
    """Items of type ``lead_source``."""

    name = "lead_sources"
    resource_type = "lead_source"
    schema = schemas.SOURCE


class DealSourceStream(SellStream):
    """Items of type ``deal_source``."""

    name = "deal_sources"
    resource_type = "deal_source"
    schema = schemas.SOURCE


class NoteStream(SellStream):
    """Items of type ``note``."""

    name = "notes"
    resource_type = "note"
    schema = schemas.NOTE


class TaskStream(SellStream):
    """Items of type ``task``."""

    name = "tasks"
    resource_type = "task"
    schema = schemas.TASK


class TagStream(SellStream):
    """Items of type ``tag``."""

    name = "tags"
    resource_type = "tag"
    schema = schemas.TAG


class CallStream(SellStream):
    """Items of type ``call``."""

    name = "calls"
    resource_type = "call"
    schema = schemas.CALL


class CallOutcomeStream(SellStream):
    """Items of type ``call_outcome``."""

    name = "call_outcomes"
    resource_type = "call_outcome"
    schema = schemas.CALL_OUTCOME


class ProductStream(SellStream):
    """Items of type ``product``."""

    name = "products"
    resource_type = "product"
    schema = schemas.PRODUCT


class OrderStream(SellStream):
    """Items of type ``order``."""

    name = "orders"
    resource_type = "order"
    schema = schemas.ORDER


class LineItemStream(SellStream):
    """Items of type ``line_item``."""

    name = "line_items"
    resource_type = "line_item"
    schema = schemas.LINE_ITEM


class TextMessageStream(SellStream):
    """Items of type ``text_message``."""

    name = "text_messages"
    resource_type = "text_message"
    schema = schemas.TEXT_MESSAGE


class VisitStream(SellStream):
    """Items of type ``visit``."""

    name = "visits"
    resource_type = "visit"
    schema = schemas.VISIT


class VisitOutcomeStream(SellStream):
    """Items of type ``visit_outcome``."""

    name = "visit_outcomes"
    resource_type = "visit_outcome"
    schema = schemas.VISIT_OUTCOME


class CollaborationStream(SellStream):
    """Items of type ``collaboration``."""

    name = "collaborations"
    resource_type = "collaboration"
    schema = schemas.COLLABORATION


class LeadConversionStream(SellStream):
    """Items of type ``lead_conversion``."""

    name = "lead_conversions"
    resource_type = "lead_conversion"
    schema = schemas.LEAD_CONVERSION


STREAM_TYPES: tuple[type[SellStream], ...] = (
    AccountStream,
    UserStream,
    LeadStream,
    ContactStream,
    DealStream,
    AssociatedContactStream,
    PipelineStream,
    StageStream,
    LossReasonStream,
    LeadUnqualifiedReasonStream,
    DealUnqualifiedReasonStream,
    SourceStream,
    LeadSourceStream,
    DealSourceStream,
    NoteStream,
    TaskStream,
    TagStream,
    CallStream,
    CallOutcomeStream,
    ProductStream,
    OrderStream,
    LineItemStream,
    TextMessageStream,
    VisitStream,
    VisitOutcomeStream,
    CollaborationStream,
    LeadConversionStream,
)
