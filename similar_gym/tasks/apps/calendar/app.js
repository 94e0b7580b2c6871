/*
 * Calendar: a month grid, day and agenda lists, event details with RSVP, and an event form.
 *
 * data (from similar_gym/tasks/calendar_app.py):
 *   today   "YYYY-MM-DD", the page's notion of today (the page reads no clock)
 *   user    {name, email}
 *   people  [{name, email}], the address book the guest field resolves names against
 *   events  [{id, title, date, start, end, location, attendees: [email], organizer: email,
 *             rsvp: null | "pending" | "yes" | "no" | "maybe", series: null | id,
 *             reminder: minutes | null, description}]
 *
 * state.view is one of month, agenda, day, event, new, edit.
 */
(function () {
  "use strict";

  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const REMINDERS = [
    [null, "No reminder"], [5, "5 minutes before"], [10, "10 minutes before"],
    [30, "30 minutes before"], [60, "1 hour before"], [1440, "1 day before"],
  ];
  const SLOTS = [];
  for (let h = 0; h < 24; h++) for (const m of ["00", "30"]) SLOTS.push(pad(h) + ":" + m);
  const RSVP_LABEL = { yes: "Going", no: "Not going", maybe: "Maybe", pending: "Awaiting reply" };

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function parts(iso) {
    const p = iso.split("-").map(Number);
    return { y: p[0], m: p[1], d: p[2] };
  }

  /** Builds a normalised ISO date; noon avoids daylight-saving edges. */
  function isoOf(y, m, d) {
    const t = new Date(y, m - 1, d, 12);
    return t.getFullYear() + "-" + pad(t.getMonth() + 1) + "-" + pad(t.getDate());
  }

  function addDays(iso, k) {
    const p = parts(iso);
    return isoOf(p.y, p.m, p.d + k);
  }

  function weekday(iso) {
    const p = parts(iso);
    return new Date(p.y, p.m - 1, p.d, 12).getDay();
  }

  function addMonths(ym, k) {
    const p = ym.split("-").map(Number);
    const t = new Date(p[0], p[1] - 1 + k, 1, 12);
    return t.getFullYear() + "-" + pad(t.getMonth() + 1);
  }

  function validDate(s) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
    const p = parts(s);
    return p.m >= 1 && p.m <= 12 && isoOf(p.y, p.m, p.d) === s;
  }

  function monthLabel(ym) {
    const p = ym.split("-").map(Number);
    return MONTHS[p[1] - 1] + " " + p[0];
  }

  function longDate(iso) {
    const p = parts(iso);
    return WEEKDAYS[weekday(iso)] + ", " + MONTHS[p.m - 1] + " " + p.d + ", " + p.y;
  }

  function timeLabel(hhmm) {
    const h = Number(hhmm.slice(0, 2));
    return ((h + 11) % 12 + 1) + ":" + hhmm.slice(3) + (h < 12 ? " AM" : " PM");
  }

  function shortTime(hhmm) {
    const h = Number(hhmm.slice(0, 2));
    const m = hhmm.slice(3);
    return ((h + 11) % 12 + 1) + (m === "00" ? "" : ":" + m) + (h < 12 ? "am" : "pm");
  }

  function slug(s) {
    return String(s).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  }

  function eventsOn(state, iso) {
    return state.events
      .filter((e) => e.date === iso)
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  }

  function findEvent(state, id) {
    return state.events.find((e) => e.id === id) || null;
  }

  function person(state, email) {
    if (email === state.user.email) return { name: state.user.name + " (you)", email: email };
    return state.people.find((p) => p.email === email) || { name: email, email: email };
  }

  function isInvite(state, ev) {
    return ev.organizer !== state.user.email;
  }

  function initials(name) {
    return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
  }

  // ------------------------------------------------------------------ actions

  const ACTIONS = {
    "go-month": (s) => {
      s.view = "month";
    },
    "go-agenda": (s) => {
      s.view = "agenda";
    },
    "month-prev": (s) => {
      s.month = addMonths(s.month, -1);
    },
    "month-next": (s) => {
      s.month = addMonths(s.month, 1);
    },
    today: (s) => {
      s.month = s.today.slice(0, 7);
      s.day = s.today;
      if (s.view !== "day") s.view = "month";
    },
    "open-day": (s, arg) => {
      s.day = arg;
      s.view = "day";
    },
    "day-prev": (s) => {
      s.day = addDays(s.day, -1);
      s.month = s.day.slice(0, 7);
    },
    "day-next": (s) => {
      s.day = addDays(s.day, 1);
      s.month = s.day.slice(0, 7);
    },
    "open-event": (s, arg) => {
      if (s.view !== "event") s.returnView = s.view;
      s.eventId = arg;
      s.view = "event";
      s.confirm = null;
    },
    back: (s) => {
      s.view = s.returnView || "month";
      s.eventId = null;
      s.confirm = null;
    },
    "new-event": (s) => {
      const date = s.view === "day" ? s.day : s.today;
      s.returnView = s.view === "event" ? s.returnView : s.view;
      s.draft = {
        id: null, title: "", date: date, start: "09:00", end: "10:00", location: "",
        attendees: [], reminder: 30, description: "", guestText: "",
      };
      s.errors = {};
      s.view = "new";
    },
    edit: (s) => {
      const ev = findEvent(s, s.eventId);
      if (!ev) return;
      s.draft = {
        id: ev.id, title: ev.title, date: ev.date, start: ev.start, end: ev.end,
        location: ev.location, attendees: ev.attendees.slice(), reminder: ev.reminder,
        description: ev.description, guestText: "",
      };
      s.errors = {};
      s.view = "edit";
    },
    "cancel-edit": (s) => {
      s.view = s.draft && s.draft.id ? "event" : s.returnView || "month";
      s.draft = null;
      s.errors = {};
    },
    "add-guest": (s) => addGuest(s),
    "remove-guest": (s, arg) => {
      s.draft.attendees = s.draft.attendees.filter((a) => a !== arg);
    },
    rsvp: (s, arg) => {
      const ev = findEvent(s, s.eventId);
      if (ev && isInvite(s, ev)) {
        ev.rsvp = arg;
        s.notice = "Reply sent: " + RSVP_LABEL[arg];
      }
    },
    "ask-delete": (s) => {
      s.confirm = "delete";
    },
    "cancel-delete": (s) => {
      s.confirm = null;
    },
    "confirm-delete": (s) => {
      s.events = s.events.filter((e) => e.id !== s.eventId);
      leaveDeleted(s, "Event deleted");
    },
    "confirm-delete-series": (s) => {
      const ev = findEvent(s, s.eventId);
      const series = ev && ev.series;
      s.events = s.events.filter((e) => e.id !== s.eventId && !(series && e.series === series));
      leaveDeleted(s, "All events in the series deleted");
    },
    "dismiss-notice": (s) => {
      s.notice = "";
    },
  };

  function leaveDeleted(s, message) {
    s.confirm = null;
    s.eventId = null;
    s.view = s.returnView || "month";
    s.notice = message;
  }

  function addGuest(s) {
    const d = s.draft;
    const text = (d.guestText || "").trim();
    delete s.errors.guest;
    if (!text) {
      s.errors.guest = "Type a name or an e-mail address.";
      return;
    }
    const low = text.toLowerCase();
    let email = null;
    const hit = s.people.find((p) => p.name.toLowerCase() === low || p.email.toLowerCase() === low);
    if (hit) email = hit.email;
    else if (/^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i.test(text)) email = low;
    if (!email) {
      s.errors.guest = 'No contact matches "' + text + '".';
      return;
    }
    if (d.attendees.indexOf(email) < 0) d.attendees.push(email);
    d.guestText = "";
  }

  function saveEvent(s) {
    const d = s.draft;
    const errors = {};
    const title = d.title.trim();
    const date = d.date.trim();
    if (!title) errors.title = "Add a title.";
    if (!validDate(date)) errors.date = "Enter the date as YYYY-MM-DD.";
    if (d.end <= d.start) errors.time = "The event must end after it starts.";
    s.errors = errors;
    if (Object.keys(errors).length) return;
    const fields = {
      title: title, date: date, start: d.start, end: d.end, location: d.location.trim(),
      attendees: d.attendees.slice(), reminder: d.reminder, description: d.description.trim(),
    };
    if (d.id) {
      Object.assign(findEvent(s, d.id), fields);
      s.view = "event";
      s.notice = "Event updated";
    } else {
      const id = "n" + s.nextId;
      s.nextId += 1;
      s.events.push(Object.assign({ id: id, organizer: s.user.email, rsvp: null, series: null }, fields));
      s.day = date;
      s.month = date.slice(0, 7);
      s.view = "day";
      s.notice = "Event saved";
    }
    s.draft = null;
  }

  function setPath(s, path, value) {
    const keys = path.split(".");
    let o = s;
    for (let i = 0; i < keys.length - 1; i++) o = o[keys[i]];
    o[keys[keys.length - 1]] = value;
  }

  // ------------------------------------------------------------------ views

  const esc = (x) => window.SIM.esc(x);

  const ICONS = {
    cal: '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><rect x="3" y="5" width="18" height="16" rx="3" fill="#1a73e8"/><rect x="3" y="5" width="18" height="5" rx="2" fill="#0b57d0"/><rect x="7" y="2.5" width="2" height="5" rx="1" fill="#0b57d0"/><rect x="15" y="2.5" width="2" height="5" rx="1" fill="#0b57d0"/><rect x="6.5" y="12.5" width="3" height="3" rx=".6" fill="#fff"/><rect x="10.5" y="12.5" width="3" height="3" rx=".6" fill="#fff"/><rect x="14.5" y="12.5" width="3" height="3" rx=".6" fill="#fff"/></svg>',
    left: '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
    right: '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path d="M9 5l7 7-7 7" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
    clock: '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2"/><path d="M12 7v5l3 2" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>',
    pin: '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M12 22s7-7.1 7-12a7 7 0 0 0-14 0c0 4.9 7 12 7 12z" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="12" cy="10" r="2.5" fill="currentColor"/></svg>',
    people: '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><circle cx="9" cy="8" r="3.5" fill="none" stroke="currentColor" stroke-width="2"/><path d="M2.5 20c.8-3.6 3.4-5.5 6.5-5.5s5.7 1.9 6.5 5.5M16 4.8a3.5 3.5 0 0 1 0 6.4M18.5 14.8c1.6.8 2.6 2.5 3 5.2" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>',
    bell: '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M6 17V11a6 6 0 0 1 12 0v6l1.5 2h-15zM10 21h4" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/></svg>',
    repeat: '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M4 11V9a3 3 0 0 1 3-3h11l-3-3M20 13v2a3 3 0 0 1-3 3H6l3 3" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
    text: '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M4 6h16M4 11h16M4 16h10" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>',
  };

  function header(s) {
    const pending = s.events.filter((e) => isInvite(s, e) && e.rsvp === "pending").length;
    return (
      '<header class="topbar">' +
      '<a class="brand" href="#/month" data-act="go-month" data-key="brand">' + ICONS.cal +
      "<span>Calendar</span></a>" +
      '<nav class="tabs" aria-label="Views">' +
      tab(s, "month", "Month", "view-month", "go-month") +
      tab(s, "agenda", "Agenda", "view-agenda", "go-agenda") +
      "</nav>" +
      '<div class="top-right">' +
      (pending ? '<span class="pending-pill" title="Invitations awaiting your reply">' + pending +
        " pending</span>" : "") +
      '<span class="avatar" title="' + esc(s.user.name + " <" + s.user.email + ">") + '">' +
      esc(initials(s.user.name)) + "</span></div></header>"
    );
  }

  function tab(s, view, label, key, act) {
    const on = s.view === view || (view === "month" && s.view === "day");
    return '<a href="#/' + view + '" class="tab' + (on ? " on" : "") + '" data-act="' + act +
      '" data-key="' + key + '"' + (on ? ' aria-current="page"' : "") + ">" + label + "</a>";
  }

  function notice(s) {
    if (!s.notice) return "";
    return '<div class="notice" role="status"><span>' + esc(s.notice) + "</span>" +
      '<button type="button" class="link" data-act="dismiss-notice" data-key="notice-dismiss">Dismiss</button></div>';
  }

  function chip(s, ev) {
    const cls = "chip" + (isInvite(s, ev) ? " invite" : "") + (ev.rsvp === "pending" ? " pending" : "") +
      (ev.rsvp === "no" ? " declined" : "") + (ev.series ? " series" : "");
    return '<button type="button" class="' + cls + '" data-act="open-event" data-arg="' + esc(ev.id) +
      '" data-key="event-' + esc(ev.id) + '-open" title="' + esc(ev.title) + '" aria-label="' +
      esc(ev.title + ", " + timeLabel(ev.start) + (ev.rsvp === "pending" ? " (invitation, not answered)" : "")) + '">' +
      '<span class="chip-time">' + shortTime(ev.start) + "</span> " + esc(ev.title) + "</button>";
  }

  function monthView(s) {
    const p = s.month.split("-").map(Number);
    const first = isoOf(p[0], p[1], 1);
    const start = addDays(first, -weekday(first));
    let cells = "";
    for (let i = 0; i < 42; i++) {
      const iso = addDays(start, i);
      const inMonth = iso.slice(0, 7) === s.month;
      const evs = eventsOn(s, iso);
      const shown = evs.length <= 3 ? evs : evs.slice(0, 2);
      const pd = parts(iso);
      cells +=
        '<div class="cell' + (inMonth ? "" : " out") + (iso === s.today ? " today" : "") +
        (i % 7 === 0 || i % 7 === 6 ? " weekend" : "") + '">' +
        '<button type="button" class="daynum" data-act="open-day" data-arg="' + iso +
        '" data-key="day-' + iso + '" aria-label="' + esc(longDate(iso)) + '">' +
        (pd.d === 1 ? MONTHS[pd.m - 1].slice(0, 3) + " " : "") + pd.d + "</button>" +
        shown.map((ev) => chip(s, ev)).join("") +
        (evs.length > shown.length ? '<button type="button" class="more" data-act="open-day" data-arg="' +
          iso + '" data-key="more-' + iso + '">+' + (evs.length - shown.length) + " more</button>" : "") +
        "</div>";
    }
    const heads = WEEKDAYS.map((w) => '<div class="wd">' + w.slice(0, 3) + "</div>").join("");
    return (
      '<div class="toolbar">' +
      '<button type="button" class="btn" data-act="today" data-key="today">Today</button>' +
      '<div class="pager"><button type="button" class="icon-btn" data-act="month-prev" data-key="month-prev" aria-label="Previous month">' +
      ICONS.left + '</button><button type="button" class="icon-btn" data-act="month-next" data-key="month-next" aria-label="Next month">' +
      ICONS.right + "</button></div>" +
      '<h1 class="title" data-key="month-label">' + monthLabel(s.month) + "</h1>" +
      '<button type="button" class="btn primary" data-act="new-event" data-key="new-event">+ New event</button>' +
      "</div>" + notice(s) +
      '<div class="month" role="grid" aria-label="' + monthLabel(s.month) + '">' + heads + cells + "</div>"
    );
  }

  function eventRow(s, ev, withDate) {
    const guests = ev.attendees.length;
    return (
      '<li><a href="#/event" class="row' + (isInvite(s, ev) ? " invite" : "") +
      (ev.rsvp === "pending" ? " pending" : "") + '" data-act="open-event" data-arg="' + esc(ev.id) +
      '" data-key="event-' + esc(ev.id) + '-open">' +
      '<span class="row-time">' + (withDate ? '<b>' + esc(longDate(ev.date).replace(/, \d{4}$/, "")) + "</b>" : "") +
      timeLabel(ev.start) + " – " + timeLabel(ev.end) + "</span>" +
      '<span class="row-main"><span class="row-title">' + esc(ev.title) + "</span>" +
      '<span class="row-sub">' + esc(ev.location || "No location") +
      (guests ? " · " + guests + (guests === 1 ? " guest" : " guests") : "") +
      (isInvite(s, ev) ? " · " + esc(RSVP_LABEL[ev.rsvp] || "") : "") + "</span></span></a></li>"
    );
  }

  function dayView(s) {
    const evs = eventsOn(s, s.day);
    return (
      '<div class="toolbar">' +
      '<a href="#/month" class="btn" data-act="go-month" data-key="back-month">Month</a>' +
      '<div class="pager"><button type="button" class="icon-btn" data-act="day-prev" data-key="day-prev" aria-label="Previous day">' +
      ICONS.left + '</button><button type="button" class="icon-btn" data-act="day-next" data-key="day-next" aria-label="Next day">' +
      ICONS.right + "</button></div>" +
      '<h1 class="title" data-key="day-label">' + esc(longDate(s.day)) + "</h1>" +
      '<button type="button" class="btn primary" data-act="new-event" data-key="new-event">+ New event</button>' +
      "</div>" + notice(s) +
      '<section class="card list-card">' +
      (evs.length ? '<ul class="rows">' + evs.map((ev) => eventRow(s, ev, false)).join("") + "</ul>"
        : '<p class="empty">No events on this day.</p>') +
      "</section>"
    );
  }

  function agendaView(s) {
    const end = addDays(s.today, 45);
    const evs = s.events
      .filter((e) => e.date >= s.today && e.date <= end)
      .sort((a, b) => (a.date + a.start < b.date + b.start ? -1 : a.date + a.start > b.date + b.start ? 1 : 0));
    return (
      '<div class="toolbar"><h1 class="title">Upcoming</h1><span class="muted">Next 45 days from ' +
      esc(longDate(s.today)) + "</span>" +
      '<button type="button" class="btn primary" data-act="new-event" data-key="new-event">+ New event</button></div>' +
      notice(s) + '<section class="card list-card">' +
      (evs.length ? '<ul class="rows">' + evs.map((ev) => eventRow(s, ev, true)).join("") + "</ul>"
        : '<p class="empty">Nothing scheduled.</p>') +
      "</section>"
    );
  }

  function eventView(s) {
    const ev = findEvent(s, s.eventId);
    if (!ev) return '<p class="empty">This event no longer exists.</p>';
    const invite = isInvite(s, ev);
    const org = person(s, ev.organizer);
    const guests = ev.attendees.map((a) => {
      const who = person(s, a);
      return '<li class="guest"><span class="avatar sm">' + esc(initials(who.name)) + "</span><span>" +
        esc(who.name) + '<small class="muted"> ' + esc(who.email) + "</small></span></li>";
    });
    const reminder = REMINDERS.find((r) => r[0] === ev.reminder);
    let rsvp = "";
    if (invite) {
      rsvp = '<div class="rsvp" role="group" aria-label="Going?"><span>Going?</span>' +
        [["yes", "Yes"], ["no", "No"], ["maybe", "Maybe"]].map((r) =>
          '<button type="button" class="btn' + (ev.rsvp === r[0] ? " chosen" : "") + '" data-act="rsvp" data-arg="' +
          r[0] + '" data-key="rsvp-' + r[0] + '" aria-pressed="' + (ev.rsvp === r[0]) + '">' + r[1] + "</button>"
        ).join("") + "</div>";
    }
    let dialog = "";
    if (s.confirm === "delete") {
      dialog = '<div class="scrim"><div class="dialog" role="dialog" aria-modal="true" aria-labelledby="dlg-title">' +
        '<h2 id="dlg-title">' + (ev.series ? "Delete recurring event" : "Delete event?") + "</h2>" +
        "<p>" + (ev.series ? "“" + esc(ev.title) + "” repeats every week. What do you want to delete?"
          : "“" + esc(ev.title) + "” on " + esc(longDate(ev.date)) + " will be removed.") + "</p>" +
        '<div class="dialog-actions">' +
        '<button type="button" class="btn" data-act="cancel-delete" data-key="cancel-delete">Cancel</button>' +
        (ev.series ? '<button type="button" class="btn danger-outline" data-act="confirm-delete-series" data-key="confirm-delete-series">All events</button>' : "") +
        '<button type="button" class="btn danger" data-act="confirm-delete" data-key="confirm-delete">' +
        (ev.series ? "This event" : "Delete") + "</button></div></div></div>";
    }
    return (
      '<div class="toolbar">' +
      '<a href="#/back" class="btn" data-act="back" data-key="event-back">' + ICONS.left + " Back</a>" +
      '<span class="spacer"></span>' +
      (invite ? "" : '<button type="button" class="btn" data-act="edit" data-key="event-edit">Edit</button>') +
      '<button type="button" class="btn" data-act="ask-delete" data-key="event-delete">Delete</button>' +
      "</div>" + notice(s) +
      '<article class="card detail">' +
      '<h1 class="ev-title"><span class="swatch' + (invite ? " invite" : ev.series ? " series" : "") + '"></span>' + esc(ev.title) + "</h1>" +
      '<p class="line">' + ICONS.clock + "<span>" + esc(longDate(ev.date)) + " · " + timeLabel(ev.start) +
      " – " + timeLabel(ev.end) + "</span></p>" +
      (ev.series ? '<p class="line">' + ICONS.repeat + "<span>Weekly on " + WEEKDAYS[weekday(ev.date)] + "</span></p>" : "") +
      '<p class="line">' + ICONS.pin + "<span>" + esc(ev.location || "No location") + "</span></p>" +
      '<div class="line top">' + ICONS.people + "<div><span>" + ev.attendees.length +
      (ev.attendees.length === 1 ? " guest" : " guests") + " · organised by " + esc(org.name) + "</span>" +
      (guests.length ? '<ul class="guests">' + guests.join("") + "</ul>" : "") + "</div></div>" +
      '<p class="line">' + ICONS.bell + "<span>" + esc(reminder ? reminder[1] : "No reminder") + "</span></p>" +
      (ev.description ? '<p class="line top">' + ICONS.text + "<span>" + esc(ev.description) + "</span></p>" : "") +
      rsvp + "</article>" + dialog
    );
  }

  function timeSelect(key, bind, value, label) {
    return '<select id="' + key + '" data-key="' + key + '" data-bind="' + bind + '" aria-label="' + label + '">' +
      SLOTS.map((t) => '<option value="' + t + '"' + (t === value ? " selected" : "") + ">" + timeLabel(t) + "</option>").join("") +
      "</select>";
  }

  function formView(s) {
    const d = s.draft;
    const e = s.errors || {};
    const err = (k) => (e[k] ? '<p class="error" role="alert">' + esc(e[k]) + "</p>" : "");
    const guests = d.attendees.map((a) => {
      const who = person(s, a);
      return '<li class="guest-chip"><span>' + esc(who.name) + '</span><button type="button" class="x" data-act="remove-guest" data-arg="' +
        esc(a) + '" data-key="guest-' + slug(a) + '-remove" aria-label="Remove ' + esc(who.name) + '">×</button></li>';
    });
    return (
      '<div class="toolbar"><h1 class="title">' + (d.id ? "Edit event" : "New event") + "</h1></div>" +
      '<form class="card form" data-submit="save" novalidate>' +
      '<div class="field"><label for="event-title">Title</label>' +
      '<input id="event-title" type="text" data-key="event-title" data-bind="draft.title" placeholder="Add title" value="' +
      esc(d.title) + '" autocomplete="off">' + err("title") + "</div>" +
      '<div class="row2"><div class="field"><label for="event-date">Date</label>' +
      '<input id="event-date" type="text" data-key="event-date" data-bind="draft.date" placeholder="YYYY-MM-DD" value="' +
      esc(d.date) + '" autocomplete="off">' + err("date") + "</div>" +
      '<div class="field"><label for="event-start">Starts</label>' + timeSelect("event-start", "draft.start", d.start, "Start time") + "</div>" +
      '<div class="field"><label for="event-end">Ends</label>' + timeSelect("event-end", "draft.end", d.end, "End time") + "</div></div>" +
      err("time") +
      '<div class="field"><label for="event-location">Location</label>' +
      '<input id="event-location" type="text" data-key="event-location" data-bind="draft.location" placeholder="Add location" value="' +
      esc(d.location) + '" autocomplete="off"></div>' +
      '<div class="field"><label for="guest-input">Guests</label>' +
      (guests.length ? '<ul class="guest-chips">' + guests.join("") + "</ul>" : "") +
      '<div class="inline"><input id="guest-input" type="text" data-key="guest-input" data-bind="draft.guestText" placeholder="Add guests by name or e-mail" value="' +
      esc(d.guestText) + '" autocomplete="off">' +
      '<button type="button" class="btn" data-act="add-guest" data-key="guest-add">Add</button></div>' + err("guest") + "</div>" +
      '<div class="field"><label for="event-reminder">Reminder</label>' +
      '<select id="event-reminder" data-key="event-reminder" data-bind="draft.reminder" data-num="1">' +
      REMINDERS.map((r) => '<option value="' + (r[0] === null ? "" : r[0]) + '"' + (r[0] === d.reminder ? " selected" : "") + ">" + r[1] + "</option>").join("") +
      "</select></div>" +
      '<div class="field"><label for="event-description">Description</label>' +
      '<textarea id="event-description" rows="2" data-key="event-description" data-bind="draft.description" placeholder="Add description">' +
      esc(d.description) + "</textarea></div>" +
      '<div class="form-actions"><button type="button" class="btn" data-act="cancel-edit" data-key="cancel-event">Cancel</button>' +
      '<button type="submit" class="btn primary" data-key="save-event">Save</button></div>' +
      "</form>"
    );
  }

  const VIEWS = { month: monthView, day: dayView, agenda: agendaView, event: eventView, new: formView, edit: formView };

  function render(s, root) {
    root.innerHTML = header(s) + '<main class="main view-' + s.view + '">' + VIEWS[s.view](s) + "</main>";
    bind(root);
    // A new view starts at the top, as a router would (SIM.restore sets the scroll afterwards).
    if (root.dataset.view !== s.view) {
      root.dataset.view = s.view;
      window.scrollTo(0, 0);
    }
  }

  // ------------------------------------------------------------------ events

  function act(name, arg) {
    window.SIM.update((s) => {
      if (name !== "dismiss-notice") s.notice = "";
      ACTIONS[name](s, arg);
    });
  }

  function bind(root) {
    if (root.dataset.bound) return;
    root.dataset.bound = "1";
    root.addEventListener("click", (ev) => {
      const el = ev.target.closest("[data-act]");
      if (!el || !root.contains(el)) return;
      ev.preventDefault();
      act(el.getAttribute("data-act"), el.getAttribute("data-arg"));
    });
    root.addEventListener("input", (ev) => {
      const el = ev.target;
      if (el.tagName === "SELECT" || !el.hasAttribute("data-bind")) return;
      window.SIM.set((s) => setPath(s, el.getAttribute("data-bind"), el.value));
    });
    root.addEventListener("change", (ev) => {
      const el = ev.target;
      if (el.tagName !== "SELECT" || !el.hasAttribute("data-bind")) return;
      const path = el.getAttribute("data-bind");
      let value = el.value;
      if (el.hasAttribute("data-num")) value = value === "" ? null : Number(value);
      window.SIM.update((s) => {
        s.notice = "";
        setPath(s, path, value);
        // Keep the event's length when the start moves past the end, as calendars do.
        if (path === "draft.start" && s.draft.end <= value) {
          s.draft.end = SLOTS[Math.min(SLOTS.indexOf(value) + 2, SLOTS.length - 1)];
        }
      });
    });
    root.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && ev.target.getAttribute("data-key") === "guest-input") {
        ev.preventDefault();
        act("add-guest");
      }
    });
    root.addEventListener("submit", (ev) => {
      ev.preventDefault();
      window.SIM.update((s) => {
        s.notice = "";
        saveEvent(s);
      });
    });
  }

  window.SIM.define({
    init(data) {
      return {
        view: "month",
        today: data.today,
        month: data.today.slice(0, 7),
        day: data.today,
        user: data.user,
        people: data.people,
        events: data.events,
        eventId: null,
        returnView: "month",
        draft: null,
        errors: {},
        confirm: null,
        notice: "",
        nextId: 1,
      };
    },
    render: render,
  });
})();
