# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Holding record values to the JSON types their stream's schema declares.

Targets built on singer-sdk validate every record against its schema and stop the whole
load on one value of the wrong type. An item that is not stored is never acked, so Sell
would send it again on every run and every run would stop the same way. The reader
therefore checks each value against the schema before it spools the record: a value that
converts without loss (``"12"`` for an integer, ``12`` for a string) is converted; any other
becomes null, and the run's summary counts it by stream and field.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_INVALID = object()
_INTEGER_TEXT = re.compile(r"[+-]?\d{1,30}")
_TRUE_TEXTS = frozenset({"true", "True", "TRUE"})
_FALSE_TEXTS = frozenset({"false", "False", "FALSE"})

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float, decimal.Decimal),
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _to_integer(value: object) -> object:
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    if isinstance(value, (float, decimal.Decimal)) and not isinstance(value, bool):
        try:
            if value == int(value):
                return int(value)
        except (ValueError, OverflowError):
            return _INVALID
    return _INVALID


def _to_number(value: object) -> object:
    if isinstance(value, str):
        try:
            number = decimal.Decimal(value)
        except decimal.InvalidOperation:
            return _INVALID
        return number if number.is_finite() else _INVALID
    return _INVALID


def _to_string(value: object) -> object:
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return str(value)
    return _INVALID


def _to_boolean(value: object) -> object:
    if value in _TRUE_TEXTS:
        return True
    if value in _FALSE_TEXTS:
        return False
    return _INVALID


def _is_timestamp(value: str) -> bool:
    # Python before 3.11 does not read a trailing "Z".
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


_CONVERTERS: dict[str, Callable[[object], object]] = {
    "integer": _to_integer,
    "number": _to_number,
    "string": _to_string,
    "boolean": _to_boolean,
}


@dataclass(frozen=True)
class ValueCheck:
    """What one property accepts, compiled from its JSON schema."""

    types: frozenset[type]
    converters: tuple[Callable[[object], object], ...] = ()
    timestamp: bool = False
    items: ValueCheck | None = None
    properties: RecordChecks | None = None

    def conform(self, value: object) -> object:
        """Return the value, converted when that loses nothing, or ``_INVALID``.

        Args:
            value: A value that is not None.

        Returns:
            The value to keep, or the module's invalid marker.
        """
        if type(value) not in self.types:
            return self._convert(value)
        if self.timestamp:
            return value if _is_timestamp(value) else _INVALID  # type: ignore[arg-type]
        if self.items is not None:
            return _conform_items(value, self.items)  # type: ignore[arg-type]
        if self.properties is not None:
            invalid = conform_record(value, self.properties)  # type: ignore[arg-type]
            return _INVALID if invalid else value
        return value

    def _convert(self, value: object) -> object:
        if self.timestamp:
            # A number is no timestamp: neither its epoch nor its unit can be guessed.
            return _INVALID
        for convert in self.converters:
            converted = convert(value)
            if converted is not _INVALID:
                return converted
        return _INVALID


@dataclass(frozen=True)
class RecordChecks:
    """The checks of an object's properties, split for speed.

    ``plain`` holds the properties whose check is only a type test (most of them), by name;
    ``nested`` the others (timestamps, arrays, objects with declared properties).
    """

    plain: Mapping[str, frozenset[type]] = field(default_factory=dict)
    nested: Mapping[str, ValueCheck] = field(default_factory=dict)
    checks: Mapping[str, ValueCheck] = field(default_factory=dict)


def _conform_items(values: list[object], check: ValueCheck) -> object:
    for index, item in enumerate(values):
        if item is None:
            continue
        conformed = check.conform(item)
        if conformed is _INVALID:
            return _INVALID
        if conformed is not item:
            values[index] = conformed
    return values


def compile_check(schema: Mapping[str, t.Any]) -> ValueCheck | None:
    """Compile the check of one property, or None when its schema names no type.

    Args:
        schema: The property's JSON schema.

    Returns:
        The check, or None to accept any value.
    """
    if not isinstance(schema, dict):
        # A boolean schema (``true``), as a catalog may hold: any value.
        return None
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or ())
    names = [name for name in names if name != "null"]
    if not names or any(name not in _PYTHON_TYPES for name in names):
        return None
    types = frozenset(kind for name in names for kind in _PYTHON_TYPES[name])
    if "integer" in names or "number" in names:
        types -= {bool}
    converters = tuple(_CONVERTERS[name] for name in names if name in _CONVERTERS)
    item_schema = schema.get("items") if "array" in names else None
    items = compile_check(item_schema) if isinstance(item_schema, dict) else None
    properties = compile_properties(schema) if names == ["object"] else None
    return ValueCheck(
        types=types,
        converters=converters,
        timestamp=schema.get("format") == "date-time",
        items=items,
        properties=properties if properties is not None and properties.checks else None,
    )


def compile_properties(schema: Mapping[str, t.Any]) -> RecordChecks:
    """Compile the checks of an object schema's properties.

    Args:
        schema: An object's JSON schema.

    Returns:
        The checks of the properties that have one.
    """
    checks = {}
    for name, property_schema in (schema.get("properties") or {}).items():
        check = compile_check(property_schema)
        if check is not None:
            checks[name] = check
    plain = {
        name: check.types
        for name, check in checks.items()
        if not check.timestamp and check.items is None and check.properties is None
    }
    nested = {name: check for name, check in checks.items() if name not in plain}
    return RecordChecks(plain=plain, nested=nested, checks=checks)


def conform_record(record: dict[str, object], checks: RecordChecks) -> list[str]:
    """Hold a record's values to their checks, in place.

    Args:
        record: The record; converted values replace the originals, invalid ones become None.
        checks: The compiled checks of the record's schema.

    Returns:
        The names of the properties whose values were set to None.
    """
    invalid: list[str] = []
    plain = checks.plain
    nested = checks.nested
    for name, value in record.items():
        if value is None:
            continue
        types = plain.get(name)
        if types is not None and type(value) in types:
            continue
        check = checks.checks.get(name) if types is not None else nested.get(name)
        if check is None:
            continue
        conformed = check.conform(value)
        if conformed is _INVALID:
            invalid.append(name)
            record[name] = None
        elif conformed is not value:
            record[name] = conformed
    return invalid
