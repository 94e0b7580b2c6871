"""Task templates on the account settings app (``apps/settings``).

Each instance draws a whole account: profile, password, sessions, a notification matrix,
privacy choices and an address book, and opens the page on some section. The goal changes one
section; edits count only once that section's "Save changes" is pressed, and every other section
must stay as it was. Traps sit next to the right controls: "Reset" beside "Save changes",
"English (UK)" beside "English (US)", an "Office annex" address beside "Office", a password
form that refuses a wrong current password or a mismatched confirmation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from similar_gym.tasks._content_cal import (
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    STREETS,
    norm,
    pick,
    pick_n,
    sample_people,
)
from similar_gym.tasks.base import AppTemplate, OracleStep, TaskMeta

LANGUAGES: tuple[str, ...] = (
    "English (US)", "English (UK)", "Deutsch", "Français", "Français (Canada)", "Español",
    "Español (México)", "Italiano", "Nederlands", "Português (Brasil)", "Português (Portugal)",
    "Polski", "Svenska", "Dansk", "Norsk", "Suomi", "Türkçe", "Čeština",
)  # fmt: skip
TIMEZONES: tuple[tuple[str, str], ...] = (
    ("America/Los_Angeles", "(UTC-08:00) Pacific Time (US & Canada)"),
    ("America/Denver", "(UTC-07:00) Mountain Time (US & Canada)"),
    ("America/Phoenix", "(UTC-07:00) Arizona"),
    ("America/Chicago", "(UTC-06:00) Central Time (US & Canada)"),
    ("America/New_York", "(UTC-05:00) Eastern Time (US & Canada)"),
    ("America/Halifax", "(UTC-04:00) Atlantic Time (Canada)"),
    ("America/Sao_Paulo", "(UTC-03:00) Brasilia"),
    ("Atlantic/Azores", "(UTC-01:00) Azores"),
    ("Europe/London", "(UTC+00:00) London"),
    ("Europe/Lisbon", "(UTC+00:00) Lisbon"),
    ("Europe/Berlin", "(UTC+01:00) Berlin"),
    ("Europe/Paris", "(UTC+01:00) Paris"),
    ("Europe/Madrid", "(UTC+01:00) Madrid"),
    ("Europe/Athens", "(UTC+02:00) Athens"),
    ("Europe/Helsinki", "(UTC+02:00) Helsinki"),
    ("Asia/Dubai", "(UTC+04:00) Dubai"),
    ("Asia/Kolkata", "(UTC+05:30) Mumbai, New Delhi"),
    ("Asia/Singapore", "(UTC+08:00) Singapore"),
    ("Asia/Tokyo", "(UTC+09:00) Tokyo"),
    ("Australia/Sydney", "(UTC+10:00) Sydney"),
    ("Pacific/Auckland", "(UTC+12:00) Auckland"),
)
TZ_LABEL: dict[str, str] = dict(TIMEZONES)
COUNTRIES: tuple[str, ...] = tuple(
    sorted({c for _, c in CITIES} | {"Austria", "Belgium", "Denmark", "Italy", "Sweden"})
)
BIOS: tuple[str, ...] = (
    "", "Product designer. Coffee, maps and long walks.", "Backend engineer, part-time baker.",
    "Marketing lead. Ask me about podcasts.", "Data analyst who likes clean spreadsheets.",
    "Support team. Here to help.",
)  # fmt: skip
PASSWORD_WORDS: tuple[str, ...] = (
    "maple", "harbor", "orbit", "cedar", "falcon", "ember", "quartz", "willow", "comet",
    "tundra", "pepper", "lagoon", "summit", "violet", "cobalt", "meadow",
)  # fmt: skip
DEVICES: tuple[str, ...] = (
    "Chrome on Windows", "Safari on iPhone", "Firefox on Ubuntu", "Edge on Windows",
    "Safari on MacBook", "Chrome on Android", "Lumen app on iPad",
)  # fmt: skip
LAST_SEEN: tuple[str, ...] = ("2 hours ago", "Yesterday", "3 days ago", "Last week", "Mar 2")

# Notification matrix: topic key -> label, channel key -> phrase.
TOPICS: dict[str, str] = {
    "comments": "Comments on your posts",
    "mentions": "Mentions",
    "follows": "New followers",
    "messages": "Direct messages",
    "weekly": "Weekly digest",
    "product": "Product updates",
    "billing": "Billing reminders",
    "security": "Security alerts",
}
CHANNELS: dict[str, str] = {"email": "e-mail", "push": "push notifications", "sms": "SMS"}
LOCKED: frozenset[str] = frozenset({"email-security"})

# Privacy radio groups: group -> {value: phrase used in instructions}.
PRIVACY_RADIOS: dict[str, dict[str, str]] = {
    "visibility": {
        "everyone": "make your profile visible to everyone",
        "contacts": "make your profile visible to your contacts only",
        "private": "make your profile visible only to you",
    },
    "messages": {
        "everyone": "let everyone send you messages",
        "contacts": "let only your contacts send you messages",
        "nobody": "let no one send you messages",
    },
    "tagging": {
        "everyone": "let everyone tag you in photos",
        "contacts": "let only your contacts tag you in photos",
        "nobody": "let no one tag you in photos",
    },
    "status": {"show": "show when you're active", "hide": "hide your online status"},
    "search": {
        "allow": "allow search engines to link to your profile",
        "block": "stop search engines from linking to your profile",
    },
}
PRIVACY_SWITCHES: dict[str, tuple[str, str]] = {
    "ads": ("turn on personalised ads", "turn off personalised ads"),
    "usage": ("share usage data", "stop sharing usage data"),
}
SECTIONS: tuple[str, ...] = ("profile", "security", "notifications", "privacy", "addresses")
# Saved sections the check compares against the initial data.
SAVED_KEYS: tuple[str, ...] = (
    "profile", "password", "twofa", "sessions", "notifications", "privacy", "addresses",
)  # fmt: skip
ADDRESS_FIELDS: tuple[str, ...] = ("label", "name", "street", "city", "zip", "country", "phone")
LABEL_PAIRS: tuple[tuple[str, str], ...] = (
    ("Home", "Home (old)"), ("Office", "Office annex"), ("Parents", "Parents' cabin"),
    ("Studio", "Studio 2"), ("Warehouse", "Warehouse B"),
)  # fmt: skip
NEW_LABELS: tuple[str, ...] = ("Gym", "Holiday flat", "Workshop", "Grandma", "Pickup point", "Lab")
MAIL_DOMAIN = "mailbox.example"


def _phone(rng: np.random.Generator) -> str:
    """Draws a fictional phone number (the 555-01xx range)."""
    return f"+1 555 01{int(rng.integers(0, 100)):02d}"


def _zip(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(10000, 99999))}"


def _password(rng: np.random.Generator) -> str:
    """Draws a password that passes the app's rules ("Cedar-orbit42")."""
    first, second = pick_n(rng, PASSWORD_WORDS, 2)
    return f"{first.capitalize()}-{second}{int(rng.integers(10, 100))}"


def _address(rng: np.random.Generator, label: str, name: str, idx: str) -> dict[str, Any]:
    city, country = pick(rng, CITIES)
    return {
        "id": idx,
        "label": label,
        "name": name,
        "street": f"{int(rng.integers(1, 200))} {pick(rng, STREETS)}",
        "city": city,
        "zip": _zip(rng),
        "country": country,
        "phone": _phone(rng) if rng.random() < 0.5 else "",
        "isDefault": False,
    }


def _account(rng: np.random.Generator, view: str, labels: Sequence[str]) -> dict[str, Any]:
    """Draws a whole account as the page data.

    Args:
        rng: The generator.
        view: The section the page opens on.
        labels: The address book's labels, in order; the first address is the default.

    Returns:
        The data dict for ``SIM.reset``.
    """
    me = sample_people(rng, 1, MAIL_DOMAIN)[0]
    first, last = me["name"].split()
    username = pick(
        rng, (f"{first}{last}".lower(), f"{first[0]}{last}".lower(), f"{first}_{last[0]}".lower())
    )
    addresses = [_address(rng, label, me["name"], f"a{i + 1}") for i, label in enumerate(labels)]
    if addresses:
        addresses[0]["isDefault"] = True
    order = rng.permutation(len(addresses))
    prefs = {f"{c}-{t}": bool(rng.random() < 0.5) for t in TOPICS for c in CHANNELS}
    prefs["email-security"] = True
    devices = pick_n(rng, DEVICES, 3)
    return {
        "view": view,
        "profile": {
            "name": me["name"],
            "username": username,
            "email": me["email"],
            "phone": _phone(rng),
            "bio": pick(rng, BIOS),
            "language": pick(rng, LANGUAGES),
            "timezone": pick(rng, TIMEZONES)[0],
        },
        "password": _password(rng),
        "twofa": bool(rng.random() < 0.5),
        "sessions": [
            {
                "id": f"s{i + 1}",
                "device": d,
                "place": pick(rng, CITIES)[0],
                "last": "Active now" if i == 0 else pick(rng, LAST_SEEN),
                "current": i == 0,
            }
            for i, d in enumerate(devices)
        ],
        "notifications": {"paused": False, "prefs": prefs},
        "privacy": {
            **{g: pick(rng, list(values)) for g, values in PRIVACY_RADIOS.items()},
            "ads": bool(rng.random() < 0.5),
            "usage": bool(rng.random() < 0.5),
        },
        "addresses": [addresses[int(i)] for i in order],
        "options": {
            "languages": list(LANGUAGES),
            "timezones": [list(tz) for tz in TIMEZONES],
            "countries": list(COUNTRIES),
        },
    }


def _unchanged(params: dict[str, Any], state: dict[str, Any], skip: Sequence[str]) -> bool:
    """Returns whether the account exists and each saved section outside ``skip`` is as it was."""
    saved = state.get("saved", {})
    data = params["data"]
    if saved.get("deleted"):
        return False
    return all(saved.get(k) == data[k] for k in SAVED_KEYS if k not in skip)


def _addresses_match(expected: dict[str, Any], actual: dict[str, Any]) -> bool:
    """Compares an address field by field (typed text normalised), default flag included."""
    same_text = all(norm(expected[f]) == norm(actual.get(f)) for f in ADDRESS_FIELDS)
    return same_text and bool(actual.get("isDefault")) == bool(expected["isDefault"])


def _one_line(address: dict[str, Any]) -> str:
    return f"{address['street']}, {address['zip']} {address['city']}, {address['country']}"


class _SettingsTemplate(AppTemplate):
    """Shared helpers for the settings templates."""

    app: ClassVar[str] = "settings"
    max_steps: ClassVar[int] = 20
    section: ClassVar[str]

    def _start_view(self, rng: np.random.Generator) -> str:
        """Draws the section the page opens on: the task's own one about a third of the time."""
        if rng.random() < 1 / 3:
            return self.section
        return pick(rng, [s for s in SECTIONS if s != self.section])

    def _nav(self, params: dict[str, Any]) -> list[OracleStep]:
        """Returns the click to the task's section, if the page opens elsewhere."""
        if params["data"]["view"] == self.section:
            return []
        return [OracleStep("click", f"nav-{self.section}")]


class UpdateProfile(_SettingsTemplate):
    """Change two or three profile fields (display name, phone, language, time zone) and save."""

    name: ClassVar[str] = "update-profile"
    description: ClassVar[str] = "Edit profile fields and save them (not Reset)."
    section: ClassVar[str] = "profile"

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the account and the new profile values."""
        data = _account(rng, self._start_view(rng), ("Home", "Office"))
        old = data["profile"]
        changes: dict[str, str] = {}
        for field in sorted(
            pick_n(rng, ("name", "phone", "language", "timezone"), int(rng.integers(2, 4)))
        ):
            if field == "name":
                first, last = old["name"].split()
                changes["name"] = pick(
                    rng,
                    (
                        f"{first} {last[0]}.",
                        f"{pick(rng, FIRST_NAMES)} {last}",
                        f"{first} {pick(rng, [n for n in LAST_NAMES if n != last])}",
                    ),
                )
            elif field == "phone":
                changes["phone"] = old["phone"]
                while changes["phone"] == old["phone"]:
                    changes["phone"] = _phone(rng)
            elif field == "language":
                changes["language"] = pick(rng, [x for x in LANGUAGES if x != old["language"]])
            else:
                changes["timezone"] = pick(
                    rng, [tz for tz, _ in TIMEZONES if tz != old["timezone"]]
                )
        return {"data": data, "changes": changes}

    def instruction(self, params: dict[str, Any]) -> str:
        """Lists the new values."""
        c = params["changes"]
        parts = []
        if "name" in c:
            parts.append(f'the display name to "{c["name"]}"')
        if "phone" in c:
            parts.append(f"the phone number to {c['phone']}")
        if "language" in c:
            parts.append(f"the language to {c['language']}")
        if "timezone" in c:
            parts.append(f"the time zone to {TZ_LABEL[c['timezone']]}")
        return f"In your profile, change {', '.join(parts[:-1])} and {parts[-1]}. Save the changes."

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The saved profile has the new values and its other fields as before."""
        expected = {**params["data"]["profile"], **params["changes"]}
        saved = state.get("saved", {}).get("profile", {})
        return _unchanged(params, state, ("profile",)) and all(
            norm(saved.get(k)) == norm(v) if k in ("name", "phone") else saved.get(k) == v
            for k, v in expected.items()
        )

    def _field_steps(self, params: dict[str, Any]) -> list[OracleStep]:
        c = params["changes"]
        steps = []
        if "name" in c:
            steps.append(OracleStep("fill", "profile-name", c["name"]))
        if "phone" in c:
            steps.append(OracleStep("fill", "profile-phone", c["phone"]))
        if "language" in c:
            steps.append(OracleStep("select", "profile-language", c["language"]))
        if "timezone" in c:
            steps.append(OracleStep("select", "profile-timezone", TZ_LABEL[c["timezone"]]))
        return steps

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Opens Profile, sets the fields, saves."""
        return [*self._nav(params), *self._field_steps(params), OracleStep("click", "save-profile")]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The profile fields; Reset and the neighbouring username field are traps."""
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={s.key: s.text for s in self._field_steps(params) if s.key and s.text},
            distractors=("reset-profile", "profile-username", "profile-email"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """The old values and the look-alike options next to the new ones."""
        c = params["changes"]
        old = params["data"]["profile"]
        out = [old["name"]]
        if "language" in c:
            i = LANGUAGES.index(c["language"])
            out.append(LANGUAGES[i + 1 if i + 1 < len(LANGUAGES) else i - 1])
        if "timezone" in c:
            labels = [label for _, label in TIMEZONES]
            i = labels.index(TZ_LABEL[c["timezone"]])
            out.append(labels[i + 1 if i + 1 < len(labels) else i - 1])
        if "phone" in c:
            out.append(old["phone"])
        return out


class ChangePassword(_SettingsTemplate):
    """Change the password: current, new, confirmation, Update password."""

    name: ClassVar[str] = "change-password"
    description: ClassVar[str] = "Change the password on the Security page."
    section: ClassVar[str] = "security"

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the account and the new password."""
        data = _account(rng, pick(rng, [s for s in SECTIONS if s != "security"]), ("Home",))
        new = data["password"]
        while new == data["password"]:
            new = _password(rng)
        return {"data": data, "new": new}

    def instruction(self, params: dict[str, Any]) -> str:
        """Gives both passwords."""
        return (
            "Change your account password. The current password is "
            f'"{params["data"]["password"]}"; the new one should be "{params["new"]}".'
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The saved password is the new one; nothing else changed."""
        saved = state.get("saved", {})
        return saved.get("password") == params["new"] and _unchanged(params, state, ("password",))

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Opens Security, fills the three fields, updates."""
        return [
            *self._nav(params),
            OracleStep("fill", "pw-current", params["data"]["password"]),
            OracleStep("fill", "pw-new", params["new"]),
            OracleStep("fill", "pw-confirm", params["new"]),
            OracleStep("click", "save-password"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The password fields; Cancel and the session sign-outs are traps."""
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={
                "pw-current": params["data"]["password"],
                "pw-new": params["new"],
                "pw-confirm": params["new"],
            },
            distractors=("cancel-password", "signout-all", "twofa-toggle"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """Near misses of the new password."""
        new = params["new"]
        return [new[:-1], new.lower(), new + "!"]


class NotificationPrefs(_SettingsTemplate):
    """Flip two to four cells of the notification matrix and save."""

    name: ClassVar[str] = "notification-prefs"
    description: ClassVar[str] = "Toggle specific notification checkboxes and save."
    section: ClassVar[str] = "notifications"

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the account and the cells to flip (sometimes two in one row)."""
        data = _account(rng, self._start_view(rng), ("Home",))
        free = [f"{c}-{t}" for t in TOPICS for c in CHANNELS if f"{c}-{t}" not in LOCKED]
        count = int(rng.integers(2, 5))
        flips = pick_n(rng, free, count)
        if rng.random() < 0.5:
            # Two channels of one topic, so reading the wrong column is costly.
            topic = flips[0].split("-")[1]
            other = pick(rng, [f"{c}-{topic}" for c in CHANNELS if f"{c}-{topic}" != flips[0]])
            if other not in flips and other not in LOCKED:
                flips[-1] = other
        prefs = data["notifications"]["prefs"]
        return {"data": data, "flips": {k: not prefs[k] for k in flips}}

    @staticmethod
    def _phrase(key: str, on: bool) -> str:
        channel, topic = key.split("-")
        return f"turn {'on' if on else 'off'} {CHANNELS[channel]} for {TOPICS[topic]}"

    def instruction(self, params: dict[str, Any]) -> str:
        """Lists the cells with their new state."""
        parts = [self._phrase(k, v) for k, v in params["flips"].items()]
        text = ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"In your notification settings, {text}. Save the changes."

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The saved matrix is the old one with exactly those cells changed, and not paused."""
        before = params["data"]["notifications"]
        expected = {"paused": before["paused"], "prefs": {**before["prefs"], **params["flips"]}}
        return state.get("saved", {}).get("notifications") == expected and _unchanged(
            params, state, ("notifications",)
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Opens Notifications, clicks each cell, saves."""
        clicks = [OracleStep("click", f"notif-{k}") for k in params["flips"]]
        return [*self._nav(params), *clicks, OracleStep("click", "save-notifications")]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The cells; the pause switch, Reset and the same topics' other channels are traps."""
        near = []
        for key in params["flips"]:
            topic = key.split("-")[1]
            near += [
                f"notif-{c}-{topic}" for c in CHANNELS if f"{c}-{topic}" not in params["flips"]
            ]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={
                f"notif-{k}": "checked" if v else "unchecked" for k, v in params["flips"].items()
            },
            distractors=("notif-pause", "reset-notifications", *dict.fromkeys(near)),
        )


class PrivacySetting(_SettingsTemplate):
    """Change two or three privacy choices (radio groups, maybe a switch) and save."""

    name: ClassVar[str] = "privacy-setting"
    description: ClassVar[str] = "Set privacy radio groups and switches, then save."
    section: ClassVar[str] = "privacy"

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the account and the new choices."""
        data = _account(rng, self._start_view(rng), ("Home",))
        old = data["privacy"]
        changes: dict[str, Any] = {}
        for group in pick_n(rng, list(PRIVACY_RADIOS), int(rng.integers(1, 4))):
            changes[group] = pick(rng, [v for v in PRIVACY_RADIOS[group] if v != old[group]])
        if len(changes) < 2 or rng.random() < 0.3:
            switch = pick(rng, list(PRIVACY_SWITCHES))
            changes[switch] = not old[switch]
        return {"data": data, "changes": changes}

    def instruction(self, params: dict[str, Any]) -> str:
        """Phrases each choice."""
        parts = []
        for key, value in params["changes"].items():
            if key in PRIVACY_RADIOS:
                parts.append(PRIVACY_RADIOS[key][value])
            else:
                parts.append(PRIVACY_SWITCHES[key][0 if value else 1])
        text = ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"In your privacy settings, {text}. Save the changes."

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The saved privacy settings are the old ones with exactly those changes."""
        expected = {**params["data"]["privacy"], **params["changes"]}
        return state.get("saved", {}).get("privacy") == expected and _unchanged(
            params, state, ("privacy",)
        )

    @staticmethod
    def _key(key: str, value: Any) -> str:
        return f"privacy-{key}-{value}" if key in PRIVACY_RADIOS else f"privacy-{key}"

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Opens Privacy, clicks each option, saves."""
        clicks = [OracleStep("click", self._key(k, v)) for k, v in params["changes"].items()]
        return [*self._nav(params), *clicks, OracleStep("click", "save-privacy")]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The options; the other options of the same groups, Reset and Delete account are traps."""
        others = [
            f"privacy-{k}-{v}"
            for k, chosen in params["changes"].items()
            if k in PRIVACY_RADIOS
            for v in PRIVACY_RADIOS[k]
            if v != chosen
        ]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={self._key(k, v): str(v) for k, v in params["changes"].items()},
            distractors=("reset-privacy", "delete-account", *others),
        )


class AddAddress(_SettingsTemplate):
    """Add a new address to the address book, maybe as the default."""

    name: ClassVar[str] = "add-address"
    description: ClassVar[str] = "Fill and save the new-address form."
    section: ClassVar[str] = "addresses"

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the account and the new address."""
        pair = pick(rng, LABEL_PAIRS)
        labels = [*pair[:1], pick(rng, [p[1] for p in LABEL_PAIRS if p != pair])]
        data = _account(rng, self._start_view(rng), labels)
        label = pick(rng, NEW_LABELS)
        recipient = (
            data["profile"]["name"]
            if rng.random() < 0.5
            else sample_people(rng, 1, MAIL_DOMAIN, exclude=[data["profile"]["name"]])[0]["name"]
        )
        new = _address(rng, label, recipient, "new")
        new["isDefault"] = bool(rng.random() < 0.4)
        if rng.random() < 0.5:
            new["phone"] = ""
        del new["id"]
        return {"data": data, "address": new}

    def instruction(self, params: dict[str, Any]) -> str:
        """Spells the address out."""
        a = params["address"]
        text = f'Add a new address named "{a["label"]}" for {a["name"]}: {_one_line(a)}'
        if a["phone"]:
            text += f", phone {a['phone']}"
        text += "."
        if a["isDefault"]:
            text += " Make it the default address."
        return text

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """One new address with those fields; old ones as before (but not default if replaced)."""
        a = params["address"]
        after = state.get("saved", {}).get("addresses", [])
        before = {x["id"]: x for x in params["data"]["addresses"]}
        new = [x for x in after if x.get("id") not in before]
        old = {x["id"]: x for x in after if x.get("id") in before}
        if len(new) != 1 or set(old) != set(before) or not _addresses_match(a, new[0]):
            return False
        for idx, x in before.items():
            expected = {**x, "isDefault": x["isDefault"] and not a["isDefault"]}
            if old[idx] != expected:
                return False
        return _unchanged(params, state, ("addresses",))

    def _form_steps(self, params: dict[str, Any]) -> list[OracleStep]:
        a = params["address"]
        steps = [
            OracleStep("fill", "addr-label", a["label"]),
            OracleStep("fill", "addr-name", a["name"]),
            OracleStep("fill", "addr-street", a["street"]),
            OracleStep("fill", "addr-city", a["city"]),
            OracleStep("fill", "addr-zip", a["zip"]),
            OracleStep("select", "addr-country", a["country"]),
        ]
        if a["phone"]:
            steps.append(OracleStep("fill", "addr-phone", a["phone"]))
        if a["isDefault"]:
            steps.append(OracleStep("click", "addr-default"))
        return steps

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Opens Addresses, the new-address form, fills it, saves."""
        return [
            *self._nav(params),
            OracleStep("click", "add-address"),
            *self._form_steps(params),
            OracleStep("click", "save-address"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The form fields; Cancel and the existing addresses' buttons are traps."""
        fields = {s.key: s.text for s in self._form_steps(params) if s.key and s.text}
        if params["address"]["isDefault"]:
            fields["addr-default"] = "checked"
        existing = [f"address-{x['id']}-edit" for x in params["data"]["addresses"]]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields=fields,
            distractors=("cancel-address", *existing),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """Fields of the existing addresses."""
        first = params["data"]["addresses"][0]
        return [first["street"], first["city"], first["zip"], first["country"]]


class EditAddress(_SettingsTemplate):
    """Change the street (and maybe city and postal code) of one of two look-alike addresses."""

    name: ClassVar[str] = "edit-address"
    description: ClassVar[str] = "Edit the right address among look-alikes and save it."
    section: ClassVar[str] = "addresses"

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the account (with a look-alike address pair) and the edit."""
        pair = pick(rng, LABEL_PAIRS)
        third = pick(rng, [p[0] for p in LABEL_PAIRS if p != pair])
        labels = [*(pair if rng.random() < 0.5 else pair[::-1]), third]
        data = _account(rng, self._start_view(rng), labels)
        target_label = pick(rng, pair)
        target = next(x for x in data["addresses"] if x["label"] == target_label)
        twin = next(
            x for x in data["addresses"] if x["label"] == (set(pair) - {target_label}).pop()
        )
        changes: dict[str, Any] = {"street": target["street"]}
        while changes["street"] == target["street"]:
            changes["street"] = f"{int(rng.integers(1, 200))} {pick(rng, STREETS)}"
        moves = [c for c, country in CITIES if country == target["country"] and c != target["city"]]
        if moves and rng.random() < 0.7:
            changes.update(city=pick(rng, moves), zip=_zip(rng))
        if not target["isDefault"] and rng.random() < 0.4:
            changes["isDefault"] = True
        return {"data": data, "id": target["id"], "twin": twin["id"], "changes": changes}

    def _target(self, params: dict[str, Any]) -> dict[str, Any]:
        return next(x for x in params["data"]["addresses"] if x["id"] == params["id"])

    def instruction(self, params: dict[str, Any]) -> str:
        """Names the address by label and gives the new values."""
        c = params["changes"]
        label = self._target(params)["label"]
        text = f'Update your "{label}" address: the street is now {c["street"]}'
        if "city" in c:
            text += f", postal code {c['zip']} {c['city']}"
        text += "."
        if c.get("isDefault"):
            text += " Also make it your default address."
        return text

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The target has the new values; the others as before (but not default if replaced)."""
        c = params["changes"]
        after = {x.get("id"): x for x in state.get("saved", {}).get("addresses", [])}
        before = {x["id"]: x for x in params["data"]["addresses"]}
        if set(after) != set(before) or not _unchanged(params, state, ("addresses",)):
            return False
        for idx, x in before.items():
            if idx == params["id"]:
                if not _addresses_match({**x, **c}, after[idx]):
                    return False
            elif after[idx] != {**x, "isDefault": x["isDefault"] and not c.get("isDefault")}:
                return False
        return True

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Opens Addresses, edits the target, saves."""
        c = params["changes"]
        steps = [*self._nav(params), OracleStep("click", f"address-{params['id']}-edit")]
        steps.append(OracleStep("fill", "addr-street", c["street"]))
        if "city" in c:
            steps += [
                OracleStep("fill", "addr-city", c["city"]),
                OracleStep("fill", "addr-zip", c["zip"]),
            ]
        if c.get("isDefault"):
            steps.append(OracleStep("click", "addr-default"))
        steps.append(OracleStep("click", "save-address"))
        return steps

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """The target's form; the look-alike address and Remove are traps."""
        c = params["changes"]
        fields = {f"addr-{k}": str(v) for k, v in c.items() if k != "isDefault"}
        if c.get("isDefault"):
            fields["addr-default"] = "checked"
        twin = params["twin"]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields=fields,
            distractors=(
                f"address-{twin}-edit",
                f"address-{params['id']}-remove",
                "cancel-address",
            ),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """The target's old values."""
        t = self._target(params)
        return [t["street"], t["city"], t["zip"]]


TEMPLATES: list[AppTemplate] = [
    UpdateProfile(),
    ChangePassword(),
    NotificationPrefs(),
    PrivacySetting(),
    AddAddress(),
    EditAddress(),
]
