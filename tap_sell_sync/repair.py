# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
r"""Reading Sell answers whose text is not valid Unicode, keeping everything else exact.

JSON text must be UTF-8, and a ``\ud83d`` escape with no partner is no character at all;
strict parsers refuse the whole answer for one such string, so a single broken note would
stop every run at the page that holds it. Such an answer is read again here: bytes that are
not UTF-8 and unpaired surrogates become U+FFFD (the replacement character), which
PostgreSQL and every target can store, and the number of strings so repaired is counted.
"""

from __future__ import annotations

import decimal
import json
import typing as t

REPLACEMENT = "\ufffd"


def _refuse_constant(name: str) -> t.NoReturn:
    msg = f"{name} is not JSON"
    raise ValueError(msg)


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _repair_text(text: str) -> str:
    return "".join(REPLACEMENT if "\ud800" <= char <= "\udfff" else char for char in text)


class _Repairer:
    def __init__(self) -> None:
        self.repaired = 0

    def text(self, value: str) -> str:
        if not _has_surrogate(value):
            return value
        self.repaired += 1
        return _repair_text(value)

    def walk(self, value: object) -> object:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.walk(entry) for entry in value]
        if isinstance(value, dict):
            return {self.text(key): self.walk(entry) for key, entry in value.items()}
        return value


def decode_repairing(content: bytes) -> tuple[object, int]:
    """Parse JSON, replacing text that is not valid Unicode.

    Args:
        content: The answer's bytes.

    Returns:
        The value (numbers with a fraction as exact decimals) and how many strings were
        repaired.

    Raises:
        ValueError: When the answer is not JSON even so (NaN and Infinity included).
    """
    # Bytes that are not UTF-8 become lone surrogates here, repaired below like escaped ones.
    text = content.decode("utf-8", errors="surrogateescape")
    value = json.loads(text, parse_float=decimal.Decimal, parse_constant=_refuse_constant)
    repairer = _Repairer()
    value = repairer.walk(value)
    return value, repairer.repaired
