# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""JSON schemas of the Sell resources, declared once from the Sync API field tables.

Every property is nullable except the primary key, because a deleted item carries only its
key. Money fields are exact decimals; custom fields keep keys never seen before, with values
as Sell sends them. Each schema also has the tap's columns ``sell_event_type``,
``sell_revision`` and ``_sdc_deleted_at``.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

ID = th.IntegerType
TS = th.DateTimeType
STR = th.StringType
BOOL = th.BooleanType
INT = th.IntegerType
MONEY = th.DecimalType

ADDRESS = th.ObjectType(
    th.Property("line1", STR),
    th.Property("line2", STR),
    th.Property("city", STR),
    th.Property("postal_code", STR),
    th.Property("state", STR),
    th.Property("country", STR),
)
CUSTOM_FIELDS = th.ObjectType(additional_properties=True)
TAGS = th.ArrayType(STR)
ID_LIST = th.ArrayType(ID)
ID_NAME = th.ObjectType(th.Property("id", ID), th.Property("name", STR))
PRICE = th.ObjectType(th.Property("amount", MONEY), th.Property("currency", STR))

EVENT_TYPE_COLUMN = "sell_event_type"
REVISION_COLUMN = "sell_revision"
DELETED_AT_COLUMN = "_sdc_deleted_at"
TAP_COLUMNS = (EVENT_TYPE_COLUMN, REVISION_COLUMN, DELETED_AT_COLUMN)

TIMESTAMPS = (th.Property("created_at", TS), th.Property("updated_at", TS))
SYNC_COLUMNS = (
    th.Property(EVENT_TYPE_COLUMN, STR, description="created, updated or deleted (a hint)"),
    th.Property(REVISION_COLUMN, INT, description="Sell's data revision of the object"),
    th.Property(DELETED_AT_COLUMN, TS, description="When the tap received the delete"),
)
CONTACT_DETAILS = tuple(
    th.Property(name, STR)
    for name in (
        "title",
        "description",
        "industry",
        "website",
        "email",
        "phone",
        "mobile",
        "fax",
        "twitter",
        "facebook",
        "linkedin",
        "skype",
    )
)


def _props(*fields: tuple[str, t.Any]) -> tuple[th.Property[t.Any], ...]:
    return tuple(th.Property(name, kind) for name, kind in fields)


def _schema(keys: tuple[str, ...], *properties: th.Property[t.Any]) -> dict[str, t.Any]:
    key_properties = [th.Property(key, ID, required=True) for key in keys]
    return th.PropertiesList(*key_properties, *properties, *SYNC_COLUMNS).to_dict()


_NAMED = _props(("creator_id", ID), ("name", STR))

ACCOUNT = _schema(
    ("id",),
    *_props(("name", STR), ("currency", STR), ("phone", STR), ("time_format", STR)),
    *_props(("timezone", STR), ("subdomain", STR)),
    *TIMESTAMPS,
)
USER = _schema(
    ("id",),
    *_props(("name", STR), ("email", STR), ("status", STR), ("invited", BOOL)),
    *_props(("confirmed", BOOL), ("phone_number", STR), ("role", STR)),
    th.Property("roles", th.ArrayType(ID_NAME)),
    th.Property("team_name", STR),
    th.Property("group", ID_NAME),
    *_props(("reports_to", ID), ("timezone", STR)),
    *TIMESTAMPS,
    th.Property("deleted_at", TS),
    th.Property("zendesk_user_id", ID),
)
LEAD = _schema(
    ("id",),
    *_props(("creator_id", ID), ("owner_id", ID), ("first_name", STR), ("last_name", STR)),
    *_props(("organization_name", STR), ("status", STR), ("source_id", ID)),
    th.Property("unqualified_reason_id", ID),
    *CONTACT_DETAILS,
    th.Property("address", ADDRESS),
    th.Property("tags", TAGS),
    th.Property("custom_fields", CUSTOM_FIELDS),
    *TIMESTAMPS,
)
CONTACT = _schema(
    ("id",),
    *_props(("creator_id", ID), ("owner_id", ID), ("is_organization", BOOL)),
    *_props(("contact_id", ID), ("parent_organization_id", ID), ("name", STR)),
    *_props(("first_name", STR), ("last_name", STR), ("customer_status", STR)),
    th.Property("prospect_status", STR),
    *CONTACT_DETAILS,
    th.Property("address", ADDRESS),
    th.Property("billing_address", ADDRESS),
    th.Property("shipping_address", ADDRESS),
    th.Property("tags", TAGS),
    th.Property("custom_fields", CUSTOM_FIELDS),
    *TIMESTAMPS,
)
DEAL = _schema(
    ("id",),
    *_props(("creator_id", ID), ("owner_id", ID), ("name", STR), ("value", MONEY)),
    *_props(("currency", STR), ("hot", BOOL), ("stage_id", ID), ("last_stage_change_at", TS)),
    *_props(("last_stage_change_by_id", ID), ("last_activity_at", TS), ("source_id", ID)),
    *_props(("loss_reason_id", ID), ("unqualified_reason_id", ID), ("dropbox_email", STR)),
    *_props(("contact_id", ID), ("organization_id", ID), ("estimated_close_date", STR)),
    th.Property("customized_win_likelihood", INT),
    th.Property("tags", TAGS),
    th.Property("custom_fields", CUSTOM_FIELDS),
    *TIMESTAMPS,
    th.Property("added_on", TS),
    th.Property("added_at", TS),
)
ASSOCIATED_CONTACT = _schema(
    ("deal_id", "contact_id"),
    *_props(("role", STR), ("creator_id", ID)),
    *TIMESTAMPS,
)
PIPELINE = _schema(("id",), *_props(("name", STR), ("disabled", BOOL)), *TIMESTAMPS)
STAGE = _schema(
    ("id",),
    *_props(("name", STR), ("category", STR), ("active", BOOL), ("likelihood", INT)),
    *_props(("pipeline_id", ID), ("position", INT)),
    *TIMESTAMPS,
)
REASON = _schema(("id",), *_NAMED, *TIMESTAMPS)
SOURCE = _schema(("id",), *_NAMED, th.Property("resource_type", STR), *TIMESTAMPS)
NOTE = _schema(
    ("id",),
    *_props(("creator_id", ID), ("resource_type", STR), ("resource_id", ID)),
    *_props(("content", STR), ("type", STR), ("is_important", BOOL)),
    th.Property("tags", TAGS),
    *TIMESTAMPS,
)
TASK = _schema(
    ("id",),
    *_props(("creator_id", ID), ("owner_id", ID), ("resource_type", STR), ("resource_id", ID)),
    *_props(("completed", BOOL), ("completed_at", TS), ("content", STR), ("due_date", TS)),
    *_props(("overdue", BOOL), ("remind_at", TS)),
    *TIMESTAMPS,
)
TAG = _schema(("id",), *_NAMED, th.Property("resource_type", STR), *TIMESTAMPS)
CALL = _schema(
    ("id",),
    *_props(("user_id", ID), ("summary", STR), ("recording_url", STR), ("outcome_id", ID)),
    *_props(("duration", INT), ("phone_number", STR), ("incoming", BOOL), ("missed", BOOL)),
    *_props(("resource_type", STR), ("resource_id", ID)),
    th.Property("associated_deal_ids", ID_LIST),
    *_props(("made_at", TS), ("external_id", STR)),
    *TIMESTAMPS,
)
CALL_OUTCOME = _schema(("id",), *_NAMED, *TIMESTAMPS)
PRODUCT = _schema(
    ("id",),
    *_props(("name", STR), ("description", STR), ("sku", STR), ("active", BOOL)),
    *_props(("max_discount", INT), ("max_markup", INT), ("cost", MONEY)),
    th.Property("cost_currency", STR),
    th.Property("prices", th.ArrayType(PRICE)),
    *TIMESTAMPS,
)
ORDER = _schema(("id",), *_props(("deal_id", ID), ("discount", INT)), *TIMESTAMPS)
LINE_ITEM = _schema(
    ("id",),
    *_props(("order_id", ID), ("product_id", ID), ("value", MONEY), ("variation", MONEY)),
    *_props(("currency", STR), ("quantity", INT), ("price", MONEY), ("name", STR)),
    *_props(("sku", STR), ("description", STR)),
    *TIMESTAMPS,
)
TEXT_MESSAGE = _schema(
    ("id",),
    th.Property("associated_deal_ids", ID_LIST),
    *_props(("content", STR), ("incoming", BOOL), ("resource_type", STR), ("resource_id", ID)),
    *_props(("resource_phone_number", STR), ("user_id", ID), ("user_phone_number", STR)),
    th.Property("sent_at", TS),
    *TIMESTAMPS,
)
VISIT = _schema(
    ("id",),
    *_props(("creator_id", ID), ("outcome_id", ID), ("resource_type", STR), ("resource_id", ID)),
    *_props(("resource_address", STR), ("rep_location_verification_status", STR)),
    *_props(("summary", STR), ("visited_at", TS)),
    *TIMESTAMPS,
)
VISIT_OUTCOME = _schema(("id",), th.Property("name", STR), *TIMESTAMPS)
COLLABORATION = _schema(
    ("id",),
    *_props(("creator_id", ID), ("resource_type", STR), ("resource_id", ID)),
    th.Property("collaborator_id", ID),
    *TIMESTAMPS,
)
LEAD_CONVERSION = _schema(
    ("id",),
    *_props(("lead_id", ID), ("individual_id", ID), ("organization_id", ID), ("deal_id", ID)),
    *_props(("creator_id", ID), ("created_at", TS)),
)

# Money fields hold an integer or a decimal string on the wire; the reader turns them into
# exact decimals. Paths are top-level names, or "list.field" for a list of objects.
MONEY_FIELDS: dict[str, tuple[str, ...]] = {
    "deal": ("value",),
    "product": ("cost", "prices.amount"),
    "line_item": ("value", "variation", "price"),
}
