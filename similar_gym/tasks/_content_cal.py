"""Content and date helpers shared by the calendar and settings task templates.

Everything here is deterministic: the random choices go through the ``numpy`` generator the
caller passes in, and dates are computed from explicit values (no clock is read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

FIRST_NAMES: tuple[str, ...] = (
    "Alice", "Bruno", "Chloe", "Dana", "Elias", "Fatima", "Gavin", "Hana", "Ivan", "Jade",
    "Kofi", "Lena", "Marco", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wes", "Xenia", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Adams", "Becker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Huang", "Ito",
    "Jensen", "Kim", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Quist", "Rossi",
    "Sato", "Torres", "Ueda", "Vargas", "Walsh", "Young",
)  # fmt: skip
# Surnames that extend another one, for look-alike contacts ("Kim" / "Kimball").
LONGER_NAMES: dict[str, str] = {
    "Kim": "Kimball", "Ito": "Itoh", "Rossi": "Rossini", "Sato": "Satoh", "Costa": "Acosta",
    "Patel": "Patell", "Young": "Youngs", "Evans": "Evanson", "Novak": "Novakova",
}  # fmt: skip

MONTH_NAMES: tuple[str, ...] = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
WEEKDAY_NAMES: tuple[str, ...] = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)  # fmt: skip

# Half-hour slots of a day, as the calendar's time selects list them ("HH:MM", 24 h).
TIME_SLOTS: tuple[str, ...] = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30))

STREETS: tuple[str, ...] = (
    "Maple Avenue", "Harbor Road", "Linden Street", "Elm Court", "Station Road", "Kings Way",
    "Orchard Lane", "Mill Street", "Park Terrace", "Bridge Street", "Cedar Drive", "Hill Road",
)  # fmt: skip
CITIES: tuple[tuple[str, str], ...] = (
    ("Springfield", "United States"), ("Portland", "United States"),
    ("Toronto", "Canada"), ("Vancouver", "Canada"), ("Manchester", "United Kingdom"),
    ("Leeds", "United Kingdom"), ("Hamburg", "Germany"), ("Munich", "Germany"),
    ("Lyon", "France"), ("Utrecht", "Netherlands"), ("Porto", "Portugal"),
    ("Valencia", "Spain"), ("Dublin", "Ireland"), ("Melbourne", "Australia"),
)  # fmt: skip


def pick(rng: np.random.Generator, seq: Sequence[T]) -> T:
    """Returns one element of ``seq`` drawn uniformly with ``rng``."""
    return seq[int(rng.integers(len(seq)))]


def pick_n(rng: np.random.Generator, seq: Sequence[T], n: int) -> list[T]:
    """Returns ``n`` distinct elements of ``seq`` in a random order."""
    return [seq[int(i)] for i in rng.choice(len(seq), size=n, replace=False)]


def email_for(name: str, domain: str) -> str:
    """Returns ``first.last@domain`` for a full name."""
    return ".".join(part.lower() for part in name.split()) + "@" + domain


def sample_people(
    rng: np.random.Generator, n: int, domain: str, exclude: Sequence[str] = ()
) -> list[dict[str, str]]:
    """Draws ``n`` contacts with distinct names.

    Args:
        rng: The generator.
        n: How many contacts.
        domain: The e-mail domain.
        exclude: Full names that must not be drawn.

    Returns:
        Contacts as ``{"name", "email"}`` dicts.
    """
    names: list[str] = []
    while len(names) < n:
        name = f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}"
        if name not in names and name not in exclude:
            names.append(name)
    return [{"name": name, "email": email_for(name, domain)} for name in names]


def lookalike_name(name: str) -> str | None:
    """Returns a contact name that starts like ``name`` ("Dana Kim" -> "Dana Kimball")."""
    first, last = name.split()
    longer = LONGER_NAMES.get(last)
    return f"{first} {longer}" if longer else None


def parse_date(iso: str) -> dt.date:
    """Parses ``YYYY-MM-DD``."""
    return dt.date.fromisoformat(iso)


def add_days(iso: str, days: int) -> str:
    """Returns the ISO date ``days`` after ``iso``."""
    return (parse_date(iso) + dt.timedelta(days=days)).isoformat()


def add_months(month: str, months: int) -> str:
    """Returns ``YYYY-MM`` shifted by ``months``."""
    year, mon = (int(x) for x in month.split("-"))
    index = year * 12 + mon - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_of(iso: str) -> str:
    """Returns the ``YYYY-MM`` of an ISO date."""
    return iso[:7]


def months_between(start: str, end: str) -> int:
    """Returns how many months ``end`` (``YYYY-MM``) lies after ``start``."""
    y0, m0 = (int(x) for x in start.split("-"))
    y1, m1 = (int(x) for x in end.split("-"))
    return (y1 - y0) * 12 + m1 - m0


def days_in_month(month: str) -> int:
    """Returns the number of days of ``YYYY-MM``."""
    first = parse_date(month + "-01")
    return (parse_date(add_months(month, 1) + "-01") - first).days


def long_date(iso: str) -> str:
    """Formats ``2026-03-14`` as ``Saturday, March 14, 2026``."""
    d = parse_date(iso)
    return f"{WEEKDAY_NAMES[d.weekday()]}, {MONTH_NAMES[d.month - 1]} {d.day}, {d.year}"


def short_date(iso: str) -> str:
    """Formats ``2026-03-14`` as ``Saturday, March 14``."""
    d = parse_date(iso)
    return f"{WEEKDAY_NAMES[d.weekday()]}, {MONTH_NAMES[d.month - 1]} {d.day}"


def time_label(hhmm: str) -> str:
    """Formats ``13:30`` as ``1:30 PM``, the label of the calendar's time options."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    suffix = "AM" if hour < 12 else "PM"
    return f"{(hour + 11) % 12 + 1}:{minute:02d} {suffix}"


def slot_after(hhmm: str, slots: int) -> str:
    """Returns the time ``slots`` half hours after ``hhmm`` (clamped to the last slot)."""
    index = min(TIME_SLOTS.index(hhmm) + slots, len(TIME_SLOTS) - 1)
    return TIME_SLOTS[index]


def norm(text: Any) -> str:
    """Normalises typed text for comparison: trimmed, inner spaces collapsed, case-folded."""
    return " ".join(str(text if text is not None else "").split()).casefold()
