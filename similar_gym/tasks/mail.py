"""Task templates on the webmail app (``apps/mail``).

The mail client has folders (inbox, starred, sent, drafts, archive, trash and the user's own
folders), a message list with selection and bulk actions, a reading view with reply, reply all,
forward, star, archive, delete and "move to", a compose form, and search.

Every mailbox is drawn fresh: colleagues with look-alike names (same first name, same surname),
threads with look-alike subjects ("Invoice #4411" next to "Invoice #4417"), cc'd people that a
careless "Reply all" would include, and a half-written draft to a look-alike address.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from similar_gym.tasks._content import (
    FIRST_NAMES,
    LAST_NAMES,
    norm,
    person_names,
    pick,
    pick_k,
    shuffled,
    slug,
)
from similar_gym.tasks.base import AppTemplate, OracleStep, TaskMeta

DOMAINS = (
    "brightwater.io",
    "kestrel-labs.com",
    "oakhurst.org",
    "lumen.studio",
    "fernway.co",
    "harbor-group.com",
    "quillmail.net",
)
OWN_FOLDERS = ("Receipts", "Projects", "Travel", "Family")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
TIMES = ("9:30", "10:15", "11:00", "12:30", "14:00", "15:45", "16:30")
THINGS = ("budget", "launch plan", "hiring plan", "vendor contract", "board slides", "survey")

# Threads come in families of look-alike subjects; {me} is the user's first name, {sig} the
# sender's, {day}/{time}/{thing} are drawn per mail.
FAMILIES: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        (
            "Q3 budget review",
            "Hi {me}, the draft Q3 budget is in the shared folder. Could you "
            "check the travel line before {day}? It looks high to me.\n\nThanks,\n{sig}",
        ),
        (
            "Q2 budget review",
            "Hi {me}, final numbers for Q2 are in: we came in slightly under "
            "on hardware. Details are in the sheet.\n\nBest,\n{sig}",
        ),
    ),
    (
        (
            "Team offsite agenda",
            "Hi all, here is the agenda for the offsite: strategy in the "
            "morning, workshops after lunch, dinner at 19:00. Comments welcome by {day}.\n\n{sig}",
        ),
        (
            "Team offsite: travel and rooms",
            "Hi {me}, rooms are booked for two nights. The "
            "train leaves at {time}; tickets will follow by email.\n\n{sig}",
        ),
    ),
    (
        (
            "Invoice #4411",
            "Dear customer, please find invoice #4411 for March attached. "
            "Payment is due within 30 days.\n\nKind regards,\n{sig}",
        ),
        (
            "Invoice #4417",
            "Dear customer, please find invoice #4417 for April attached. "
            "Payment is due within 30 days.\n\nKind regards,\n{sig}",
        ),
    ),
    (
        (
            "Design review notes",
            "Hi {me}, notes from today's design review: simplify the "
            "onboarding, keep the dark header, test the new icons.\n\n{sig}",
        ),
        (
            "Design review: next steps",
            "Hi {me}, after the review we agreed to ship the new "
            "icons first. Can you own the {thing} part?\n\n{sig}",
        ),
    ),
    (
        (
            "Interview schedule for Thursday",
            "Hi {me}, three candidates on Thursday: 10:00, "
            "13:00 and {time}. Can you join the afternoon slot?\n\n{sig}",
        ),
        (
            "Interview feedback",
            "Hi {me}, could you add your feedback for yesterday's "
            "candidate to the hiring sheet by {day}?\n\n{sig}",
        ),
    ),
    (
        (
            "Website launch checklist",
            "Hi {me}, attached is the launch checklist. DNS, "
            "analytics and the cookie banner are still open.\n\n{sig}",
        ),
        (
            "Website launch moved to {day}",
            "Hi {me}, we are moving the launch to {day} to "
            "finish testing. Nothing else changes.\n\n{sig}",
        ),
    ),
    (
        (
            "Lunch next week?",
            "Hey {me}! Lunch next week? I'm free {day} and Thursday. The "
            "new ramen place is supposed to be great.\n\n{sig}",
        ),
        (
            "Lunch on {day}",
            "Hi {me}, confirming lunch on {day} at {time}. I booked a table for two.\n\n{sig}",
        ),
    ),
    (
        (
            "Photos from the weekend",
            "Hi {me}, I uploaded the photos from the weekend to the "
            "shared album. The lake ones came out really well!\n\n{sig}",
        ),
        (
            "Photos from the wedding",
            "Hi {me}, the wedding photos are finally here. Let me "
            "know which ones you want printed.\n\n{sig}",
        ),
    ),
    (
        (
            "Book club: next pick",
            "Hi everyone, the votes are in: next month we read the "
            "lighthouse novel. Meeting as usual on {day}.\n\n{sig}",
        ),
        (
            "Book club: venue change",
            "Hi {me}, this month we meet at the library café instead, same time, {time}.\n\n{sig}",
        ),
    ),
    (
        (
            "Contract renewal",
            "Hello {me}, your service contract ends next month. Shall we "
            "send the renewal with the same terms?\n\nRegards,\n{sig}",
        ),
        (
            "Contract renewal: signed copy",
            "Hello {me}, attached is the countersigned "
            "renewal for your records.\n\nRegards,\n{sig}",
        ),
    ),
    (
        (
            "Flight to Lisbon",
            "Your booking is confirmed: flight TP1351 on {day}, departing "
            "{time}. Check-in opens 24 hours before.\n\n{sig}",
        ),
        (
            "Flight to Lisbon: seat change",
            "Your seat on flight TP1351 has changed from 14C to 21A. No action is needed.\n\n{sig}",
        ),
    ),
    (
        (
            "Quarterly report draft",
            "Hi {me}, the first draft of the quarterly report is "
            "ready for comments. The {thing} section still needs numbers.\n\n{sig}",
        ),
        (
            "Quarterly report: final version",
            "Hi {me}, here is the final quarterly report as sent to the board.\n\n{sig}",
        ),
    ),
    (
        (
            "Volunteer rota for the fair",
            "Hi {me}, could you take the {time} shift at the "
            "book stall on Saturday? Reply if that doesn't work.\n\n{sig}",
        ),
        (
            "Volunteer rota: updated",
            "Hi all, the updated rota is attached. Two shifts on Sunday are still free.\n\n{sig}",
        ),
    ),
    (
        (
            "Roadmap sync notes",
            "Hi {me}, notes from the roadmap sync: search goes first, "
            "then the mobile app. The {thing} is parked until Q4.\n\n{sig}",
        ),
        (
            "Roadmap sync moved",
            "Hi {me}, the roadmap sync moves to {day} at {time}, same room.\n\n{sig}",
        ),
    ),
)

# Automated senders: (display name, address, subject, body).
BULK_MAIL: tuple[tuple[str, str, str, str], ...] = (
    (
        "The Morning Ledger",
        "digest@morningledger.news",
        "Your weekly digest",
        "Top stories this week: rates hold steady, a new bridge for the harbour, and the "
        "best bakeries in town.",
    ),
    (
        "Parcelnet",
        "tracking@parcelnet.com",
        "Your parcel is on its way",
        "Your parcel PN48213 left our depot and will arrive on {day} between 9:00 and 13:00.",
    ),
    (
        "CloudVault",
        "no-reply@cloudvault.app",
        "Password reset request",
        "We received a request to reset your password. If this wasn't you, ignore this email.",
    ),
    (
        "Harbor Coffee",
        "receipts@harborcoffee.com",
        "Your receipt from Harbor Coffee",
        "Thanks for your visit! Flat white and a cinnamon bun: $7.40 paid by card.",
    ),
    (
        "Northwind Market",
        "deals@northwind.shop",
        "Last chance: 30% off outerwear",
        "Our spring sale ends Sunday. Rain jackets, fleeces and boots at 30% off.",
    ),
    (
        "City Library",
        "loans@citylibrary.org",
        "Your loan is due soon",
        "Two items are due back on {day}. Renew online to keep them longer.",
    ),
)

SHORT_MESSAGES: tuple[tuple[str, str], ...] = (
    ("Lunch on {day}?", "Are you free for lunch on {day} at {time}? My treat."),
    ("Slides for {day}", "Could you send me the slides before {day}? I would like to review them."),
    ("Meeting moved to {time}", "Heads up: tomorrow's meeting is moved to {time}. Same room."),
    ("Thanks for your help", "Thanks again for your help with the {thing}. It made a difference."),
    ("Question about the {thing}", "Do you have ten minutes to talk about the {thing} on {day}?"),
    ("Parking pass", "I left the parking pass for {day} at the front desk for you."),
)
REPLIES = (
    "Thanks, that works for me.",
    "Sounds good, see you at {time}.",
    "I have reviewed it and left two comments.",
    "Could we push this to {day}?",
    "Great news, thank you for letting me know.",
    "I can take that on. I will send an update by {day}.",
)
NOTES = (
    "FYI, see below.",
    "Could you take care of this one?",
    "Please file this with the {thing} papers.",
    "Forwarding as discussed on {day}.",
    "Can you check this before {day}?",
)


def _slots(rng: np.random.Generator, **names: str) -> dict[str, str]:
    """Draws the ``{day}``, ``{time}`` and ``{thing}`` placeholders, plus the given ones."""
    return {"day": pick(rng, DAYS), "time": pick(rng, TIMES), "thing": pick(rng, THINGS), **names}


def _fill(rng: np.random.Generator, text: str) -> str:
    """Fills the ``{day}``, ``{time}`` and ``{thing}`` placeholders of ``text``."""
    return text.format(**_slots(rng))


def _contact(name: str, rng: np.random.Generator, domain: str | None = None) -> dict[str, str]:
    """Returns ``{"name", "email"}`` for a person, with a randomly styled address."""
    first, last = name.lower().split()
    local = pick(rng, (f"{first}.{last}", f"{first[0]}{last}", f"{first}"))
    return {"name": name, "email": f"{local}@{domain or pick(rng, DOMAINS)}"}


@dataclass
class _Box:
    """Builds one mailbox: reserved people and threads for the goal, filler around them.

    Attributes:
        rng: The generator.
        me: The user, ``{"name", "email"}``.
        people: Contacts not yet used by the goal.
        families: Subject families not yet used by the goal.
        mails: The mails so far (without ids and dates).
    """

    rng: np.random.Generator
    me: dict[str, str] = field(init=False)
    people: list[dict[str, str]] = field(init=False)
    families: list[tuple[tuple[str, str], ...]] = field(init=False)
    mails: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = person_names(self.rng, 12)
        self.me = _contact(names[0], self.rng, "postbox.mail")
        self.people = [_contact(n, self.rng) for n in names[1:]]
        self.families = shuffled(self.rng, FAMILIES)

    def person(self) -> dict[str, str]:
        """Reserves a contact for the goal (filler will not use it)."""
        return self.people.pop()

    def family(self) -> tuple[tuple[str, str], ...]:
        """Reserves a subject family for the goal (filler will not use it)."""
        return self.families.pop()

    def lookalike(self, person: dict[str, str], same: str) -> dict[str, str]:
        """Returns a new contact sharing ``person``'s first (``same="first"``) or last name."""
        first, last = person["name"].split()
        taken = {p["name"] for p in self.people} | {person["name"], self.me["name"]}
        while True:
            other = pick(self.rng, LAST_NAMES if same == "first" else FIRST_NAMES)
            name = f"{first} {other}" if same == "first" else f"{other} {last}"
            if name not in taken:
                return _contact(name, self.rng)

    def add(
        self,
        sender: dict[str, str],
        subject: str,
        body: str,
        folder: str = "inbox",
        cc: list[dict[str, str]] | None = None,
        to: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Adds a mail and returns it (its id and date are set by :meth:`data`)."""
        slots = _slots(self.rng, me=self.me["name"].split()[0], sig=sender["name"].split()[0])
        mail = {
            "folder": folder,
            "from": sender,
            "to": to or [self.me],
            "cc": cc or [],
            "subject": subject.format(**slots),
            "body": body.format(**slots),
            "starred": False,
            "read": True,
        }
        self.mails.append(mail)
        return mail

    def thread(self, sender: dict[str, str], variant: tuple[str, str], **kw: Any) -> dict:
        """Adds a mail from a family variant ``(subject, body)``."""
        return self.add(sender, variant[0], variant[1], **kw)

    def filler(self, inbox: int = 8) -> None:
        """Adds unrelated mail: inbox threads, newsletters, archive, sent, a draft, trash.

        Args:
            inbox: How many person-to-person threads to put in the inbox.
        """
        rng = self.rng
        variants = shuffled(rng, [v for fam in self.families for v in fam])
        folders = ["inbox"] * inbox + ["archive"] * 3 + ["trash"]
        threads = [
            self.thread(pick(rng, self.people), variant, folder=folder)
            for folder, variant in zip(folders, variants, strict=False)
        ]
        for name, address, subject, body in pick_k(rng, BULK_MAIL, 3):
            self.add({"name": name, "email": address}, subject, body)
        for _ in range(3):
            subject, body = pick(rng, SHORT_MESSAGES)
            self.add(
                self.me, subject, body + "\n\n{sig}", folder="sent", to=[pick(rng, self.people)]
            )
        answered = threads[0]
        subject = "Re: " + answered["subject"]
        self.add(self.me, subject, "Thanks, one question:", "drafts", to=[answered["from"]])

    def data(self, today: dt.date, unread: float = 0.35) -> dict[str, Any]:
        """Shuffles the mails, gives them ids and dates, and returns the page data.

        Args:
            today: The current date of the instance.
            unread: Share of inbox mails left unread.
        """
        rng = self.rng
        now = dt.datetime.combine(today, dt.time(int(rng.integers(14, 18)), int(rng.integers(60))))
        mails = shuffled(rng, self.mails)
        minutes = rng.choice(np.arange(12, 60 * 24 * 12), len(mails), replace=False)
        ages = sorted(int(m) for m in minutes)
        for i, (mail, age) in enumerate(zip(mails, ages, strict=True)):
            mail["id"] = f"m{i + 1}"
            mail["date"] = (now - dt.timedelta(minutes=age)).isoformat(timespec="minutes")
            if mail["folder"] == "inbox" and rng.random() < unread:
                mail["read"] = False
        return {
            "appName": "Postbox",
            "today": today.isoformat(),
            "now": now.isoformat(timespec="minutes"),
            "me": self.me,
            "folders": [{"id": slug(f), "name": f} for f in OWN_FOLDERS],
            "mails": mails,
        }


def _today(rng: np.random.Generator) -> dt.date:
    """Draws "today" for an instance."""
    return dt.date(2024, int(rng.integers(3, 11)), int(rng.integers(14, 28)))


def _new_sent(params: dict[str, Any], state: dict[str, Any]) -> list[dict[str, Any]]:
    """Returns the mails in the sent folder that the instance did not start with."""
    old = {m["id"] for m in params["data"]["mails"]}
    mails = state.get("mails") or []
    return [m for m in mails if m.get("id") not in old and m.get("folder") == "sent"]


def _addresses(recipients: list[dict[str, Any]] | None) -> list[str]:
    """Returns the lowercase addresses of a recipient list."""
    return sorted(norm(r.get("email")) for r in recipients or [])


def _unchanged(params: dict[str, Any], state: dict[str, Any], skip: set[str], keys: tuple) -> bool:
    """Whether every initial mail outside ``skip`` still exists with the same ``keys`` values."""
    now = {m.get("id"): m for m in state.get("mails") or []}
    for old in params["data"]["mails"]:
        if old["id"] in skip:
            continue
        new = now.get(old["id"])
        if new is None or any(new.get(k) != old[k] for k in keys):
            return False
    return True


def _mail(params: dict[str, Any], mail_id: str) -> dict[str, Any]:
    """Returns the initial mail with id ``mail_id``."""
    return next(m for m in params["data"]["mails"] if m["id"] == mail_id)


class SendMail(AppTemplate):
    """Compose and send a new mail to a given address with a given subject and text."""

    app = "mail"
    name = "send-mail"
    description = "Compose a new mail with recipient, subject and body, and send it."
    max_steps = 15

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the recipient, a look-alike of theirs in the inbox and a draft trap."""
        box = _Box(rng)
        to = box.person()
        twin = {
            "name": to["name"],
            "email": to["email"].split("@")[0]
            + "@"
            + pick(rng, [d for d in DOMAINS if d != to["email"].split("@")[1]]),
        }
        box.thread(twin, pick(rng, box.family()))
        slots = _slots(rng)
        subject, body = (text.format(**slots) for text in pick(rng, SHORT_MESSAGES))
        box.add(box.me, subject, "Hi, quick question about", folder="drafts", to=[twin])
        box.filler()
        return {
            "data": box.data(_today(rng)),
            "to": to,
            "subject": subject,
            "body": body,
            "twin": twin,
        }

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        return (
            f"Send an email to {params['to']['name']} at {params['to']['email']} with the "
            f'subject "{params["subject"]}" and the message "{params["body"]}".'
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """Exactly one new sent mail, to that address only, with the subject and the text."""
        sent = _new_sent(params, state)
        return (
            len(sent) == 1
            and _addresses(sent[0].get("to")) == [params["to"]["email"]]
            and not sent[0].get("cc")
            and norm(sent[0].get("subject")) == norm(params["subject"])
            and norm(params["body"]) in norm(sent[0].get("body"))
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Compose, fill the three fields, send."""
        return [
            OracleStep("click", "compose"),
            OracleStep("fill", "compose-to", params["to"]["email"]),
            OracleStep("fill", "compose-subject", params["subject"]),
            OracleStep("fill", "compose-body", params["body"]),
            OracleStep("click", "compose-send"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the compose fields; the draft and 'Save draft' are distractors."""
        oracle = self.oracle(params)
        return TaskMeta(
            elements=tuple(s.key for s in oracle if s.key),
            fields={s.key: s.text for s in oracle if s.verb == "fill" and s.key},
            distractors=("compose-save-draft", "compose-discard", "folder-drafts"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """The look-alike address and the user's own address."""
        return [params["twin"]["email"], params["data"]["me"]["email"]]


class ReplyTo(AppTemplate):
    """Reply only to the sender of one mail among look-alike threads."""

    app = "mail"
    name = "reply-to"
    description = "Find a mail by sender and subject and reply to the sender only."
    max_steps = 15

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the sender with two look-alike threads; the target has people in cc."""
        box = _Box(rng)
        sender = box.person()
        variants = shuffled(rng, box.family())
        archived = bool(rng.random() < 0.3)
        cc = pick_k(rng, box.people, int(rng.integers(1, 3)))
        target = box.thread(sender, variants[0], cc=cc, folder="archive" if archived else "inbox")
        box.thread(sender, variants[1], cc=cc[:1])
        box.thread(box.lookalike(sender, "first"), pick(rng, box.family()))
        box.filler()
        data = box.data(_today(rng))
        return {
            "data": data,
            "target": target["id"],
            "sender": sender,
            "subject": target["subject"],
            "text": _fill(rng, pick(rng, REPLIES)),
            "archived": archived,
        }

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        where = " (I archived it)" if params["archived"] else ""
        first = params["sender"]["name"].split()[0]
        return (
            f'Reply to {params["sender"]["name"]}\'s email "{params["subject"]}"{where} with the '
            f'message "{params["text"]}". Send the reply to {first} only, not to everyone.'
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """One new sent mail replying to the target, to the sender only, with the text."""
        sent = _new_sent(params, state)
        return (
            len(sent) == 1
            and sent[0].get("replyTo") == params["target"]
            and _addresses(sent[0].get("to")) == [params["sender"]["email"]]
            and not sent[0].get("cc")
            and norm(params["text"]) in norm(sent[0].get("body"))
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """(Archive folder,) open, reply, type, send."""
        steps = [OracleStep("click", "folder-archive")] if params["archived"] else []
        return [
            *steps,
            OracleStep("click", f"mail-{params['target']}-open"),
            OracleStep("click", "msg-reply"),
            OracleStep("fill", "compose-body", params["text"]),
            OracleStep("click", "compose-send"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the mail and the reply flow; the sibling thread and 'Reply all' distract."""
        siblings = [
            f"mail-{m['id']}-open"
            for m in params["data"]["mails"]
            if m["from"] == params["sender"] and m["id"] != params["target"]
        ]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={"compose-body": params["text"]},
            distractors=(*siblings, "msg-reply-all", "msg-forward", "compose-save-draft"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """Other canned replies."""
        return [r for r in REPLIES if "{" not in r and r != params["text"]][:2]


class ForwardMail(AppTemplate):
    """Forward one of two look-alike mails to a given address with a note."""

    app = "mail"
    name = "forward-mail"
    description = "Search for a mail, forward it to someone with a short note."
    max_steps = 18

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the sender's two look-alike mails and a recipient with a namesake."""
        box = _Box(rng)
        sender, to = box.person(), box.person()
        variants = shuffled(rng, box.family())
        target = box.thread(sender, variants[0])
        box.thread(sender, variants[1])
        namesake = box.lookalike(to, "first")
        box.thread(namesake, pick(rng, box.family()))
        box.filler()
        data = box.data(_today(rng))
        return {
            "data": data,
            "target": target["id"],
            "sender": sender,
            "subject": target["subject"],
            "to": to,
            "namesake": namesake,
            "note": _fill(rng, pick(rng, NOTES)),
        }

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        return (
            f'Forward the email "{params["subject"]}" from {params["sender"]["name"]} to '
            f"{params['to']['name']} ({params['to']['email']}) with the note "
            f'"{params["note"]}".'
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """One new sent mail forwarding the target to the address only, with the note."""
        sent = _new_sent(params, state)
        return (
            len(sent) == 1
            and sent[0].get("forwardOf") == params["target"]
            and _addresses(sent[0].get("to")) == [params["to"]["email"]]
            and not sent[0].get("cc")
            and norm(params["note"]) in norm(sent[0].get("body"))
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Search by sender, open, forward, address, note, send."""
        return [
            OracleStep("fill", "search-input", params["sender"]["name"]),
            OracleStep("press", None, "Enter"),
            OracleStep("click", f"mail-{params['target']}-open"),
            OracleStep("click", "msg-forward"),
            OracleStep("fill", "compose-to", params["to"]["email"]),
            OracleStep("fill", "compose-body", params["note"]),
            OracleStep("click", "compose-send"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the forward flow; the look-alike mail and 'Reply' distract."""
        twin = [
            f"mail-{m['id']}-open"
            for m in params["data"]["mails"]
            if m["from"] == params["sender"] and m["id"] != params["target"]
        ]
        oracle = self.oracle(params)
        return TaskMeta(
            elements=tuple(s.key for s in oracle if s.key),
            fields={s.key: s.text for s in oracle if s.verb == "fill" and s.key},
            distractors=(*twin, "msg-reply", "msg-reply-all", "compose-save-draft"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """The namesake's address and the sender's address."""
        return [params["namesake"]["email"], params["sender"]["email"]]


class ArchiveFrom(AppTemplate):
    """Archive every inbox mail from one sender, among senders with look-alike names."""

    app = "mail"
    name = "archive-from"
    description = "Select all inbox mails from one sender and archive them (not delete)."
    max_steps = 15

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws two to four mails from the sender plus namesakes' mails."""
        box = _Box(rng)
        sender = box.person()
        count = int(rng.integers(2, 5))
        targets = [box.thread(sender, pick(rng, box.family())) for _ in range(count)]
        box.thread(sender, pick(rng, box.family()), folder="archive")
        box.thread(box.lookalike(sender, "first"), pick(rng, box.family()))
        box.thread(box.lookalike(sender, "last"), pick(rng, box.family()))
        box.filler(inbox=7)
        data = box.data(_today(rng))
        return {"data": data, "sender": sender, "targets": sorted(m["id"] for m in targets)}

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        return f"Archive every email from {params['sender']['name']} in my inbox."

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The targets are archived; nothing else moved; nothing was sent."""
        folders = {m.get("id"): m.get("folder") for m in state.get("mails") or []}
        return (
            all(folders.get(t) == "archive" for t in params["targets"])
            and _unchanged(params, state, set(params["targets"]), ("folder",))
            and not _new_sent(params, state)
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Tick each mail, then Archive."""
        ticks = [OracleStep("click", f"mail-{t}-select") for t in params["targets"]]
        return [*ticks, OracleStep("click", "bulk-archive")]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the checkboxes; namesakes' mails and Delete are distractors."""
        names = params["sender"]["name"].split()
        namesakes = [
            f"mail-{m['id']}-select"
            for m in params["data"]["mails"]
            if m["folder"] == "inbox"
            and m["from"] != params["sender"]
            and set(m["from"]["name"].split()) & set(names)
        ]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            distractors=(*namesakes, "bulk-delete", "list-select-all"),
        )


class FileMail(AppTemplate):
    """Star one mail and move it to one of the user's own folders."""

    app = "mail"
    name = "file-mail"
    description = "Find a mail by sender and subject, star it and move it to a folder."
    max_steps = 15

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the sender's two look-alike mails and the destination folder."""
        box = _Box(rng)
        sender = box.person()
        variants = shuffled(rng, box.family())
        target = box.thread(sender, variants[0])
        box.thread(sender, variants[1])
        box.thread(box.lookalike(sender, "last"), pick(rng, box.family()))
        box.filler()
        data = box.data(_today(rng))
        return {
            "data": data,
            "target": target["id"],
            "sender": sender,
            "subject": target["subject"],
            "folder": pick(rng, OWN_FOLDERS),
        }

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        return (
            f'Star the email "{params["subject"]}" from {params["sender"]["name"]} and move it '
            f"to my {params['folder']} folder."
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The target is starred and in the folder; no other mail moved or changed star."""
        mail = next((m for m in state.get("mails") or [] if m.get("id") == params["target"]), {})
        return (
            mail.get("folder") == slug(params["folder"])
            and mail.get("starred") is True
            and _unchanged(params, state, {params["target"]}, ("folder", "starred"))
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Search by sender, open, star, move."""
        return [
            OracleStep("fill", "search-input", params["sender"]["name"]),
            OracleStep("press", None, "Enter"),
            OracleStep("click", f"mail-{params['target']}-open"),
            OracleStep("click", "msg-star"),
            OracleStep("select", "msg-move", params["folder"]),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the star and move controls; the sibling mail, archive and delete distract."""
        twin = [
            f"mail-{m['id']}-open"
            for m in params["data"]["mails"]
            if m["from"] == params["sender"] and m["id"] != params["target"]
        ]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={"msg-move": params["folder"]},
            distractors=(*twin, "msg-archive", "msg-delete"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """The other own folders."""
        return [f for f in OWN_FOLDERS if f != params["folder"]]


TEMPLATES: list[AppTemplate] = [SendMail(), ReplyTo(), ForwardMail(), ArchiveFrom(), FileMail()]
