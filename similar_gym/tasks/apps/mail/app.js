/*
 * Postbox: the webmail app of Similar-Gym.
 *
 * Views (state.view): list (a folder, "starred" or search results), message, compose.
 * Python sends the user, the mails and "now" in data (see mail.py); everything the user changes
 * (folders of mails, stars, drafts, sent mail, selection, the compose form) lives in SIM.state.
 * Handlers are bound once on #app by delegation:
 *   data-act="name"     click on a button or link     -> ACTIONS[name]
 *   data-change="name"  change of a select/checkbox   -> CHANGES[name]
 *   data-submit="name"  submit of a form (Enter)       -> ACTIONS[name]
 *   data-bind="a.b"     typing into a text field       -> SIM.set(state.a.b = value)
 */
(function () {
  "use strict";

  const esc = SIM.esc;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const SYSTEM = [
    ["inbox", "Inbox"],
    ["starred", "Starred"],
    ["sent", "Sent"],
    ["drafts", "Drafts"],
    ["archive", "Archive"],
    ["trash", "Trash"],
  ];
  const ICONS = {
    inbox: '<path d="M3 11 L6 4 H14 L17 11 V16 H3 Z M3 11 H7 L8 13 H12 L13 11 H17"/>',
    starred: '<path d="M10 3 L12.2 7.6 L17 8.2 L13.5 11.5 L14.4 16.4 L10 14 L5.6 16.4 L6.5 11.5 L3 8.2 L7.8 7.6 Z"/>',
    sent: '<path d="M3 10 L17 4 L12 17 L10 11 Z M10 11 L17 4"/>',
    drafts: '<path d="M5 3 H12 L15 6 V17 H5 Z M12 3 V6 H15"/>',
    archive: '<path d="M3 4 H17 V7 H3 Z M4 7 V16 H16 V7 M8 10 H12"/>',
    trash: '<path d="M4 6 H16 M8 6 V4 H12 V6 M6 6 L7 17 H13 L14 6"/>',
    folder: '<path d="M3 5 H8 L10 7 H17 V16 H3 Z"/>',
  };

  /* ---------------------------------------------------------------- helpers */

  function D() {
    return SIM.data;
  }

  function icon(name) {
    return '<svg class="ico" viewBox="0 0 20 20" aria-hidden="true">' + ICONS[name] + "</svg>";
  }

  function mailById(s, id) {
    return s.mails.find((m) => m.id === id);
  }

  function folderName(id) {
    const sys = SYSTEM.find((f) => f[0] === id);
    if (sys) return sys[1];
    const own = D().folders.find((f) => f.id === id);
    return own ? own.name : id;
  }

  function shortDate(iso) {
    const [day, time] = iso.split("T");
    if (day === D().today) return time;
    const [, m, d] = day.split("-").map(Number);
    return MONTHS[m - 1] + " " + d;
  }

  function longDate(iso) {
    const [day, time] = iso.split("T");
    const [y, m, d] = day.split("-").map(Number);
    return MONTHS[m - 1] + " " + d + ", " + y + ", " + time;
  }

  function person(p) {
    return p.name ? esc(p.name) + ' <span class="addr">&lt;' + esc(p.email) + "&gt;</span>" : esc(p.email);
  }

  function people(list) {
    return list.map(person).join(", ");
  }

  function shortName(p) {
    return esc(p.name || p.email);
  }

  function snippet(body) {
    return body.replace(/\s+/g, " ").slice(0, 90);
  }

  function listed(s) {
    let list;
    if (s.folder === "search") {
      const tokens = s.search.toLowerCase().split(/\s+/).filter(Boolean);
      list = s.mails.filter((m) => {
        if (m.folder === "trash") return false;
        const hay = [
          m.from.name,
          m.from.email,
          m.to.map((p) => p.name + " " + p.email).join(" "),
          m.subject,
          m.body,
        ]
          .join(" ")
          .toLowerCase();
        return tokens.every((t) => hay.includes(t));
      });
    } else if (s.folder === "starred") {
      list = s.mails.filter((m) => m.starred && m.folder !== "trash");
    } else {
      list = s.mails.filter((m) => m.folder === s.folder);
    }
    return list.slice().sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : Number(b.id.slice(1)) - Number(a.id.slice(1))));
  }

  function knownName(s, email) {
    for (const m of s.mails) {
      for (const p of [m.from, ...m.to, ...m.cc]) if (p.email.toLowerCase() === email) return p.name;
    }
    return "";
  }

  function parseRecipients(s, text) {
    const parts = text.split(/[,;]/).map((x) => x.trim()).filter(Boolean);
    const out = [];
    for (const part of parts) {
      const m = part.match(/<([^>]+)>/);
      const email = (m ? m[1] : part).trim().toLowerCase();
      if (!/^[^@\s<>]+@[^@\s<>]+\.[a-z]{2,}$/.test(email)) return { error: 'The address "' + part + '" is not valid.' };
      out.push({ name: knownName(s, email), email: email });
    }
    return { list: out };
  }

  function addressText(list) {
    return list.map((p) => p.email).join(", ");
  }

  /* ---------------------------------------------------------------- state changes */

  function go(s, view) {
    s.view = view;
    s.toast = "";
    s.undo = null;
  }

  function moveMails(s, ids, folder, verb) {
    const undo = {};
    let purged = false;
    for (const id of ids) {
      const m = mailById(s, id);
      if (m.folder === "trash" && folder === "trash") {
        s.mails = s.mails.filter((x) => x.id !== id);
        purged = true;
      } else {
        undo[id] = m.folder;
        m.folder = folder;
      }
    }
    s.selected = [];
    go(s, "list");
    const n = ids.length;
    s.toast = (n === 1 ? "Conversation " : n + " conversations ") + (purged ? "deleted forever" : verb) + ".";
    s.undo = purged ? null : undo;
  }

  function startCompose(s, mode, ref) {
    const m = ref ? mailById(s, ref) : null;
    const c = { mode: mode, to: "", cc: "", subject: "", body: "", ref: ref || null, draftId: null };
    if (mode === "reply" || mode === "replyAll") {
      c.to = m.from.email;
      c.subject = /^re:/i.test(m.subject) ? m.subject : "Re: " + m.subject;
      if (mode === "replyAll") {
        const me = D().me.email;
        const others = m.to.filter((p) => p.email !== me && p.email !== m.from.email);
        c.to = addressText([m.from, ...others]);
        c.cc = addressText(m.cc.filter((p) => p.email !== me));
      }
    } else if (mode === "forward") {
      c.subject = /^fwd:/i.test(m.subject) ? m.subject : "Fwd: " + m.subject;
    }
    s.compose = c;
    s.composeError = "";
    go(s, "compose");
  }

  function composeToMail(s, folder, to, cc) {
    const c = s.compose;
    return {
      id: c.draftId || "m" + s.nextId++,
      folder: folder,
      from: D().me,
      to: to,
      cc: cc,
      subject: c.subject.trim(),
      body: c.body,
      date: D().now,
      read: true,
      starred: false,
      replyTo: c.mode === "reply" || c.mode === "replyAll" ? c.ref : null,
      forwardOf: c.mode === "forward" ? c.ref : null,
      mode: c.mode,
    };
  }

  const ACTIONS = {
    folder(s, ds) {
      s.folder = ds.folder;
      s.selected = [];
      s.search = "";
      s.searchDraft = "";
      go(s, "list");
    },
    search(s) {
      s.search = s.searchDraft.trim();
      s.folder = s.search ? "search" : "inbox";
      s.selected = [];
      go(s, "list");
    },
    clearSearch(s) {
      s.search = "";
      s.searchDraft = "";
      s.folder = "inbox";
      go(s, "list");
    },
    open(s, ds) {
      const m = mailById(s, ds.id);
      if (m.folder === "drafts") {
        s.compose = {
          mode: m.mode || "new",
          to: addressText(m.to),
          cc: addressText(m.cc),
          subject: m.subject,
          body: m.body,
          ref: m.replyTo || m.forwardOf || null,
          draftId: m.id,
        };
        s.composeError = "";
        go(s, "compose");
        return;
      }
      m.read = true;
      s.openId = m.id;
      go(s, "message");
    },
    star(s, ds) {
      const m = mailById(s, ds.id);
      m.starred = !m.starred;
    },
    bulkArchive(s) {
      if (s.selected.length) moveMails(s, s.selected.slice(), "archive", "archived");
    },
    bulkDelete(s) {
      if (s.selected.length) moveMails(s, s.selected.slice(), "trash", "moved to Trash");
    },
    bulkRead(s) {
      for (const id of s.selected) mailById(s, id).read = true;
      s.selected = [];
    },
    undo(s) {
      for (const [id, folder] of Object.entries(s.undo || {})) {
        const m = mailById(s, id);
        if (m) m.folder = folder;
      }
      s.undo = null;
      s.toast = "Action undone.";
    },
    back(s) {
      go(s, "list");
    },
    msgArchive(s) {
      moveMails(s, [s.openId], "archive", "archived");
    },
    msgDelete(s) {
      moveMails(s, [s.openId], "trash", "moved to Trash");
    },
    msgUnread(s) {
      mailById(s, s.openId).read = false;
      go(s, "list");
    },
    msgStar(s) {
      const m = mailById(s, s.openId);
      m.starred = !m.starred;
    },
    compose(s) {
      startCompose(s, "new", null);
    },
    reply(s) {
      startCompose(s, "reply", s.openId);
    },
    replyAll(s) {
      startCompose(s, "replyAll", s.openId);
    },
    forward(s) {
      startCompose(s, "forward", s.openId);
    },
    send(s) {
      const to = parseRecipients(s, s.compose.to);
      const cc = parseRecipients(s, s.compose.cc);
      if (to.error || cc.error) {
        s.composeError = to.error || cc.error;
        return;
      }
      if (!to.list.length) {
        s.composeError = "Please specify at least one recipient.";
        return;
      }
      const mail = composeToMail(s, "sent", to.list, cc.list);
      s.mails = s.mails.filter((m) => m.id !== mail.id);
      s.mails.push(mail);
      s.compose = null;
      go(s, "list");
      s.toast = "Message sent.";
    },
    saveDraft(s) {
      const split = (text) =>
        text
          .split(/[,;]/)
          .map((x) => x.trim())
          .filter(Boolean)
          .map((e) => ({ name: knownName(s, e.toLowerCase()), email: e }));
      const mail = composeToMail(s, "drafts", split(s.compose.to), split(s.compose.cc));
      s.mails = s.mails.filter((m) => m.id !== mail.id);
      s.mails.push(mail);
      s.compose = null;
      go(s, "list");
      s.toast = "Draft saved.";
    },
    discard(s) {
      s.compose = null;
      go(s, "list");
      s.toast = "Draft discarded.";
    },
  };

  const CHANGES = {
    select(s, ds, el) {
      const i = s.selected.indexOf(ds.id);
      if (el.checked && i < 0) s.selected.push(ds.id);
      if (!el.checked && i >= 0) s.selected.splice(i, 1);
    },
    selectAll(s, ds, el) {
      s.selected = el.checked ? listed(s).map((m) => m.id) : [];
    },
    bulkMove(s, ds, el) {
      if (el.value && s.selected.length) moveMails(s, s.selected.slice(), el.value, "moved to " + folderName(el.value));
    },
    msgMove(s, ds, el) {
      if (el.value) moveMails(s, [s.openId], el.value, "moved to " + folderName(el.value));
    },
  };

  /* ---------------------------------------------------------------- views */

  function header(s) {
    const me = D().me;
    return (
      '<header class="mbar">' +
      '<a href="#/list" class="brand" data-key="logo" data-act="folder" data-folder="inbox">' +
      '<svg viewBox="0 0 24 18" aria-hidden="true"><rect x="1" y="1" width="22" height="16" rx="2"/><path d="M2 2 L12 10 L22 2"/></svg>' +
      esc(D().appName) + "</a>" +
      '<form class="msearch" data-submit="search" role="search">' +
      '<input type="text" id="search-input" data-key="search-input" data-bind="searchDraft" autocomplete="off"' +
      ' placeholder="Search mail" aria-label="Search mail" value="' + esc(s.searchDraft) + '">' +
      '<button type="submit" data-key="search-submit" aria-label="Search">' +
      '<svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="8" cy="8" r="5.5"/><path d="M12 12 L17 17"/></svg></button>' +
      "</form>" +
      '<span class="avatar" title="' + esc(me.name + " <" + me.email + ">") + '">' + esc(me.name.charAt(0)) + "</span>" +
      "</header>"
    );
  }

  function sidebar(s) {
    const unread = (f) => s.mails.filter((m) => m.folder === f && !m.read).length;
    const link = (id, name, ico, count) =>
      '<a href="#/list" class="fl' + (s.folder === id && s.view === "list" ? " on" : "") + '" data-key="folder-' + id +
      '" data-act="folder" data-folder="' + id + '">' + icon(ico) + "<span>" + esc(name) + "</span>" +
      (count ? '<b class="count">' + count + "</b>" : "") + "</a>";
    let html =
      '<nav class="side" aria-label="Folders"><button type="button" class="compose-btn" data-key="compose" data-act="compose">' +
      '<svg viewBox="0 0 20 20" aria-hidden="true"><path d="M4 16 L5 12 L13 4 L16 7 L8 15 Z"/></svg>Compose</button>';
    for (const [id, name] of SYSTEM) {
      const count = id === "inbox" ? unread("inbox") : id === "drafts" ? s.mails.filter((m) => m.folder === "drafts").length : 0;
      html += link(id, name, id, count);
    }
    html += '<div class="side-h">Folders</div>';
    for (const f of D().folders) html += link(f.id, f.name, "folder", unread(f.id));
    return html + "</nav>";
  }

  function toast(s) {
    if (!s.toast) return "";
    return (
      '<div class="toast" role="status" data-key="toast">' + esc(s.toast) +
      (s.undo ? ' <button type="button" class="linkbtn" data-key="toast-undo" data-act="undo">Undo</button>' : "") + "</div>"
    );
  }

  function moveSelect(key, change, exclude, label) {
    const targets = [["inbox", "Inbox"], ["archive", "Archive"], ...D().folders.map((f) => [f.id, f.name])];
    return (
      '<select id="' + key + '" data-key="' + key + '" data-change="' + change + '" aria-label="' + label + '">' +
      '<option value="">Move to&hellip;</option>' +
      targets
        .filter((t) => t[0] !== exclude)
        .map((t) => '<option value="' + t[0] + '">' + esc(t[1]) + "</option>")
        .join("") +
      "</select>"
    );
  }

  function viewList(s) {
    const list = listed(s);
    const sel = s.selected.filter((id) => list.some((m) => m.id === id));
    const none = sel.length === 0;
    const allOn = list.length > 0 && sel.length === list.length;
    const head =
      s.folder === "search"
        ? '<div class="lhead">Results for <b>"' + esc(s.search) + '"</b> in all folders &middot; ' +
          '<button type="button" class="linkbtn" data-key="search-clear" data-act="clearSearch">Clear search</button></div>'
        : "";
    const tools =
      '<div class="tools"><input type="checkbox" id="list-select-all" data-key="list-select-all" data-change="selectAll" aria-label="Select all"' +
      (allOn ? " checked" : "") + ">" +
      '<button type="button" class="tb" data-key="bulk-archive" data-act="bulkArchive"' + (none ? " disabled" : "") + ">" + icon("archive") + "Archive</button>" +
      '<button type="button" class="tb" data-key="bulk-delete" data-act="bulkDelete"' + (none ? " disabled" : "") + ">" + icon("trash") + "Delete</button>" +
      '<button type="button" class="tb" data-key="bulk-read" data-act="bulkRead"' + (none ? " disabled" : "") + ">Mark as read</button>" +
      (none ? "" : moveSelect("bulk-move", "bulkMove", s.folder, "Move selected to")) +
      (head ? "" : '<span class="ltitle"><b>' + esc(folderName(s.folder)) + "</b></span>") + "</div>";
    const outgoing = s.folder === "sent" || s.folder === "drafts";
    const rows = list
      .map((m) => {
        const who = outgoing || m.from.email === D().me.email
          ? "To: " + (m.to.length ? m.to.map(shortName).join(", ") : "(no recipient)")
          : shortName(m.from);
        const on = sel.includes(m.id);
        const chip = s.folder === "search" || s.folder === "starred" ? '<span class="chip">' + esc(folderName(m.folder)) + "</span>" : "";
        return (
          '<div class="mrow' + (m.read ? "" : " unread") + (on ? " sel" : "") + '">' +
          '<input type="checkbox" id="mail-' + m.id + '-select" data-key="mail-' + m.id + '-select" data-change="select" data-id="' + m.id + '"' +
          ' aria-label="Select message from ' + esc(m.from.name || m.from.email) + ": " + esc(m.subject) + '"' + (on ? " checked" : "") + ">" +
          '<button type="button" class="star' + (m.starred ? " on" : "") + '" data-key="mail-' + m.id + '-star" data-act="star" data-id="' + m.id + '"' +
          ' aria-label="' + (m.starred ? "Unstar: " : "Star: ") + esc(m.subject || "(no subject)") + '" aria-pressed="' + (m.starred ? "true" : "false") + '">' +
          (m.starred ? "&#9733;" : "&#9734;") + "</button>" +
          '<a href="#/message" class="mlink" data-key="mail-' + m.id + '-open" data-act="open" data-id="' + m.id + '">' +
          '<span class="from">' + (m.folder === "drafts" ? '<i class="draft">Draft</i> ' : "") + who + "</span>" +
          '<span class="subj">' + chip + "<b>" + esc(m.subject || "(no subject)") + '</b><span class="snip"> &ndash; ' + esc(snippet(m.body)) + "</span></span>" +
          '<span class="date">' + shortDate(m.date) + "</span></a></div>"
        );
      })
      .join("");
    const empty =
      s.folder === "search" ? "No messages matched your search." : "There are no conversations in " + esc(folderName(s.folder)) + ".";
    return toast(s) + head + tools + '<div class="mlist">' + (rows || '<div class="empty">' + empty + "</div>") + "</div>";
  }

  function viewMessage(s) {
    const m = mailById(s, s.openId);
    const paras = esc(m.body).replace(/\n/g, "<br>");
    const ref = m.replyTo || m.forwardOf;
    const refMail = ref ? mailById(s, ref) : null;
    return (
      toast(s) +
      '<div class="tools">' +
      '<button type="button" class="tb" data-key="msg-back" data-act="back">&larr; Back</button>' +
      '<button type="button" class="tb" data-key="msg-archive" data-act="msgArchive"' + (m.folder === "archive" ? " disabled" : "") + ">" + icon("archive") + "Archive</button>" +
      '<button type="button" class="tb" data-key="msg-delete" data-act="msgDelete">' + icon("trash") + "Delete</button>" +
      '<button type="button" class="tb" data-key="msg-unread" data-act="msgUnread">Mark unread</button>' +
      moveSelect("msg-move", "msgMove", m.folder, "Move message to") +
      "</div>" +
      '<article class="msg"><div class="msg-h"><h1>' + esc(m.subject || "(no subject)") + '</h1><span class="chip">' + esc(folderName(m.folder)) + "</span>" +
      '<button type="button" class="star big' + (m.starred ? " on" : "") + '" data-key="msg-star" data-act="msgStar" aria-label="' +
      (m.starred ? "Unstar" : "Star") + '" aria-pressed="' + (m.starred ? "true" : "false") + '">' + (m.starred ? "&#9733;" : "&#9734;") + "</button></div>" +
      '<div class="meta"><span class="avatar sm">' + esc((m.from.name || m.from.email).charAt(0)) + "</span><div>" +
      '<div class="mfrom">' + person(m.from) + "</div>" +
      '<div class="mto">to ' + people(m.to) + (m.cc.length ? "<br>cc " + people(m.cc) : "") + "</div></div>" +
      '<span class="mdate">' + longDate(m.date) + "</span></div>" +
      '<div class="body">' + paras + "</div>" +
      (refMail ? '<div class="refnote">' + (m.forwardOf ? "Forwarded" : "In reply to") + ": " + esc(refMail.subject) + "</div>" : "") +
      '<div class="actions">' +
      '<button type="button" class="btn" data-key="msg-reply" data-act="reply">&#8617; Reply</button>' +
      '<button type="button" class="btn" data-key="msg-reply-all" data-act="replyAll">&#8617; Reply all</button>' +
      '<button type="button" class="btn" data-key="msg-forward" data-act="forward">&#8618; Forward</button>' +
      "</div></article>"
    );
  }

  function viewCompose(s) {
    const c = s.compose;
    const ref = c.ref ? mailById(s, c.ref) : null;
    const title = { new: "New message", reply: "Reply", replyAll: "Reply all", forward: "Forward" }[c.mode];
    let quoted = "";
    if (ref && c.mode === "forward") {
      quoted =
        '<div class="quoted" data-key="compose-quoted">---------- Forwarded message ----------<br>From: ' + person(ref.from) +
        "<br>Date: " + longDate(ref.date) + "<br>Subject: " + esc(ref.subject) + "<br>To: " + people(ref.to) + "<br><br>" +
        esc(ref.body).replace(/\n/g, "<br>") + "</div>";
    } else if (ref) {
      quoted =
        '<div class="quoted" data-key="compose-quoted">On ' + longDate(ref.date) + ", " + person(ref.from) + " wrote:<blockquote>" +
        esc(ref.body).replace(/\n/g, "<br>") + "</blockquote></div>";
    }
    const row = (key, label, path, value, ph) =>
      '<div class="crow"><label for="' + key + '">' + label + "</label>" +
      '<input type="text" id="' + key + '" data-key="' + key + '" data-bind="' + path + '" autocomplete="off" placeholder="' + ph + '" value="' + esc(value) + '"></div>';
    return (
      '<section class="compose" aria-label="' + title + '"><div class="chead">' + title + "</div>" +
      row("compose-to", "To", "compose.to", c.to, "Recipients") +
      row("compose-cc", "Cc", "compose.cc", c.cc, "") +
      row("compose-subject", "Subject", "compose.subject", c.subject, "Subject") +
      '<textarea id="compose-body" data-key="compose-body" data-bind="compose.body" aria-label="Message body" placeholder="Write your message" rows="5">' +
      esc(c.body) + "</textarea>" +
      quoted +
      (s.composeError ? '<div class="error" role="alert" data-key="compose-error">' + esc(s.composeError) + "</div>" : "") +
      '<div class="cbar"><button type="button" class="btn primary" data-key="compose-send" data-act="send">Send</button>' +
      '<button type="button" class="btn" data-key="compose-save-draft" data-act="saveDraft">Save draft</button>' +
      '<button type="button" class="btn ghost" data-key="compose-discard" data-act="discard">' + icon("trash") + "Discard</button></div>" +
      "</section>"
    );
  }

  const VIEWS = { list: viewList, message: viewMessage, compose: viewCompose };

  /* ---------------------------------------------------------------- wiring */

  function run(fn, el) {
    if (!fn) return;
    const before = SIM.state.view + "/" + SIM.state.folder + "/" + SIM.state.openId;
    SIM.update((s) => fn(s, el.dataset, el));
    const s = SIM.state;
    if (s.view + "/" + s.folder + "/" + s.openId !== before) window.scrollTo(0, 0);
  }

  function bind(root) {
    SIM.delegate(root, { actions: ACTIONS, changes: CHANGES, run: run });
  }

  SIM.define({
    init(data) {
      return {
        view: "list",
        folder: "inbox",
        search: "",
        searchDraft: "",
        openId: null,
        selected: [],
        mails: data.mails,
        compose: null,
        composeError: "",
        nextId: data.mails.length + 1,
        toast: "",
        undo: null,
      };
    },

    render(state, root) {
      bind(root);
      root.innerHTML =
        header(state) +
        '<div class="shell">' + sidebar(state) +
        '<main class="main view-' + state.view + '">' + VIEWS[state.view](state) + "</main></div>";
    },
  });
})();
