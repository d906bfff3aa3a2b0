# Copyright 2026 The tap-sell-sync authors. Licensed under the Apache License, Version 2.0.
"""Seeded, realistic Sell data: the shape of each resource type and the references between them.

The generator only builds `data` dictionaries; the store in `model` keeps revisions and deletes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

_T = TypeVar("_T")

Key = int | tuple[int, int]
"""The key of an object: its id, or (deal_id, contact_id) for an associated contact."""

Data = dict[str, Any]

#: A resource type no client knows yet, served only when the configuration asks for it.
UNKNOWN_RESOURCE_TYPE: Final = "sales_sequence"

#: How many objects of the reference types a full-size data set has.
_SMALL_TYPE_TARGETS: Final[dict[str, int]] = {
    "account": 1,
    "user": 6,
    "pipeline": 2,
    "stage": 8,
    "loss_reason": 3,
    "lead_unqualified_reason": 3,
    "deal_unqualified_reason": 3,
    "source": 4,
    "lead_source": 3,
    "deal_source": 3,
    "tag": 6,
    "call_outcome": 3,
    "visit_outcome": 3,
    "product": 8,
}

#: Relative share of the remaining objects for the types that grow with the account.
_LARGE_TYPE_WEIGHTS: Final[dict[str, int]] = {
    "contact": 24,
    "lead": 14,
    "deal": 14,
    "associated_contact": 8,
    "note": 13,
    "task": 11,
    "call": 4,
    "order": 2,
    "line_item": 3,
    "text_message": 2,
    "visit": 2,
    "collaboration": 2,
    "lead_conversion": 1,
}

#: Every resource type the emulator serves, in an order where references point backwards.
RESOURCE_TYPES: Final[tuple[str, ...]] = (*_SMALL_TYPE_TARGETS, *_LARGE_TYPE_WEIGHTS)

#: Types whose objects mutations may delete (reference data and people stay).
DELETABLE_TYPES: Final[frozenset[str]] = frozenset((*_LARGE_TYPE_WEIGHTS, "tag", "product"))

#: Types that mutations create and update, with their weights.
MUTABLE_WEIGHTS: Final[dict[str, int]] = {**_LARGE_TYPE_WEIGHTS, "tag": 1, "product": 1}

POLYMORPHIC: Final = "*"
CASCADE: Final = "cascade"
NULLIFY: Final = "null"

#: Reference fields per type: (field, target type or POLYMORPHIC, what a delete of the target does).
REFERENCES: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    "stage": (("pipeline_id", "pipeline", CASCADE),),
    "loss_reason": (("creator_id", "user", NULLIFY),),
    "lead_unqualified_reason": (("creator_id", "user", NULLIFY),),
    "deal_unqualified_reason": (("creator_id", "user", NULLIFY),),
    "source": (("creator_id", "user", NULLIFY),),
    "lead_source": (("creator_id", "user", NULLIFY),),
    "deal_source": (("creator_id", "user", NULLIFY),),
    "tag": (("creator_id", "user", NULLIFY),),
    "call_outcome": (("creator_id", "user", NULLIFY),),
    "contact": (
        ("creator_id", "user", NULLIFY),
        ("owner_id", "user", NULLIFY),
        ("contact_id", "contact", NULLIFY),
        ("parent_organization_id", "contact", NULLIFY),
    ),
    "lead": (
        ("creator_id", "user", NULLIFY),
        ("owner_id", "user", NULLIFY),
        ("source_id", "lead_source", NULLIFY),
        ("unqualified_reason_id", "lead_unqualified_reason", NULLIFY),
    ),
    "deal": (
        ("creator_id", "user", NULLIFY),
        ("owner_id", "user", NULLIFY),
        ("stage_id", "stage", NULLIFY),
        ("last_stage_change_by_id", "user", NULLIFY),
        ("source_id", "deal_source", NULLIFY),
        ("loss_reason_id", "loss_reason", NULLIFY),
        ("unqualified_reason_id", "deal_unqualified_reason", NULLIFY),
        ("contact_id", "contact", NULLIFY),
        ("organization_id", "contact", NULLIFY),
    ),
    "associated_contact": (
        ("deal_id", "deal", CASCADE),
        ("contact_id", "contact", CASCADE),
    ),
    "note": (("creator_id", "user", NULLIFY), ("resource_id", POLYMORPHIC, CASCADE)),
    "task": (
        ("creator_id", "user", NULLIFY),
        ("owner_id", "user", NULLIFY),
        ("resource_id", POLYMORPHIC, CASCADE),
    ),
    "call": (
        ("user_id", "user", NULLIFY),
        ("outcome_id", "call_outcome", NULLIFY),
        ("resource_id", POLYMORPHIC, CASCADE),
    ),
    "order": (("deal_id", "deal", CASCADE),),
    "line_item": (("order_id", "order", CASCADE), ("product_id", "product", NULLIFY)),
    "text_message": (("user_id", "user", NULLIFY), ("resource_id", POLYMORPHIC, CASCADE)),
    "visit": (
        ("creator_id", "user", NULLIFY),
        ("outcome_id", "visit_outcome", NULLIFY),
        ("resource_id", POLYMORPHIC, CASCADE),
    ),
    "collaboration": (
        ("creator_id", "user", NULLIFY),
        ("collaborator_id", "user", NULLIFY),
        ("resource_id", POLYMORPHIC, CASCADE),
    ),
    "lead_conversion": (
        ("creator_id", "user", NULLIFY),
        ("lead_id", "lead", NULLIFY),
        ("individual_id", "contact", NULLIFY),
        ("organization_id", "contact", NULLIFY),
        ("deal_id", "deal", NULLIFY),
    ),
}

_EPOCH_2024: Final = 1_704_067_200
_SMALL_ID_MAX: Final = 50_000_000
_LARGE_ID_MIN: Final = 2**31
_LARGE_ID_MAX: Final = 2**40
_LARGE_ID_SHARE: Final = 0.25
_NULL_SHARE: Final = 0.15
_POOL_SIZE: Final = 256
_MAX_WORDS: Final = 30

_FIRST_NAMES: Final = (
    "Ann", "José", "Zoë", "Łukasz", "Søren", "Małgorzata", "Renée", "Björn", "Chloé", "Ömer",
    "Nguyễn", "Saoirse", "Jürgen", "Inès", "Dmitrij", "Ayşe", "Mary", "John", "Li", "Priya",
    "Kenji", "María", "François", "Ngozi", "Ólafur", "Ewa",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Smith", "García", "Müller", "Kowalski", "Østergaard", "Nakamura", "O'Brien", "Dubois",
    "Çelik", "Novák", "Andrés", "田中", "Иванова", "Jönsson", "da Silva", "Nguyen", "Brown",
    "Fernández", "Weiß", "Kāne",
)  # fmt: skip
_COMPANY_WORDS: Final = (
    "Acme", "Nordlys", "Zürich", "Globex", "Initech", "Åkerberg", "Umbrella", "Soylent",
    "Hooli", "Café Olé", "Vandelay", "東京", "Krämer", "Stark", "Wayne", "Łódź",
)  # fmt: skip
_COMPANY_SUFFIXES: Final = ("Inc.", "GmbH", "Ltd", "S.A.", "AB", "sp. z o.o.", "KK", "LLC")
_CITIES: Final = (
    ("Kraków", "Małopolskie", "PL", "30-001"),
    ("München", "Bayern", "DE", "80331"),
    ("São Paulo", "SP", "BR", "01000-000"),
    ("Montréal", "QC", "CA", "H2X 1Y4"),
    ("Boston", "MA", "US", "02108"),
    ("Tōkyō", "Tokyo", "JP", "100-0001"),
    ("Reykjavík", None, "IS", "101"),
    ("Zürich", "ZH", "CH", "8001"),
)
_WORDS: Final = (
    "call", "back", "about", "the", "renewal", "pricing", "démo", "follow-up", "contract",
    "budget", "naïve", "question", "résumé", "meeting", "next", "week", "quote", "€", "✓",
    "discount", "onboarding", "Q3", "straße", "signed",
)  # fmt: skip
_INDUSTRIES: Final = ("Software", "Retail", "Logistics", "Finance", "Energía", None)
_DEAL_KINDS: Final = ("renewal", "expansion", "pilot", "Lizenz")
_CURRENCIES: Final = ("USD", "EUR", "PLN", "GBP", "JPY")
_STAGE_NAMES: Final = (
    ("Incoming", "incoming", 10),
    ("Qualified", "qualified", 25),
    ("Quote", "in_progress", 50),
    ("Closure", "in_progress", 80),
    ("Won", "won", 100),
    ("Lost", "lost", 0),
    ("Unqualified", "unqualified", 0),
)
_PRIORITIES: Final = (
    {"id": 1, "name": "High"},
    {"id": 2, "name": "Normal"},
    {"id": 3, "name": "Niedrig"},
)
_INTERESTS: Final = (
    {"id": 11, "name": "Cloud"},
    {"id": 12, "name": "On-premise"},
    {"id": 13, "name": "Support 24/7"},
    {"id": 14, "name": "Formación"},
)
_POLY_TARGETS: Final = ("lead", "contact", "deal")


def _pick(rng: random.Random, choices: Sequence[_T]) -> _T:
    # random.Random.choice and randint run in Python; random() is one C call.
    return choices[int(rng.random() * len(choices))]


def _between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def iso_timestamp(seconds: int) -> str:
    """Format seconds since the epoch as an ISO-8601 UTC timestamp ending in Z.

    Args:
        seconds: Seconds since 1970-01-01 UTC.

    Returns:
        The timestamp, e.g. ``2024-05-02T10:11:12Z``.
    """
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def key_of(resource_type: str, data: Data) -> Key:
    """Return the key of an object from its data.

    Args:
        resource_type: The resource type.
        data: The object's data.

    Returns:
        The id, or (deal_id, contact_id) for an associated contact.
    """
    if resource_type == "associated_contact":
        return (int(data["deal_id"]), int(data["contact_id"]))
    return int(data["id"])


def deleted_data(resource_type: str, key: Key) -> Data:
    """Return the `data` of a deleted item: only the key fields.

    Args:
        resource_type: The resource type.
        key: The object's key.

    Returns:
        ``{"id": N}``, or ``{"deal_id": D, "contact_id": C}`` for an associated contact.
    """
    if resource_type == "associated_contact" and isinstance(key, tuple):
        return {"deal_id": key[0], "contact_id": key[1]}
    return {"id": key}


def plan_counts(objects: int) -> dict[str, int]:
    """Split a number of objects between the resource types in a realistic mix.

    Every type gets one object first (in dependency order) while the budget lasts; then the
    reference types grow to a small fixed size, and the rest goes to the large types by weight.

    Args:
        objects: How many objects to create in total.

    Returns:
        The number of objects per resource type; the values add up to ``objects``.
    """
    counts = dict.fromkeys(RESOURCE_TYPES, 0)
    budget = max(objects, 0)
    for resource_type in RESOURCE_TYPES:
        if budget == 0:
            return counts
        counts[resource_type] = 1
        budget -= 1

    small_budget = budget // 5
    for resource_type, target in _SMALL_TYPE_TARGETS.items():
        extra = min(target - 1, small_budget)
        counts[resource_type] += extra
        small_budget -= extra
        budget -= extra

    total_weight = sum(_LARGE_TYPE_WEIGHTS.values())
    shares = {t: budget * w // total_weight for t, w in _LARGE_TYPE_WEIGHTS.items()}
    leftover = budget - sum(shares.values())
    for resource_type in list(_LARGE_TYPE_WEIGHTS)[:leftover]:
        shares[resource_type] += 1
    for resource_type, share in shares.items():
        counts[resource_type] += share
    return counts


class Picker:
    """The live keys of each resource type, with O(1) random choice, insertion and removal."""

    def __init__(self) -> None:
        """Start empty."""
        self._keys: dict[str, list[Key]] = {}
        self._positions: dict[str, dict[Key, int]] = {}

    def add(self, resource_type: str, key: Key) -> None:
        """Record a live object.

        Args:
            resource_type: The resource type.
            key: The object's key.
        """
        positions = self._positions.setdefault(resource_type, {})
        if key in positions:
            return
        keys = self._keys.setdefault(resource_type, [])
        positions[key] = len(keys)
        keys.append(key)

    def remove(self, resource_type: str, key: Key) -> None:
        """Forget a deleted object.

        Args:
            resource_type: The resource type.
            key: The object's key.
        """
        positions = self._positions.get(resource_type, {})
        index = positions.pop(key, None)
        if index is None:
            return
        keys = self._keys[resource_type]
        last = keys.pop()
        if index < len(keys):
            keys[index] = last
            positions[last] = index

    def choose(self, rng: random.Random, resource_type: str) -> Key | None:
        """Return a random live key of a type, or None when there is none.

        Args:
            rng: The random source.
            resource_type: The resource type.

        Returns:
            A live key, or None.
        """
        keys = self._keys.get(resource_type)
        if not keys:
            return None
        return keys[int(rng.random() * len(keys))]

    def count(self, resource_type: str) -> int:
        """Return how many live objects a type has.

        Args:
            resource_type: The resource type.

        Returns:
            The number of live objects.
        """
        return len(self._keys.get(resource_type, ()))

    def has(self, resource_type: str, key: Key) -> bool:
        """Tell whether an object is live.

        Args:
            resource_type: The resource type.
            key: The object's key.

        Returns:
            True when the object is live.
        """
        return key in self._positions.get(resource_type, {})


@dataclass
class Clock:
    """A logical clock, so that timestamps depend on the seed and the history only."""

    now: int = _EPOCH_2024

    def tick(self, rng: random.Random) -> int:
        """Advance by a few minutes and return the new time.

        Args:
            rng: The random source.

        Returns:
            Seconds since the epoch.
        """
        self.now += _between(rng, 1, 600)
        return self.now


class DataGenerator:
    """Builds the data of new objects and of updates, with references to live objects only."""

    def __init__(self, picker: Picker, clock: Clock, pool_rng: random.Random) -> None:
        """Bind to the live-object index and the clock of a store.

        Args:
            picker: The live keys, used to choose referenced objects.
            clock: The logical clock for timestamps.
            pool_rng: The random source for the pools of texts, addresses and custom fields
                that objects draw from (drawing from pools keeps generation fast).
        """
        self._picker = picker
        self._clock = clock
        self._used_ids: dict[str, set[int]] = {}
        self._texts: dict[int, list[str]] = {}
        self._addresses = [self._new_address(pool_rng) for _ in range(_POOL_SIZE)]
        self._custom_field_sets = [self._new_custom_fields(pool_rng) for _ in range(_POOL_SIZE)]
        for words in range(1, _MAX_WORDS + 1):
            self._texts[words] = [
                " ".join(_pick(pool_rng, _WORDS) for _ in range(words)).capitalize()
                for _ in range(_POOL_SIZE // 8)
            ]

    def new_id(self, rng: random.Random, resource_type: str) -> int:
        """Return an id not used before for this type; about a quarter exceed 2^31.

        Args:
            rng: The random source.
            resource_type: The resource type.

        Returns:
            A fresh id.
        """
        used = self._used_ids.setdefault(resource_type, set())
        while True:
            if rng.random() < _LARGE_ID_SHARE:
                candidate = _between(rng, _LARGE_ID_MIN, _LARGE_ID_MAX)
            else:
                candidate = _between(rng, 1, _SMALL_ID_MAX)
            if candidate not in used:
                used.add(candidate)
                return candidate

    def reserve_id(self, resource_type: str, object_id: int) -> None:
        """Mark an id as used (for objects given from outside).

        Args:
            resource_type: The resource type.
            object_id: The id.
        """
        self._used_ids.setdefault(resource_type, set()).add(object_id)

    def new_object(self, rng: random.Random, resource_type: str) -> Data | None:
        """Build the data of a new object.

        Args:
            rng: The random source.
            resource_type: The resource type.

        Returns:
            The data, or None when the type cannot have a new object now (an associated contact
            needs a deal and a contact; every pair may be taken).
        """
        created = self._clock.tick(rng)
        if resource_type == "associated_contact":
            data = self._associated_contact(rng, created)
            if data is None:
                return None
        else:
            builder = getattr(self, "_" + resource_type)
            data = {"id": self.new_id(rng, resource_type), **builder(rng, created)}
        data["created_at"] = iso_timestamp(created)
        if resource_type != "lead_conversion":
            data["updated_at"] = iso_timestamp(created)
        return data

    def updated(self, rng: random.Random, resource_type: str, data: Data) -> Data:
        """Return a changed copy of an object's data (references stay as they are).

        Args:
            rng: The random source.
            resource_type: The resource type.
            data: The current data.

        Returns:
            The new data, with a later ``updated_at``.
        """
        fresh = dict(data)
        if resource_type == "associated_contact":
            candidate: Data = {"role": _pick(rng, ("involved", "decision maker", "champion"))}
        else:
            candidate = getattr(self, "_" + resource_type)(rng, self._clock.now)
        reference_fields = {field for field, _target, _rule in REFERENCES.get(resource_type, ())}
        reference_fields |= {"resource_type", "id", "deal_id", "contact_id", "order_id"}
        changeable = sorted(f for f in candidate if f not in reference_fields)
        for field in rng.sample(changeable, k=min(len(changeable), _between(rng, 1, 3))):
            fresh[field] = candidate[field]
        updated = self._clock.tick(rng)
        if resource_type == "lead_conversion":
            return fresh
        fresh["updated_at"] = iso_timestamp(updated)
        return fresh

    # -- helpers -----------------------------------------------------------------------------

    def _ref(self, rng: random.Random, resource_type: str, *, nullable: bool = True) -> Key | None:
        if nullable and rng.random() < _NULL_SHARE:
            return None
        return self._picker.choose(rng, resource_type)

    def _poly(self, rng: random.Random, choices: tuple[str, ...] = _POLY_TARGETS) -> Data:
        available = [t for t in choices if self._picker.count(t)]
        if not available:
            return {"resource_type": None, "resource_id": None}
        resource_type = _pick(rng, available)
        return {
            "resource_type": resource_type,
            "resource_id": self._picker.choose(rng, resource_type),
        }

    @staticmethod
    def _maybe(rng: random.Random, value: Any) -> Any:  # noqa: ANN401 - any field value
        return None if rng.random() < _NULL_SHARE else value

    @staticmethod
    def _person(rng: random.Random) -> tuple[str, str]:
        return _pick(rng, _FIRST_NAMES), _pick(rng, _LAST_NAMES)

    @staticmethod
    def _company(rng: random.Random) -> str:
        return f"{_pick(rng, _COMPANY_WORDS)} {_pick(rng, _COMPANY_SUFFIXES)}"

    def _text(self, rng: random.Random, words: int) -> str:
        return _pick(rng, self._texts[min(words, _MAX_WORDS)])

    def _address(self, rng: random.Random) -> Data | None:
        if rng.random() < _NULL_SHARE:
            return None
        return _pick(rng, self._addresses)

    def _custom_fields(self, rng: random.Random) -> Data:
        return _pick(rng, self._custom_field_sets)

    def _new_address(self, rng: random.Random) -> Data:
        city, state, country, postal_code = _pick(rng, _CITIES)
        return {
            "line1": f"{_between(rng, 1, 250)} {_pick(rng, _LAST_NAMES)} Street",
            "line2": self._maybe(rng, f"Suite {_between(rng, 1, 40)}"),
            "city": city,
            "postal_code": postal_code,
            "state": state,
            "country": country,
        }

    def _new_custom_fields(self, rng: random.Random) -> Data:
        day = _between(rng, 1, 28)
        month = _between(rng, 1, 12)
        year = _between(rng, 2015, 2026)
        hour = _between(rng, 0, 23)
        fields: Data = {
            "Birthday": f"{month}/{day}/{year}",
            "Next meeting": f"{month}/{day}/{year} {hour}:{_between(rng, 0, 59):02d}",
            "Budget": f"{_between(rng, 0, 99999)}.{_between(rng, 0, 99):02d}",
            "Priority": _pick(rng, _PRIORITIES),
            "Interests": rng.sample(_INTERESTS, k=_between(rng, 0, 2)),
            "Newsletter": rng.random() < 0.5,  # noqa: PLR2004 - a coin toss
            "Referral e-mail": f"ref{_between(rng, 1, 999)}@example.com",
            "Notes für Vertrieb": " ".join(_pick(rng, _WORDS) for _ in range(4)),
            "Office": self._new_address(rng),
        }
        return {name: value for name, value in fields.items() if rng.random() > _NULL_SHARE}

    def _contact_fields(self, rng: random.Random) -> Data:
        first, last = self._person(rng)
        handle = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        return {
            "title": self._maybe(rng, _pick(rng, ("CEO", "CTO", "Einkäufer", "Directrice"))),
            "description": self._maybe(rng, self._text(rng, 8)),
            "industry": _pick(rng, _INDUSTRIES),
            "website": self._maybe(rng, f"https://www.example.com/{_between(rng, 1, 9999)}"),
            "email": self._maybe(rng, f"{handle}@example.com"),
            "phone": self._maybe(rng, f"+48 12 {_between(rng, 100, 999)} {_between(rng, 10, 99)}"),
            "mobile": self._maybe(rng, f"+1 617 555 {_between(rng, 1000, 9999)}"),
            "fax": None,
            "twitter": self._maybe(rng, f"@{first.lower()}"),
            "facebook": None,
            "linkedin": self._maybe(
                rng, f"https://linkedin.example.com/in/{_between(rng, 1, 99999)}"
            ),
            "skype": None,
            "address": self._address(rng),
            "tags": rng.sample(
                ("vip", "churn-risk", "partner", "früh", "trade-show"), k=_between(rng, 0, 3)
            ),
            "custom_fields": self._custom_fields(rng),
        }

    # -- one builder per resource type -------------------------------------------------------

    def _account(self, rng: random.Random, _created: int) -> Data:
        return {
            "name": self._company(rng),
            "currency": _pick(rng, _CURRENCIES),
            "phone": "+48 12 345 67 89",
            "time_format": _pick(rng, ("12H", "24H")),
            "timezone": _pick(rng, ("UTC+01:00", "UTC-05:00", "UTC+09:00")),
        }

    def _user(self, rng: random.Random, _created: int) -> Data:
        first, last = self._person(rng)
        admin = rng.random() < 0.2  # noqa: PLR2004 - one user in five is an admin
        return {
            "name": f"{first} {last}",
            "email": f"user{_between(rng, 1, 99999)}@example.com",
            "status": _pick(rng, ("active", "active", "inactive")),
            "invited": rng.random() < 0.5,  # noqa: PLR2004 - a coin toss
            "confirmed": True,
            "phone_number": self._maybe(rng, f"+1 212 555 {_between(rng, 1000, 9999)}"),
            "role": "admin" if admin else "user",
            "roles": [{"id": 1, "name": "Admin" if admin else "Sales rep"}],
            "team_name": self._maybe(rng, _pick(rng, ("EMEA", "Americas", "Équipe Paris"))),
            "group": self._maybe(rng, {"id": _between(rng, 1, 9), "name": "Sales"}),
            "reports_to": None,
            "timezone": _pick(rng, ("Europe/Warsaw", "America/New_York", "Asia/Tokyo")),
            "deleted_at": None,
            "zendesk_user_id": self._maybe(rng, _between(rng, 10**9, 10**13)),
        }

    def _pipeline(self, rng: random.Random, _created: int) -> Data:
        return {"name": _pick(rng, ("Sales", "Renewals", "Partners", "Ventes")), "disabled": False}

    def _stage(self, rng: random.Random, _created: int) -> Data:
        position = int(rng.random() * len(_STAGE_NAMES))
        name, category, likelihood = _STAGE_NAMES[position]
        return {
            "name": name,
            "category": category,
            "active": category not in {"won", "lost", "unqualified"},
            "likelihood": likelihood,
            "pipeline_id": self._ref(rng, "pipeline", nullable=False),
            "position": position + 1,
        }

    def _reason(self, rng: random.Random) -> Data:
        name = _pick(rng, ("Too expensive", "No budget", "Chose a competitor", "Pas de réponse"))
        return {"creator_id": self._ref(rng, "user"), "name": name}

    def _loss_reason(self, rng: random.Random, _created: int) -> Data:
        return self._reason(rng)

    def _lead_unqualified_reason(self, rng: random.Random, _created: int) -> Data:
        return self._reason(rng)

    def _deal_unqualified_reason(self, rng: random.Random, _created: int) -> Data:
        return self._reason(rng)

    def _source_fields(self, rng: random.Random, resource_type: str | None) -> Data:
        name = _pick(rng, ("Website", "Referral", "Trade show", "Cold call", "Empfehlung"))
        return {"creator_id": self._ref(rng, "user"), "name": name, "resource_type": resource_type}

    def _source(self, rng: random.Random, _created: int) -> Data:
        return self._source_fields(rng, _pick(rng, ("lead", "contact", "deal")))

    def _lead_source(self, rng: random.Random, _created: int) -> Data:
        return self._source_fields(rng, "lead")

    def _deal_source(self, rng: random.Random, _created: int) -> Data:
        return self._source_fields(rng, "deal")

    def _tag(self, rng: random.Random, _created: int) -> Data:
        return {
            "creator_id": self._ref(rng, "user"),
            "name": _pick(rng, ("vip", "partner", "früh", "trade-show", "churn-risk")),
            "resource_type": _pick(rng, ("lead", "contact", "deal")),
        }

    def _call_outcome(self, rng: random.Random, _created: int) -> Data:
        name = _pick(rng, ("Interested", "Left voicemail", "No answer", "Rappeler"))
        return {"creator_id": self._ref(rng, "user"), "name": name}

    def _visit_outcome(self, rng: random.Random, _created: int) -> Data:
        return {"name": _pick(rng, ("Met decision maker", "Closed office", "Demo given"))}

    def _product(self, rng: random.Random, _created: int) -> Data:
        cost = _between(rng, 100, 99999)
        return {
            "name": _pick(rng, ("Licence", "Support plan", "Schulung", "Hardware kit")),
            "description": self._maybe(rng, self._text(rng, 6)),
            "sku": f"SKU-{_between(rng, 1000, 9999)}",
            "active": rng.random() < 0.9,  # noqa: PLR2004 - most products are on sale
            "max_discount": _between(rng, 0, 30),
            "max_markup": _between(rng, 0, 50),
            "cost": self._decimal(rng, cost),
            "cost_currency": _pick(rng, _CURRENCIES),
            "prices": [
                {"amount": f"{cost * 2 / 100:.2f}", "currency": currency}
                for currency in rng.sample(_CURRENCIES, k=_between(rng, 1, 2))
            ],
        }

    @staticmethod
    def _decimal(rng: random.Random, cents: int) -> int | str:
        # Sell sends whole amounts as integers and others as strings with two decimals.
        if rng.random() < 0.5:  # noqa: PLR2004 - half of the amounts are whole
            return cents // 100
        return f"{cents // 100}.{cents % 100:02d}"

    def _contact(self, rng: random.Random, _created: int) -> Data:
        is_organization = rng.random() < 0.3  # noqa: PLR2004 - organisations are a minority
        first, last = self._person(rng)
        return {
            "creator_id": self._ref(rng, "user"),
            "owner_id": self._ref(rng, "user"),
            "is_organization": is_organization,
            "contact_id": None if is_organization else self._ref(rng, "contact"),
            "parent_organization_id": self._ref(rng, "contact") if is_organization else None,
            "name": self._company(rng) if is_organization else f"{first} {last}",
            "first_name": None if is_organization else first,
            "last_name": None if is_organization else last,
            "customer_status": _pick(rng, ("none", "current", "past")),
            "prospect_status": _pick(rng, ("none", "current", "lost")),
            "billing_address": self._address(rng),
            "shipping_address": self._address(rng),
            **self._contact_fields(rng),
        }

    def _lead(self, rng: random.Random, _created: int) -> Data:
        first, last = self._person(rng)
        return {
            "creator_id": self._ref(rng, "user"),
            "owner_id": self._ref(rng, "user"),
            "first_name": self._maybe(rng, first),
            "last_name": last,
            "organization_name": self._maybe(rng, self._company(rng)),
            "status": _pick(rng, ("New", "Working", "Unqualified", "Qualifié")),
            "source_id": self._ref(rng, "lead_source"),
            "unqualified_reason_id": self._ref(rng, "lead_unqualified_reason"),
            **self._contact_fields(rng),
        }

    def _deal(self, rng: random.Random, created: int) -> Data:
        stage_change = created + _between(rng, 0, 86400)
        return {
            "creator_id": self._ref(rng, "user"),
            "owner_id": self._ref(rng, "user"),
            "name": f"{self._company(rng)} - {_pick(rng, _DEAL_KINDS)}",
            "value": self._maybe(rng, self._decimal(rng, _between(rng, 0, 5_000_000))),
            "currency": _pick(rng, _CURRENCIES),
            "hot": rng.random() < 0.2,  # noqa: PLR2004 - few deals are hot
            "stage_id": self._ref(rng, "stage", nullable=False),
            "last_stage_change_at": iso_timestamp(stage_change),
            "last_stage_change_by_id": self._ref(rng, "user"),
            "last_activity_at": self._maybe(rng, iso_timestamp(stage_change + 3600)),
            "source_id": self._ref(rng, "deal_source"),
            "loss_reason_id": self._ref(rng, "loss_reason"),
            "unqualified_reason_id": self._ref(rng, "deal_unqualified_reason"),
            "dropbox_email": f"dropbox+{_between(rng, 1, 10**6)}@example.com",
            "contact_id": self._ref(rng, "contact"),
            "organization_id": self._ref(rng, "contact"),
            "estimated_close_date": self._maybe(
                rng,
                f"{_between(rng, 2024, 2027)}-{_between(rng, 1, 12):02d}-"
                f"{_between(rng, 1, 28):02d}",
            ),
            "customized_win_likelihood": self._maybe(rng, _between(rng, 0, 100)),
            "tags": rng.sample(("vip", "upsell", "partner", "Q4"), k=_between(rng, 0, 2)),
            "custom_fields": self._custom_fields(rng),
            "added_on": iso_timestamp(created),
        }

    def _associated_contact(self, rng: random.Random, _created: int) -> Data | None:
        attempts = 8
        for _ in range(attempts):
            deal_id = self._picker.choose(rng, "deal")
            contact_id = self._picker.choose(rng, "contact")
            if not isinstance(deal_id, int) or not isinstance(contact_id, int):
                return None
            if not self._picker.has("associated_contact", (deal_id, contact_id)):
                return {
                    "deal_id": deal_id,
                    "contact_id": contact_id,
                    "role": "involved",
                    "creator_id": self._ref(rng, "user"),
                }
        return None

    def _note(self, rng: random.Random, _created: int) -> Data:
        content = self._text(rng, _between(rng, 3, 30))
        if rng.random() < 0.1:  # noqa: PLR2004 - some notes carry awkward characters
            content += '\n"Quoted" line\twith a tab, a backslash \\ and an emoji 🚀'
        return {
            "creator_id": self._ref(rng, "user"),
            **self._poly(rng),
            "content": content,
            "type": _pick(rng, ("regular", "regular", "call")),
            "is_important": rng.random() < 0.1,  # noqa: PLR2004 - few notes are important
        }

    def _task(self, rng: random.Random, created: int) -> Data:
        completed = rng.random() < 0.4  # noqa: PLR2004 - a share of tasks are done
        due = created + _between(rng, -86400 * 10, 86400 * 30)
        return {
            "creator_id": self._ref(rng, "user"),
            "owner_id": self._ref(rng, "user"),
            **self._poly(rng),
            "completed": completed,
            "completed_at": iso_timestamp(due) if completed else None,
            "content": self._text(rng, _between(rng, 2, 12)),
            "due_date": iso_timestamp(due),
            "overdue": not completed and due < created,
            "remind_at": self._maybe(rng, iso_timestamp(due - 3600)),
        }

    def _call(self, rng: random.Random, created: int) -> Data:
        deals = [d for d in (self._ref(rng, "deal"),) if d is not None]
        return {
            "user_id": self._ref(rng, "user"),
            **self._poly(rng, ("lead", "contact")),
            "summary": self._maybe(rng, self._text(rng, 6)),
            "recording_url": self._maybe(
                rng, f"https://calls.example.com/{_between(rng, 1, 10**6)}.mp3"
            ),
            "outcome_id": self._ref(rng, "call_outcome"),
            "duration": _between(rng, 0, 3600),
            "phone_number": f"+1 617 555 {_between(rng, 1000, 9999)}",
            "incoming": rng.random() < 0.5,  # noqa: PLR2004 - a coin toss
            "missed": rng.random() < 0.1,  # noqa: PLR2004 - few calls are missed
            "associated_deal_ids": deals,
            "made_at": iso_timestamp(created),
            "external_id": self._maybe(rng, f"ext-{_between(rng, 1, 10**6)}"),
        }

    def _order(self, rng: random.Random, _created: int) -> Data:
        return {"deal_id": self._ref(rng, "deal", nullable=False), "discount": _between(rng, 0, 25)}

    def _line_item(self, rng: random.Random, _created: int) -> Data:
        price = _between(rng, 100, 500_000)
        quantity = _between(rng, 1, 20)
        return {
            "order_id": self._ref(rng, "order", nullable=False),
            "product_id": self._ref(rng, "product"),
            "value": self._decimal(rng, price * quantity),
            "variation": f"{_between(rng, -10, 10)}.00",
            "currency": _pick(rng, _CURRENCIES),
            "quantity": quantity,
            "price": self._decimal(rng, price),
            "name": _pick(rng, ("Licence", "Support plan", "Schulung")),
            "sku": f"SKU-{_between(rng, 1000, 9999)}",
            "description": self._maybe(rng, self._text(rng, 4)),
        }

    def _text_message(self, rng: random.Random, created: int) -> Data:
        return {
            "associated_deal_ids": [d for d in (self._ref(rng, "deal"),) if d is not None],
            "content": self._text(rng, _between(rng, 2, 15)),
            "incoming": rng.random() < 0.5,  # noqa: PLR2004 - a coin toss
            **self._poly(rng, ("lead", "contact")),
            "resource_phone_number": f"+48 600 {_between(rng, 100, 999)} {_between(rng, 100, 999)}",
            "user_id": self._ref(rng, "user"),
            "user_phone_number": "+48 600 000 000",
            "sent_at": iso_timestamp(created),
        }

    def _visit(self, rng: random.Random, created: int) -> Data:
        city = _pick(rng, _CITIES)[0]
        return {
            "creator_id": self._ref(rng, "user"),
            "outcome_id": self._ref(rng, "visit_outcome"),
            **self._poly(rng),
            "resource_address": f"{_between(rng, 1, 99)} Main Street, {city}",
            "rep_location_verification_status": _pick(rng, ("VERIFIED", "UNVERIFIED", None)),
            "summary": self._maybe(rng, self._text(rng, 5)),
            "visited_at": iso_timestamp(created),
        }

    def _collaboration(self, rng: random.Random, _created: int) -> Data:
        return {
            "creator_id": self._ref(rng, "user"),
            **self._poly(rng),
            "collaborator_id": self._ref(rng, "user", nullable=False),
        }

    def _lead_conversion(self, rng: random.Random, _created: int) -> Data:
        return {
            "lead_id": self._ref(rng, "lead"),
            "individual_id": self._ref(rng, "contact"),
            "organization_id": self._ref(rng, "contact"),
            "deal_id": self._ref(rng, "deal"),
            "creator_id": self._ref(rng, "user"),
        }

    def _sales_sequence(self, rng: random.Random, _created: int) -> Data:
        return {"name": self._text(rng, 3), "steps": _between(rng, 1, 9), "active": True}
