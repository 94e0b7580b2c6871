"""Task templates on the calendar app (``apps/calendar``).

Every instance draws a calendar of about four months around a random "today": a weekly series,
one-off meetings, invitations from contacts. Each template then plants its target event next to
look-alikes (the same title a day later, "Budget review" next to "Budget review (optional)") so
that an agent must read dates and titles, not just click the first match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from similar_gym.tasks._content_cal import (
    TIME_SLOTS,
    add_days,
    add_months,
    days_in_month,
    email_for,
    lookalike_name,
    month_of,
    months_between,
    norm,
    parse_date,
    pick,
    pick_n,
    sample_people,
    short_date,
    slot_after,
    time_label,
)
from similar_gym.tasks.base import AppTemplate, OracleStep, TaskMeta

DOMAIN = "northwind.example"

TITLES: tuple[str, ...] = (
    "Design review", "Budget review", "Sprint planning", "Quarterly planning", "Customer call",
    "Dentist appointment", "Product demo", "Hiring sync", "Board prep", "Release retro",
    "Marketing sync", "Vendor call", "Offsite planning", "Coffee chat", "Roadmap review",
    "All hands", "Security training", "Book club", "Yoga class", "Team lunch",
    "Interview: backend engineer", "Interview: product designer", "Data council",
    "Pricing workshop", "Onboarding session", "Lunch and learn", "Launch checklist",
    "Support rotation handoff", "Partner check-in", "Investor update",
)  # fmt: skip
NEW_TITLES: tuple[str, ...] = (
    "Project kickoff", "Brainstorm: spring campaign", "Contract signing", "Car service",
    "Team offsite debrief", "Design system sync", "Flight to Lisbon", "Quarterly review",
    "Mentoring session", "Vet appointment", "Write performance reviews", "Hackathon demo",
    "Analytics deep dive", "Plan summer trip", "Client workshop", "Budget sign-off",
)  # fmt: skip
SERIES_TITLES: tuple[str, ...] = ("Team sync", "Weekly standup", "Staff meeting", "Design crit")
LOOKALIKE_SUFFIXES: tuple[str, ...] = (" (optional)", " prep", " follow-up", " (tentative)")
LOCATIONS: tuple[str, ...] = (
    "Room 4B", "Room 2A", "Room 12", "Main auditorium", "Video call", "Cafe Lumen",
    "Building C, floor 3", "Lobby", "Atrium", "Boardroom", "Harbor Street office", "Library",
)  # fmt: skip
NEW_LOCATIONS: tuple[str, ...] = (
    "Room 5C", "Oak meeting room", "Rooftop terrace", "Conference room Aurora", "Studio 2",
    "Downtown clinic", "Riverside cafe", "North campus, hall 1", "Airport terminal 2",
    "Room 7D", "Innovation lab", "Garden pavilion",
)  # fmt: skip
REMINDERS: dict[int | None, str] = {
    None: "No reminder",
    5: "5 minutes before",
    10: "10 minutes before",
    30: "30 minutes before",
    60: "1 hour before",
    1440: "1 day before",
}
RSVP_WORDS: dict[str, str] = {"yes": "Accept", "no": "Decline", "maybe": 'Answer "Maybe" to'}
# The event fields a task may not change unless it is about them.
EVENT_FIELDS: tuple[str, ...] = (
    "title", "date", "start", "end", "location", "attendees", "organizer", "rsvp", "series",
    "reminder", "description",
)  # fmt: skip
DESCRIPTIONS: tuple[str, ...] = (
    "", "", "", "Agenda in the shared doc.", "Please bring your laptop.",
    "Dial-in details in the invite.", "Notes from last time are in the team folder.",
)  # fmt: skip


def _grid_dates(month: str) -> set[str]:
    """Returns the 42 dates the month view of ``month`` shows (weeks start on Sunday)."""
    first = month + "-01"
    offset = (parse_date(first).weekday() + 1) % 7
    start = add_days(first, -offset)
    return {add_days(start, i) for i in range(42)}


def _visible_chips(events: list[dict[str, Any]], date: str) -> list[str]:
    """Returns the ids of the events the month grid shows as chips on ``date`` (as app.js does)."""
    day = sorted((e for e in events if e["date"] == date), key=lambda e: e["start"])
    shown = day if len(day) <= 3 else day[:2]
    return [e["id"] for e in shown]


def _by_id(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in events}


def _same(a: dict[str, Any], b: dict[str, Any], skip: tuple[str, ...] = ()) -> bool:
    """Returns whether two events agree on every tracked field outside ``skip``."""
    return all(a.get(f) == b.get(f) for f in EVENT_FIELDS if f not in skip)


def _others_unchanged(
    params: dict[str, Any], state: dict[str, Any], target: str | None, allow_new: int = 0
) -> bool:
    """Returns whether every event except ``target`` is still there and unchanged.

    Args:
        params: The instance.
        state: The app state.
        target: The id of the event the task may change (or delete), if any.
        allow_new: How many events the task itself creates.
    """
    before = _by_id(params["data"]["events"])
    after = _by_id(state.get("events", []))
    for eid, ev in before.items():
        if eid == target:
            continue
        if eid not in after or not _same(ev, after[eid]):
            return False
    new = [eid for eid in after if eid not in before]
    return len(new) == allow_new


def _guest_pair(rng: np.random.Generator) -> tuple[dict[str, str], dict[str, str]]:
    """Draws a contact and a look-alike contact ("Dana Kim" and "Dana Kimball")."""
    while True:
        guest = sample_people(rng, 1, DOMAIN)[0]
        twin = lookalike_name(guest["name"])
        if twin:
            return guest, {"name": twin, "email": email_for(twin, DOMAIN)}


class _CalendarTemplate(AppTemplate):
    """Shared sampling and navigation for the calendar templates."""

    app: ClassVar[str] = "calendar"
    max_steps: ClassVar[int] = 20

    @staticmethod
    def _calendar(
        rng: np.random.Generator,
        today: str,
        planted: list[dict[str, Any]],
        reserved: set[str],
        contacts: Sequence[dict[str, str]] = (),
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Draws the page data: a random calendar around ``today`` plus planted events.

        Args:
            rng: The generator.
            today: The page's today.
            planted: Events the template needs (each with a ``tag`` to find its id later;
                ``date``, ``title``, ``start`` and ``end`` set; other fields defaulted).
            reserved: Titles the filler events must not use, so targets stay unambiguous.
            contacts: Contacts the template needs in the address book.

        Returns:
            The data for the page (``today``, ``user``, ``people``, ``events``) and the map from
            each planted tag to its final event id.
        """
        everyone = sample_people(rng, 13, DOMAIN, exclude=[c["name"] for c in contacts])
        user, people = everyone[0], [*everyone[1:], *contacts]
        first = add_months(month_of(today), -1) + "-01"
        last_month = add_months(month_of(today), 2)
        last = f"{last_month}-{days_in_month(last_month):02d}"
        span = (parse_date(last) - parse_date(first)).days + 1

        events: list[dict[str, Any]] = []

        def event(title: str, date: str, start: str, slots: int, **extra: Any) -> dict[str, Any]:
            ev = {
                "title": title,
                "date": date,
                "start": start,
                "end": slot_after(start, slots),
                "location": pick(rng, LOCATIONS),
                "attendees": [p["email"] for p in pick_n(rng, people, int(rng.integers(0, 4)))],
                "organizer": user["email"],
                "rsvp": None,
                "series": None,
                "reminder": pick(rng, (None, 10, 30, 30, 60)),
                "description": pick(rng, DESCRIPTIONS),
            }
            ev.update(extra)
            return ev

        series_title = pick(rng, [t for t in SERIES_TITLES if t not in reserved])
        series_day = int(rng.integers(0, 5))
        series_start = pick(rng, ("09:00", "09:30", "10:00", "11:00", "14:00"))
        for i in range(span):
            date = add_days(first, i)
            if parse_date(date).weekday() == series_day:
                events.append(event(series_title, date, series_start, 1, series="s1"))
        fillers = [t for t in TITLES if t not in reserved]
        for i in range(span):
            date = add_days(first, i)
            weekend = parse_date(date).weekday() >= 5
            for _ in range(int(rng.random() < (0.12 if weekend else 0.42))):
                start = TIME_SLOTS[int(rng.integers(16, 35))]
                extra: dict[str, Any] = {}
                if rng.random() < 0.25:
                    host = pick(rng, people)
                    extra = {
                        "organizer": host["email"],
                        "rsvp": pick(rng, ("pending", "yes", "yes", "no", "maybe")),
                    }
                events.append(
                    event(pick(rng, fillers), date, start, int(rng.integers(1, 5)), **extra)
                )
        for plant in planted:
            ev = event(plant["title"], plant["date"], plant["start"], 1)
            ev.update(plant)
            events.append(ev)
        order = sorted(range(len(events)), key=lambda i: (events[i]["date"], events[i]["start"], i))
        events = [events[i] for i in order]
        tags: dict[str, str] = {}
        for n, ev in enumerate(events, start=1):
            ev["id"] = f"e{n}"
            tag = ev.pop("tag", None)
            if tag:
                tags[tag] = ev["id"]
        people = sorted(people, key=lambda p: p["name"])
        return {"today": today, "user": user, "people": people, "events": events}, tags

    @staticmethod
    def _today(rng: np.random.Generator) -> str:
        """Draws the page's today (any day of 2025 to 2027)."""
        year = int(rng.integers(2025, 2028))
        month = int(rng.integers(1, 13))
        return f"{year:04d}-{month:02d}-{int(rng.integers(1, 29)):02d}"

    @staticmethod
    def _month_steps(today: str, date: str) -> list[OracleStep]:
        """Returns the month-view paging that brings ``date`` on screen from today's month."""
        if date in _grid_dates(month_of(today)):
            return []
        delta = months_between(month_of(today), month_of(date))
        key = "month-next" if delta > 0 else "month-prev"
        return [OracleStep("click", key)] * abs(delta)

    @classmethod
    def _open_steps(cls, data: dict[str, Any], eid: str) -> list[OracleStep]:
        """Returns the steps from the initial month view to the details of event ``eid``."""
        ev = _by_id(data["events"])[eid]
        steps = cls._month_steps(data["today"], ev["date"])
        if eid not in _visible_chips(data["events"], ev["date"]):
            steps.append(OracleStep("click", f"day-{ev['date']}"))
        steps.append(OracleStep("click", f"event-{eid}-open"))
        return steps

    @staticmethod
    def _target_date(rng: np.random.Generator, today: str, lo: int, hi: int) -> str:
        """Draws a weekday between ``lo`` and ``hi`` days after today."""
        while True:
            date = add_days(today, int(rng.integers(lo, hi + 1)))
            if parse_date(date).weekday() < 5:
                return date

    @staticmethod
    def _lookalike(rng: np.random.Generator, title: str, date: str) -> dict[str, Any]:
        """Plants a near-identical event a day before or after ``date``."""
        shift = int(pick(rng, (-1, 1)))
        variant = title + pick(rng, LOOKALIKE_SUFFIXES) if rng.random() < 0.5 else title
        start = TIME_SLOTS[int(rng.integers(16, 34))]
        return {
            "tag": "lookalike",
            "title": variant,
            "date": add_days(date, shift),
            "start": start,
            "end": slot_after(start, 2),
        }

    @staticmethod
    def _time_range(start: str, end: str) -> str:
        return f"{time_label(start)} to {time_label(end)}"


class CreateEvent(_CalendarTemplate):
    """Create an event on a given day, with time, location and maybe a guest or a reminder."""

    name: ClassVar[str] = "create-event"
    description: ClassVar[str] = "Create an event with title, date, time and location."

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the calendar and the event to create."""
        today = self._today(rng)
        date = self._target_date(rng, today, 2, 50)
        title = pick(rng, NEW_TITLES)
        start = TIME_SLOTS[int(rng.integers(16, 35))]
        end = slot_after(start, int(rng.integers(1, 5)))
        location = pick(rng, NEW_LOCATIONS)
        reminder = pick(rng, (5, 10, 60, 1440)) if rng.random() < 0.5 else None
        guest, twin = _guest_pair(rng) if rng.random() < 0.5 else (None, None)
        # A busy neighbour: an existing event whose title starts like the new one.
        neighbour = {
            "tag": "neighbour",
            "title": title.split(":")[0] + " prep",
            "date": add_days(date, int(pick(rng, (-1, 1)))),
            "start": start,
            "end": end,
        }
        contacts = [guest, twin] if guest and twin else []
        data, tags = self._calendar(rng, today, [neighbour], reserved={title}, contacts=contacts)
        goal = {
            "title": title,
            "date": date,
            "start": start,
            "end": end,
            "location": location,
            "reminder": reminder,
            "guest": guest,
            "twin": twin and twin["name"],
            "decoy_location": pick(rng, [x for x in NEW_LOCATIONS if x != location]),
        }
        return {"data": data, "goal": goal, "tags": tags}

    def instruction(self, params: dict[str, Any]) -> str:
        """Phrases the new event."""
        g = params["goal"]
        text = (
            f'Create an event "{g["title"]}" on {short_date(g["date"])}, {g["date"][:4]} from '
            f'{self._time_range(g["start"], g["end"])} at "{g["location"]}".'
        )
        if g["guest"]:
            text += f" Invite {g['guest']['name']}."
        if g["reminder"] is not None:
            text += f" Set the reminder to {REMINDERS[g['reminder']]}."
        return text

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """Exactly one new event, matching the goal; the rest of the calendar untouched."""
        if not _others_unchanged(params, state, None, allow_new=1):
            return False
        before = {e["id"] for e in params["data"]["events"]}
        new = next(e for e in state["events"] if e["id"] not in before)
        g = params["goal"]
        guests = [g["guest"]["email"]] if g["guest"] else []
        return (
            norm(new["title"]) == norm(g["title"])
            and new["date"] == g["date"]
            and new["start"] == g["start"]
            and new["end"] == g["end"]
            and norm(new["location"]) == norm(g["location"])
            and sorted(new["attendees"]) == guests
            and (g["reminder"] is None or new["reminder"] == g["reminder"])
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Pages to the month, opens the day, fills the form and saves."""
        g = params["goal"]
        steps = self._month_steps(params["data"]["today"], g["date"])
        steps += [
            OracleStep("click", f"day-{g['date']}"),
            OracleStep("click", "new-event"),
            OracleStep("fill", "event-title", g["title"]),
            OracleStep("select", "event-start", time_label(g["start"])),
            OracleStep("select", "event-end", time_label(g["end"])),
            OracleStep("fill", "event-location", g["location"]),
        ]
        if g["guest"]:
            steps += [
                OracleStep("fill", "guest-input", g["guest"]["name"]),
                OracleStep("click", "guest-add"),
            ]
        if g["reminder"] is not None:
            steps.append(OracleStep("select", "event-reminder", REMINDERS[g["reminder"]]))
        steps.append(OracleStep("click", "save-event"))
        return steps

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The form fields of the new event; the neighbour event and Cancel are traps."""
        g = params["goal"]
        fields = {
            "event-title": g["title"],
            "event-date": g["date"],
            "event-start": time_label(g["start"]),
            "event-end": time_label(g["end"]),
            "event-location": g["location"],
        }
        if g["guest"]:
            fields["guest-input"] = g["guest"]["name"]
        if g["reminder"] is not None:
            fields["event-reminder"] = REMINDERS[g["reminder"]]
        keys = [s.key for s in self.oracle(params) if s.key]
        neighbour = params["tags"]["neighbour"]
        return TaskMeta(
            elements=tuple(dict.fromkeys(keys)),
            fields=fields,
            distractors=(f"event-{neighbour}-open", "cancel-event", "month-prev"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """Look-alike titles, neighbouring times and a wrong guest."""
        g = params["goal"]
        out = [g["title"] + " prep", time_label(slot_after(g["start"], 2)), g["decoy_location"]]
        if g["twin"]:
            out.append(g["twin"])
        return out


class RescheduleEvent(_CalendarTemplate):
    """Move a named event to another date and time."""

    name: ClassVar[str] = "reschedule-event"
    description: ClassVar[str] = "Move an event to a new date and time through its edit form."

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the calendar, the event to move and where to."""
        today = self._today(rng)
        date = self._target_date(rng, today, -3, 30)
        title = pick(rng, TITLES)
        start = TIME_SLOTS[int(rng.integers(16, 33))]
        target = {
            "tag": "target",
            "title": title,
            "date": date,
            "start": start,
            "end": slot_after(start, 2),
        }
        data, tags = self._calendar(
            rng, today, [target, self._lookalike(rng, title, date)], reserved={title}
        )
        new_date = date
        while new_date == date:
            new_date = self._target_date(rng, date, -4, 12)
        new_start = TIME_SLOTS[int(rng.integers(16, 35))]
        new_end = slot_after(new_start, int(rng.integers(1, 5)))
        goal = {
            "id": tags["target"],
            "title": title,
            "date": date,
            "new_date": new_date,
            "start": new_start,
            "end": new_end,
        }
        return {"data": data, "goal": goal, "tags": tags}

    def instruction(self, params: dict[str, Any]) -> str:
        """Names the event by title and date, then the new slot."""
        g = params["goal"]
        return (
            f'Reschedule "{g["title"]}" on {short_date(g["date"])} to {short_date(g["new_date"])}, '
            f"from {self._time_range(g['start'], g['end'])}."
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The target moved (nothing else about it changed); every other event untouched."""
        g = params["goal"]
        if not _others_unchanged(params, state, g["id"]):
            return False
        after = _by_id(state["events"]).get(g["id"])
        before = _by_id(params["data"]["events"])[g["id"]]
        return (
            after is not None
            and _same(before, after, skip=("date", "start", "end"))
            and (after["date"], after["start"], after["end"])
            == (g["new_date"], g["start"], g["end"])
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Opens the event, edits date and times, saves."""
        g = params["goal"]
        return [
            *self._open_steps(params["data"], g["id"]),
            OracleStep("click", "event-edit"),
            OracleStep("fill", "event-date", g["new_date"]),
            OracleStep("select", "event-start", time_label(g["start"])),
            OracleStep("select", "event-end", time_label(g["end"])),
            OracleStep("click", "save-event"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The target's edit form; the look-alike event and Delete are traps."""
        g = params["goal"]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={
                "event-date": g["new_date"],
                "event-start": time_label(g["start"]),
                "event-end": time_label(g["end"]),
            },
            distractors=(
                f"event-{params['tags']['lookalike']}-open",
                "event-delete",
                "cancel-event",
            ),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """The old date, and times next to the right ones."""
        g = params["goal"]
        return [g["date"], add_days(g["new_date"], 1), time_label(slot_after(g["end"], 1))]


class DeleteEvent(_CalendarTemplate):
    """Delete one event among look-alikes, or one occurrence of a weekly series."""

    name: ClassVar[str] = "delete-event"
    description: ClassVar[str] = "Delete the right event; look-alikes and a series must stay."

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the calendar and the event to delete."""
        today = self._today(rng)
        date = self._target_date(rng, today, -5, 40)
        title = pick(rng, TITLES)
        start = TIME_SLOTS[int(rng.integers(16, 33))]
        series = bool(rng.random() < 0.4)
        target = {
            "tag": "target",
            "title": title,
            "date": date,
            "start": start,
            "end": slot_after(start, 2),
        }
        planted = [target, self._lookalike(rng, title, date)]
        data, tags = self._calendar(rng, today, planted, reserved={title})
        if series:
            # Make the target an occurrence of the weekly series instead.
            occurrences = [
                e
                for e in data["events"]
                if e["series"] == "s1" and e["date"] >= add_days(today, -5)
            ]
            chosen = pick(rng, occurrences[: max(1, len(occurrences) - 2)])
            goal = {
                "id": chosen["id"],
                "title": chosen["title"],
                "date": chosen["date"],
                "series": True,
            }
        else:
            goal = {"id": tags["target"], "title": title, "date": date, "series": False}
        return {"data": data, "goal": goal, "tags": tags}

    def instruction(self, params: dict[str, Any]) -> str:
        """Names the event; for a series occurrence, says to keep the other weeks."""
        g = params["goal"]
        if g["series"]:
            return (
                f'Delete only the {short_date(g["date"])} occurrence of the weekly "{g["title"]}". '
                "Keep all other weeks."
            )
        return f'Delete the event "{g["title"]}" on {short_date(g["date"])}.'

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The target is gone and everything else is still there, unchanged."""
        g = params["goal"]
        return g["id"] not in _by_id(state.get("events", [])) and _others_unchanged(
            params, state, g["id"]
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Opens the event, asks to delete, confirms for this event only."""
        g = params["goal"]
        return [
            *self._open_steps(params["data"], g["id"]),
            OracleStep("click", "event-delete"),
            OracleStep("click", "confirm-delete"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Delete and confirm; the look-alike and "All events" are traps."""
        lookalike = params["tags"]["lookalike"]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            distractors=(f"event-{lookalike}-open", "confirm-delete-series", "cancel-delete"),
        )


class RsvpInvite(_CalendarTemplate):
    """Answer an invitation (Yes / No / Maybe) in a later month."""

    name: ClassVar[str] = "rsvp-invite"
    description: ClassVar[str] = "Accept, decline or tentatively accept an invitation."

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the calendar, the invitation and the answer."""
        today = self._today(rng)
        month = add_months(month_of(today), int(rng.integers(1, 3)))
        grid = _grid_dates(month_of(today))
        date = today
        while date in grid or parse_date(date).weekday() >= 5:
            date = f"{month}-{int(rng.integers(1, days_in_month(month) + 1)):02d}"
        title = pick(rng, TITLES)
        start = TIME_SLOTS[int(rng.integers(16, 33))]
        target = {
            "tag": "target",
            "title": title,
            "date": date,
            "start": start,
            "end": slot_after(start, 2),
            "rsvp": "pending",
        }
        twin = self._lookalike(rng, title, date)
        twin["rsvp"] = "pending"
        data, tags = self._calendar(rng, today, [target, twin], reserved={title})
        host = pick(rng, data["people"])["email"]
        for ev in data["events"]:
            if ev["id"] in (tags["target"], tags["lookalike"]):
                ev["organizer"] = host
                if host in ev["attendees"]:
                    ev["attendees"].remove(host)
        answer = pick(rng, ("yes", "no", "maybe"))
        goal = {"id": tags["target"], "title": title, "date": date, "answer": answer}
        return {"data": data, "goal": goal, "tags": tags}

    def instruction(self, params: dict[str, Any]) -> str:
        """Names the invitation and the answer."""
        g = params["goal"]
        return (
            f'{RSVP_WORDS[g["answer"]]} the invitation "{g["title"]}" on '
            f"{short_date(g['date'])}, {g['date'][:4]}."
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The target carries the answer; every other event (the twin invitation) is untouched."""
        g = params["goal"]
        after = _by_id(state.get("events", [])).get(g["id"])
        before = _by_id(params["data"]["events"])[g["id"]]
        return (
            after is not None
            and after["rsvp"] == g["answer"]
            and _same(before, after, skip=("rsvp",))
            and _others_unchanged(params, state, g["id"])
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Pages to the month, opens the invitation, answers."""
        g = params["goal"]
        return [
            *self._open_steps(params["data"], g["id"]),
            OracleStep("click", f"rsvp-{g['answer']}"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The answer button; the twin invitation and the other answers are traps."""
        g = params["goal"]
        others = tuple(f"rsvp-{a}" for a in ("yes", "no", "maybe") if a != g["answer"])
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            distractors=(f"event-{params['tags']['lookalike']}-open", *others),
        )


class AddAttendee(_CalendarTemplate):
    """Add a contact as a guest to one of the user's own events."""

    name: ClassVar[str] = "add-attendee"
    description: ClassVar[str] = "Invite a contact (not the look-alike one) to an existing event."

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the calendar, the event and the contact (with a look-alike contact)."""
        today = self._today(rng)
        date = self._target_date(rng, today, 0, 35)
        title = pick(rng, TITLES)
        start = TIME_SLOTS[int(rng.integers(16, 33))]
        guest, twin = _guest_pair(rng)
        target = {
            "tag": "target",
            "title": title,
            "date": date,
            "start": start,
            "end": slot_after(start, 2),
        }
        planted = [target, self._lookalike(rng, title, date)]
        data, tags = self._calendar(rng, today, planted, reserved={title}, contacts=[guest, twin])
        for ev in data["events"]:
            if ev["id"] == tags["target"] and guest["email"] in ev["attendees"]:
                ev["attendees"].remove(guest["email"])
        goal = {
            "id": tags["target"],
            "title": title,
            "date": date,
            "guest": guest,
            "twin": twin["name"],
        }
        return {"data": data, "goal": goal, "tags": tags}

    def instruction(self, params: dict[str, Any]) -> str:
        """Names the guest and the event."""
        g = params["goal"]
        return f'Add {g["guest"]["name"]} as a guest to "{g["title"]}" on {short_date(g["date"])}.'

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The target's guests are the old ones plus the new guest; nothing else changed."""
        g = params["goal"]
        after = _by_id(state.get("events", [])).get(g["id"])
        before = _by_id(params["data"]["events"])[g["id"]]
        return (
            after is not None
            and sorted(after["attendees"]) == sorted([*before["attendees"], g["guest"]["email"]])
            and _same(before, after, skip=("attendees",))
            and _others_unchanged(params, state, g["id"])
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Opens the event, edits, adds the guest, saves."""
        g = params["goal"]
        return [
            *self._open_steps(params["data"], g["id"]),
            OracleStep("click", "event-edit"),
            OracleStep("fill", "guest-input", g["guest"]["name"]),
            OracleStep("click", "guest-add"),
            OracleStep("click", "save-event"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The guest field; the look-alike event and Cancel are traps."""
        g = params["goal"]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={"guest-input": g["guest"]["name"]},
            distractors=(f"event-{params['tags']['lookalike']}-open", "cancel-event"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """The look-alike contact's name."""
        return [params["goal"]["twin"]]


TEMPLATES: list[AppTemplate] = [
    CreateEvent(),
    RescheduleEvent(),
    DeleteEvent(),
    RsvpInvite(),
    AddAttendee(),
]
