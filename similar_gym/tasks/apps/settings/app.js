/*
 * Account settings: Profile, Security, Notifications, Privacy and Addresses sections.
 *
 * data (from similar_gym/tasks/settings.py):
 *   view           the section the page opens on
 *   profile        {name, username, email, phone, bio, language, timezone}
 *   password       the current password (checked by the change-password form)
 *   twofa          bool
 *   sessions       [{id, device, place, last, current}]
 *   notifications  {paused: bool, prefs: {"<channel>-<topic>": bool}}
 *   privacy        {visibility, messages, tagging, status, search, ads: bool, usage: bool}
 *   addresses      [{id, label, name, street, city, zip, country, phone, isDefault}]
 *   options        {languages: [label], timezones: [[value, label]], countries: [name]}
 *
 * Edits go to state.draft; only "Save changes" copies a section's draft into state.saved, which
 * is what the task checks read. Leaving a section or pressing Reset discards its draft.
 */
(function () {
  "use strict";

  const SECTIONS = [
    ["profile", "Profile", "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 8c.6-3.6 3.4-6 7-6s6.4 2.4 7 6"],
    ["security", "Security", "M12 3l7 3v5c0 4.5-3 8.3-7 10-4-1.7-7-5.5-7-10V6zm-3 9l2 2 4-4"],
    ["notifications", "Notifications", "M6 17V11a6 6 0 0 1 12 0v6l1.5 2h-15zM10 21h4"],
    ["privacy", "Privacy", "M6 11V8a6 6 0 0 1 12 0v3M5 11h14v10H5zm7 4v2"],
    ["addresses", "Addresses", "M12 22s7-7.1 7-12a7 7 0 0 0-14 0c0 4.9 7 12 7 12zm0-9.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z"],
  ];
  const TOPICS = [
    ["comments", "Comments on your posts"],
    ["mentions", "Mentions"],
    ["follows", "New followers"],
    ["messages", "Direct messages"],
    ["weekly", "Weekly digest"],
    ["product", "Product updates"],
    ["billing", "Billing reminders"],
    ["security", "Security alerts"],
  ];
  const CHANNELS = [["email", "Email", "e-mail"], ["push", "Push", "push notification"], ["sms", "SMS", "SMS"]];
  const LOCKED = { "email-security": true };
  const RADIOS = [
    ["visibility", "Who can see your profile", [["everyone", "Everyone"], ["contacts", "Contacts only"], ["private", "Only me"]]],
    ["messages", "Who can send you messages", [["everyone", "Everyone"], ["contacts", "Contacts only"], ["nobody", "No one"]]],
    ["tagging", "Who can tag you in photos", [["everyone", "Everyone"], ["contacts", "Contacts only"], ["nobody", "No one"]]],
    ["status", "Online status", [["show", "Show when I'm active"], ["hide", "Hide my activity"]]],
    ["search", "Search engines", [["allow", "Allow search engines to link to my profile"], ["block", "Don't allow"]]],
  ];
  const SWITCHES = [
    ["ads", "Personalised ads", "Use my activity to tailor the ads I see."],
    ["usage", "Share usage data", "Send anonymous usage statistics to improve the product."],
  ];

  function clone(x) {
    return JSON.parse(JSON.stringify(x));
  }

  function blankAddress() {
    return { label: "", name: "", street: "", city: "", zip: "", country: "", phone: "", isDefault: false };
  }

  /** Rebuilds every draft from the saved values (leaving a section discards its edits). */
  function resetDrafts(s) {
    s.draft = {
      profile: clone(s.saved.profile),
      pw: { current: "", next: "", confirm: "" },
      notifications: clone(s.saved.notifications),
      privacy: clone(s.saved.privacy),
      address: null,
    };
    s.editing = null;
    s.errors = {};
    s.confirm = null;
  }

  function setPath(s, path, value) {
    const keys = path.split(".");
    let o = s;
    for (let i = 0; i < keys.length - 1; i++) o = o[keys[i]];
    o[keys[keys.length - 1]] = value;
  }

  // ------------------------------------------------------------------ actions

  function saveProfile(s) {
    const p = s.draft.profile;
    const errors = {};
    ["name", "username", "email", "phone", "bio"].forEach((k) => (p[k] = String(p[k]).trim()));
    if (!p.name) errors.name = "Display name can't be empty.";
    else if (p.name.length > 50) errors.name = "Use 50 characters or fewer.";
    if (!/^[a-z0-9_.]{3,20}$/.test(p.username)) errors.username = "3-20 lowercase letters, digits, dots or underscores.";
    if (!/^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i.test(p.email)) errors.email = "Enter a valid e-mail address.";
    if (p.phone && !/^\+?[0-9 ()-]{6,20}$/.test(p.phone)) errors.phone = "Enter a valid phone number.";
    if (p.bio.length > 160) errors.bio = "Keep your bio under 160 characters.";
    s.errors = errors;
    if (Object.keys(errors).length) return;
    s.saved.profile = clone(p);
    s.notice = "Profile saved.";
  }

  function savePassword(s) {
    const pw = s.draft.pw;
    const errors = {};
    if (pw.current !== s.saved.password) errors.current = "Current password is incorrect.";
    if (pw.next.length < 8) errors.next = "Use at least 8 characters.";
    else if (!/[A-Za-z]/.test(pw.next) || !/[0-9]/.test(pw.next)) errors.next = "Include at least one letter and one number.";
    else if (pw.next === s.saved.password) errors.next = "Choose a password you haven't used before.";
    if (!errors.next && pw.confirm !== pw.next) errors.confirm = "Passwords don't match.";
    s.errors = errors;
    if (Object.keys(errors).length) return;
    s.saved.password = pw.next;
    s.draft.pw = { current: "", next: "", confirm: "" };
    s.notice = "Password updated.";
  }

  function saveAddress(s) {
    const a = s.draft.address;
    const errors = {};
    ["label", "name", "street", "city", "zip", "phone"].forEach((k) => (a[k] = String(a[k]).trim()));
    if (!a.label) errors.label = "Give this address a name.";
    if (!a.name) errors.name = "Enter the recipient's name.";
    if (!a.street) errors.street = "Enter a street address.";
    if (!a.city) errors.city = "Enter a city.";
    if (!a.zip) errors.zip = "Enter a postal code.";
    if (!a.country) errors.country = "Choose a country.";
    s.errors = errors;
    if (Object.keys(errors).length) return;
    const list = s.saved.addresses;
    let id = s.editing;
    if (id === "new") {
      id = "n" + s.nextAddr;
      s.nextAddr += 1;
      list.push(Object.assign({ id: id }, clone(a)));
    } else {
      Object.assign(list.find((x) => x.id === id), clone(a));
    }
    if (a.isDefault) list.forEach((x) => (x.isDefault = x.id === id));
    else if (!list.some((x) => x.isDefault)) list[0].isDefault = true;
    s.view = "addresses";
    s.editing = null;
    s.draft.address = null;
    s.notice = "Address saved.";
  }

  const ACTIONS = {
    nav: (s, arg) => {
      resetDrafts(s);
      s.view = arg;
    },
    "save-profile": saveProfile,
    "reset-profile": (s) => {
      s.draft.profile = clone(s.saved.profile);
      s.errors = {};
    },
    "save-password": savePassword,
    "cancel-password": (s) => {
      s.draft.pw = { current: "", next: "", confirm: "" };
      s.errors = {};
    },
    "toggle-twofa": (s) => {
      s.saved.twofa = !s.saved.twofa;
      s.notice = s.saved.twofa ? "Two-step verification is on." : "Two-step verification is off.";
    },
    "signout-session": (s, arg) => {
      s.saved.sessions = s.saved.sessions.filter((x) => x.id !== arg);
      s.notice = "Session signed out.";
    },
    "signout-all": (s) => {
      s.saved.sessions = s.saved.sessions.filter((x) => x.current);
      s.notice = "Signed out of all other sessions.";
    },
    "save-notifications": (s) => {
      s.saved.notifications = clone(s.draft.notifications);
      s.notice = "Notification preferences saved.";
    },
    "reset-notifications": (s) => {
      s.draft.notifications = clone(s.saved.notifications);
    },
    "save-privacy": (s) => {
      s.saved.privacy = clone(s.draft.privacy);
      s.notice = "Privacy settings saved.";
    },
    "reset-privacy": (s) => {
      s.draft.privacy = clone(s.saved.privacy);
    },
    "ask-delete-account": (s) => {
      s.confirm = { kind: "account" };
    },
    "confirm-delete-account": (s) => {
      s.saved.deleted = true;
      s.confirm = null;
      s.notice = "Your account is scheduled for deletion.";
    },
    "add-address": (s) => {
      resetDrafts(s);
      s.editing = "new";
      s.draft.address = blankAddress();
      s.view = "address-form";
    },
    "edit-address": (s, arg) => {
      resetDrafts(s);
      const a = clone(s.saved.addresses.find((x) => x.id === arg));
      delete a.id;
      s.editing = arg;
      s.draft.address = a;
      s.view = "address-form";
    },
    "save-address": saveAddress,
    "cancel-address": (s) => {
      resetDrafts(s);
      s.view = "addresses";
    },
    "default-address": (s, arg) => {
      s.saved.addresses.forEach((x) => (x.isDefault = x.id === arg));
      s.notice = "Default address updated.";
    },
    "ask-remove-address": (s, arg) => {
      s.confirm = { kind: "address", id: arg };
    },
    "confirm-remove-address": (s) => {
      const id = s.confirm.id;
      const list = s.saved.addresses.filter((x) => x.id !== id);
      if (list.length && !list.some((x) => x.isDefault)) list[0].isDefault = true;
      s.saved.addresses = list;
      s.confirm = null;
      s.notice = "Address removed.";
    },
    "cancel-dialog": (s) => {
      s.confirm = null;
    },
    "dismiss-notice": () => {},
  };

  // ------------------------------------------------------------------ views

  const esc = (x) => window.SIM.esc(x);

  function icon(d, size) {
    return '<svg viewBox="0 0 24 24" width="' + (size || 18) + '" height="' + (size || 18) +
      '" aria-hidden="true"><path d="' + d + '" fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round"/></svg>';
  }

  function initials(name) {
    return String(name).split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
  }

  function err(s, k) {
    return s.errors[k] ? '<p class="error" role="alert" id="err-' + k + '">' + esc(s.errors[k]) + "</p>" : "";
  }

  function textField(s, o) {
    const invalid = s.errors[o.err] ? ' aria-invalid="true"' : "";
    const input = o.multiline
      ? '<textarea id="' + o.key + '" data-key="' + o.key + '" data-bind="' + o.bind + '" rows="2" placeholder="' +
        esc(o.placeholder || "") + '"' + invalid + ">" + esc(o.value) + "</textarea>"
      : '<input id="' + o.key + '" type="' + (o.type || "text") + '" data-key="' + o.key + '" data-bind="' + o.bind +
        '" value="' + esc(o.value) + '" placeholder="' + esc(o.placeholder || "") + '" autocomplete="off"' + invalid + ">";
    return '<div class="field' + (o.cls ? " " + o.cls : "") + '"><label for="' + o.key + '">' + esc(o.label) + "</label>" +
      (o.prefix ? '<div class="prefixed"><span>' + o.prefix + "</span>" + input + "</div>" : input) +
      (o.hint ? '<p class="hint">' + esc(o.hint) + "</p>" : "") + err(s, o.err) + "</div>";
  }

  function selectField(s, o) {
    return '<div class="field' + (o.cls ? " " + o.cls : "") + '"><label for="' + o.key + '">' + esc(o.label) + "</label>" +
      '<select id="' + o.key + '" data-key="' + o.key + '" data-bind="' + o.bind + '">' +
      o.options.map((opt) => '<option value="' + esc(opt[0]) + '"' + (opt[0] === o.value ? " selected" : "") + ">" +
        esc(opt[1]) + "</option>").join("") + "</select>" + err(s, o.err) + "</div>";
  }

  function actions(reset, resetLabel, save, saveLabel) {
    return '<div class="actions"><button type="button" class="btn" data-act="' + reset + '" data-key="' + reset + '">' +
      resetLabel + '</button><button type="button" class="btn primary" data-act="' + save + '" data-key="' + save + '">' +
      saveLabel + "</button></div>";
  }

  function profileView(s) {
    const p = s.draft.profile;
    const o = s.options;
    return (
      '<h1>Profile</h1><p class="lead">This is how others see you across the workspace.</p>' +
      '<section class="card"><div class="who"><span class="avatar lg">' + esc(initials(s.saved.profile.name)) + "</span><div><b>" +
      esc(s.saved.profile.name) + '</b><span class="muted">@' + esc(s.saved.profile.username) + "</span></div></div>" +
      '<div class="grid2">' +
      textField(s, { key: "profile-name", bind: "draft.profile.name", label: "Display name", value: p.name, err: "name" }) +
      textField(s, { key: "profile-username", bind: "draft.profile.username", label: "Username", value: p.username, err: "username", prefix: "@" }) +
      textField(s, { key: "profile-email", bind: "draft.profile.email", label: "E-mail", value: p.email, err: "email", type: "email" }) +
      textField(s, { key: "profile-phone", bind: "draft.profile.phone", label: "Phone", value: p.phone, err: "phone", type: "tel", placeholder: "+1 555 0100" }) +
      "</div>" +
      textField(s, { key: "profile-bio", bind: "draft.profile.bio", label: "Bio", value: p.bio, err: "bio", multiline: true, placeholder: "Tell people a little about yourself" }) +
      '<div class="grid2">' +
      selectField(s, { key: "profile-language", bind: "draft.profile.language", label: "Language", value: p.language, options: o.languages.map((l) => [l, l]) }) +
      selectField(s, { key: "profile-timezone", bind: "draft.profile.timezone", label: "Time zone", value: p.timezone, options: o.timezones }) +
      "</div>" + actions("reset-profile", "Reset", "save-profile", "Save changes") + "</section>"
    );
  }

  function securityView(s) {
    const pw = s.draft.pw;
    const sessions = s.saved.sessions.map((x) =>
      '<li class="session"><span class="dev">' + icon("M4 5h16v10H4zM2 19h20", 20) + "</span><div><b>" + esc(x.device) + "</b>" +
      '<span class="muted">' + esc(x.place) + " · " + esc(x.current ? "This device" : x.last) + "</span></div>" +
      (x.current ? '<span class="badge">Current</span>'
        : '<button type="button" class="btn small" data-act="signout-session" data-arg="' + esc(x.id) + '" data-key="session-' +
          esc(x.id) + '-signout">Sign out</button>') + "</li>");
    return (
      '<h1>Security</h1><p class="lead">Keep your account safe.</p>' +
      '<section class="card"><h2>Change password</h2>' +
      textField(s, { key: "pw-current", bind: "draft.pw.current", label: "Current password", value: pw.current, err: "current", type: "password" }) +
      textField(s, { key: "pw-new", bind: "draft.pw.next", label: "New password", value: pw.next, err: "next", type: "password",
        hint: "At least 8 characters, with a letter and a number." }) +
      textField(s, { key: "pw-confirm", bind: "draft.pw.confirm", label: "Confirm new password", value: pw.confirm, err: "confirm", type: "password" }) +
      actions("cancel-password", "Cancel", "save-password", "Update password") + "</section>" +
      '<section class="card"><h2>Two-step verification</h2><label class="switch-row" for="twofa-toggle">' +
      '<span><b>Ask for a code when I sign in</b><span class="muted">Codes come from your authenticator app.</span></span>' +
      '<input type="checkbox" class="switch" id="twofa-toggle" data-key="twofa-toggle" data-act="toggle-twofa" aria-label="Two-step verification"' +
      (s.saved.twofa ? " checked" : "") + "></label></section>" +
      '<section class="card"><h2>Where you\'re signed in</h2><ul class="sessions">' + sessions.join("") + "</ul>" +
      (s.saved.sessions.length > 1 ? '<button type="button" class="btn" data-act="signout-all" data-key="signout-all">Sign out of all other sessions</button>' : "") +
      "</section>"
    );
  }

  function notificationsView(s) {
    const n = s.draft.notifications;
    const rows = TOPICS.map((t) =>
      "<tr><th scope=\"row\">" + esc(t[1]) + "</th>" + CHANNELS.map((c) => {
        const k = c[0] + "-" + t[0];
        const locked = LOCKED[k];
        return '<td><input type="checkbox" id="notif-' + k + '" data-key="notif-' + k + '" data-bind="draft.notifications.prefs.' + k +
          '" aria-label="' + esc(t[1] + " by " + c[2]) + '"' + (n.prefs[k] ? " checked" : "") +
          (locked ? " disabled" : "") + "></td>";
      }).join("") + "</tr>");
    return (
      '<h1>Notifications</h1><p class="lead">Choose what we tell you about, and where.</p>' +
      '<section class="card"><label class="switch-row" for="notif-pause"><span><b>Pause all notifications</b>' +
      '<span class="muted">Nothing is sent while paused, except security alerts.</span></span>' +
      '<input type="checkbox" class="switch" id="notif-pause" data-key="notif-pause" data-bind="draft.notifications.paused" aria-label="Pause all notifications"' +
      (n.paused ? " checked" : "") + "></label></section>" +
      '<section class="card' + (n.paused ? " dim" : "") + '"><table class="matrix"><thead><tr><th></th>' +
      CHANNELS.map((c) => '<th scope="col">' + c[1] + "</th>").join("") + "</tr></thead><tbody>" + rows.join("") +
      "</tbody></table>" + actions("reset-notifications", "Reset", "save-notifications", "Save changes") + "</section>"
    );
  }

  function privacyView(s) {
    const p = s.draft.privacy;
    const groups = RADIOS.map((g) =>
      '<fieldset class="radios"><legend>' + esc(g[1]) + "</legend>" + g[2].map((o) => {
        const id = "privacy-" + g[0] + "-" + o[0];
        return '<label for="' + id + '" class="radio"><input type="radio" name="' + g[0] + '" id="' + id + '" data-key="' + id +
          '" data-bind="draft.privacy.' + g[0] + '" value="' + o[0] + '"' + (p[g[0]] === o[0] ? " checked" : "") + ">" +
          "<span>" + esc(o[1]) + "</span></label>";
      }).join("") + "</fieldset>");
    const switches = SWITCHES.map((w) =>
      '<label class="switch-row" for="privacy-' + w[0] + '"><span><b>' + esc(w[1]) + '</b><span class="muted">' + esc(w[2]) +
      '</span></span><input type="checkbox" class="switch" id="privacy-' + w[0] + '" data-key="privacy-' + w[0] +
      '" data-bind="draft.privacy.' + w[0] + '" aria-label="' + esc(w[1]) + '"' + (p[w[0]] ? " checked" : "") + "></label>");
    return (
      '<h1>Privacy</h1><p class="lead">Control who can find you and what you share.</p>' +
      '<section class="card">' + groups.join("") + switches.join("") +
      actions("reset-privacy", "Reset", "save-privacy", "Save changes") + "</section>" +
      '<section class="card danger-zone"><h2>Delete account</h2><p class="muted">Permanently remove your account and all of its data.</p>' +
      '<button type="button" class="btn danger-outline" data-act="ask-delete-account" data-key="delete-account">Delete account</button></section>'
    );
  }

  function addressesView(s) {
    const cards = s.saved.addresses.map((a) =>
      '<li class="card addr"><div class="addr-head"><b>' + esc(a.label) + "</b>" + (a.isDefault ? '<span class="badge">Default</span>' : "") +
      "</div><address>" + esc(a.name) + "<br>" + esc(a.street) + "<br>" + esc(a.zip + " " + a.city) + "<br>" + esc(a.country) +
      (a.phone ? "<br>" + esc(a.phone) : "") + "</address>" +
      '<div class="addr-actions"><button type="button" class="btn small" data-act="edit-address" data-arg="' + esc(a.id) +
      '" data-key="address-' + esc(a.id) + '-edit" aria-label="Edit ' + esc(a.label) + '">Edit</button>' +
      '<button type="button" class="btn small" data-act="ask-remove-address" data-arg="' + esc(a.id) + '" data-key="address-' +
      esc(a.id) + '-remove" aria-label="Remove ' + esc(a.label) + '">Remove</button>' +
      (a.isDefault ? "" : '<button type="button" class="btn small" data-act="default-address" data-arg="' + esc(a.id) +
        '" data-key="address-' + esc(a.id) + '-default" aria-label="Set ' + esc(a.label) + ' as default">Set as default</button>') +
      "</div></li>");
    return (
      '<div class="head-row"><div><h1>Addresses</h1><p class="lead">Where we send orders and invoices.</p></div>' +
      '<button type="button" class="btn primary" data-act="add-address" data-key="add-address">+ Add address</button></div>' +
      '<ul class="addr-list">' + cards.join("") + "</ul>"
    );
  }

  function addressFormView(s) {
    const a = s.draft.address;
    const f = (key, label, err, extra) => textField(s, Object.assign({ key: "addr-" + key, bind: "draft.address." + key,
      label: label, value: a[key], err: err }, extra || {}));
    return (
      "<h1>" + (s.editing === "new" ? "Add address" : "Edit address") + "</h1>" +
      '<section class="card">' +
      f("label", "Address name", "label", { placeholder: "e.g. Home, Office" }) +
      f("name", "Full name", "name") +
      f("street", "Street address", "street", { placeholder: "Street and number" }) +
      '<div class="grid2">' + f("city", "City", "city") + f("zip", "Postal code", "zip") + "</div>" +
      '<div class="grid2">' +
      selectField(s, { key: "addr-country", bind: "draft.address.country", label: "Country", value: a.country, err: "country",
        options: [["", "Select a country"]].concat(s.options.countries.map((c) => [c, c])) }) +
      f("phone", "Phone (optional)", "phone", { type: "tel" }) + "</div>" +
      '<label class="check" for="addr-default"><input type="checkbox" id="addr-default" data-key="addr-default" data-bind="draft.address.isDefault"' +
      (a.isDefault ? " checked" : "") + "> Use as my default address</label>" +
      actions("cancel-address", "Cancel", "save-address", "Save address") + "</section>"
    );
  }

  function dialog(s) {
    if (!s.confirm) return "";
    const account = s.confirm.kind === "account";
    const addr = account ? null : s.saved.addresses.find((x) => x.id === s.confirm.id);
    return (
      '<div class="scrim"><div class="dialog" role="dialog" aria-modal="true" aria-labelledby="dlg-title">' +
      '<h2 id="dlg-title">' + (account ? "Delete your account?" : "Remove address?") + "</h2><p>" +
      (account ? "This can't be undone. Your profile, settings and history will be erased."
        : "“" + esc(addr ? addr.label : "") + "” will be removed from your address book.") + "</p>" +
      '<div class="dialog-actions"><button type="button" class="btn" data-act="cancel-dialog" data-key="cancel-dialog">Cancel</button>' +
      '<button type="button" class="btn danger" data-act="' + (account ? "confirm-delete-account" : "confirm-remove-address") +
      '" data-key="' + (account ? "confirm-delete-account" : "confirm-remove-address") + '">' +
      (account ? "Delete my account" : "Remove") + "</button></div></div></div>"
    );
  }

  const VIEWS = {
    profile: profileView, security: securityView, notifications: notificationsView, privacy: privacyView,
    addresses: addressesView, "address-form": addressFormView,
  };

  function render(s, root) {
    const current = s.view === "address-form" ? "addresses" : s.view;
    const nav = SECTIONS.map((x) =>
      '<a href="#/' + x[0] + '" class="nav' + (x[0] === current ? " on" : "") + '" data-act="nav" data-arg="' + x[0] +
      '" data-key="nav-' + x[0] + '"' + (x[0] === current ? ' aria-current="page"' : "") + ">" + icon(x[2]) +
      "<span>" + x[1] + "</span></a>").join("");
    root.innerHTML =
      '<header class="topbar"><a class="brand" href="#/profile" data-act="nav" data-arg="profile" data-key="brand">' +
      '<span class="logo">' + icon("M12 2l9 5v10l-9 5-9-5V7z", 22) + "</span><b>Lumen</b></a>" +
      '<span class="crumb">Account settings</span><span class="top-right"><span class="avatar">' +
      esc(initials(s.saved.profile.name)) + "</span></span></header>" +
      (s.saved.deleted ? '<div class="banner">Your account is scheduled for deletion.</div>' : "") +
      '<div class="layout"><nav class="side" aria-label="Settings sections">' + nav + "</nav>" +
      '<main class="content">' +
      (s.notice ? '<div class="notice" role="status">' + icon("M5 12l5 5 9-10", 16) + "<span>" + esc(s.notice) +
        '</span><button type="button" class="link" data-act="dismiss-notice" data-key="notice-dismiss">Dismiss</button></div>' : "") +
      VIEWS[s.view](s) + "</main></div>" + dialog(s);
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
      s.notice = "";
      ACTIONS[name](s, arg);
    });
  }

  function bind(root) {
    if (root.dataset.bound) return;
    root.dataset.bound = "1";
    root.addEventListener("click", (ev) => {
      const el = ev.target.closest("[data-act]");
      if (!el || !root.contains(el)) return;
      if (el.tagName === "INPUT") return; // switches act on change
      ev.preventDefault();
      act(el.getAttribute("data-act"), el.getAttribute("data-arg"));
    });
    root.addEventListener("input", (ev) => {
      const el = ev.target;
      if (el.tagName === "SELECT" || el.type === "checkbox" || el.type === "radio" || !el.hasAttribute("data-bind")) return;
      window.SIM.set((s) => setPath(s, el.getAttribute("data-bind"), el.value));
    });
    root.addEventListener("change", (ev) => {
      const el = ev.target;
      if (el.tagName === "INPUT" && el.hasAttribute("data-act")) {
        act(el.getAttribute("data-act"), el.getAttribute("data-arg"));
        return;
      }
      if (!el.hasAttribute("data-bind")) return;
      const value = el.type === "checkbox" ? el.checked : el.value;
      if (el.tagName !== "SELECT" && el.type !== "checkbox" && el.type !== "radio") return;
      window.SIM.update((s) => {
        s.notice = "";
        setPath(s, el.getAttribute("data-bind"), value);
      });
    });
    root.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter" || ev.target.tagName !== "INPUT" || ev.target.type === "checkbox" || ev.target.type === "radio") return;
      const save = { profile: "save-profile", security: "save-password", "address-form": "save-address" }[window.SIM.state.view];
      if (save) {
        ev.preventDefault();
        act(save);
      }
    });
  }

  window.SIM.define({
    init(data) {
      const s = {
        view: data.view || "profile",
        options: data.options,
        saved: {
          profile: data.profile,
          password: data.password,
          twofa: data.twofa,
          sessions: data.sessions,
          notifications: data.notifications,
          privacy: data.privacy,
          addresses: data.addresses,
          deleted: false,
        },
        notice: "",
        nextAddr: 1,
      };
      resetDrafts(s);
      return s;
    },
    render: render,
  });
})();
