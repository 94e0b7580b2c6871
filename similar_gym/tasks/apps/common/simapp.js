/*
 * simapp.js: the runtime every own web app of Similar-Gym is built on.
 *
 * The page side of the task contract (similar_gym/tasks/base.py):
 *   - The app calls SIM.define({init, render}) once.
 *       init(data) -> state      builds the whole app state from the data Python sent.
 *       render(state, root, SIM) draws the state into root (<div id="app">) and binds handlers.
 *   - The env calls SIM.reset(data), SIM.getState(), SIM.snapshot() and SIM.restore(snapshot).
 *   - Everything the user can change lives in SIM.state: the current view, form drafts, open menus,
 *     the cart, sent mails... Rendering is a pure function of the state, so restore is exact.
 *   - Handlers change the state through SIM.update(fn) (mutate, then re-render) or, for text typed
 *     into a field, SIM.set(fn) (mutate without re-rendering, so the caret stays put).
 *   - The page draws no random numbers and reads no clock: "today" and all content come in data.
 *   - Elements an oracle or a judge must name carry a stable data-key attribute.
 */
(function () {
  "use strict";

  function clone(x) {
    return x === undefined ? undefined : JSON.parse(JSON.stringify(x));
  }

  function esc(s) {
    return String(s == null ? "" : s)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  function setPath(obj, path, value) {
    const keys = path.split(".");
    const last = keys.pop();
    for (const k of keys) obj = obj[k];
    obj[last] = value;
  }

  const SIM = {
    app: null,
    data: null,
    state: null,

    /** Registers the app: {init(data) -> state, render(state, root, SIM)}. */
    define(app) {
      this.app = app;
    },

    /** Starts a task instance from the data Python sent. */
    reset(data) {
      this.data = clone(data);
      this.state = this.app.init(clone(data));
      this._render(null);
      window.scrollTo(0, 0);
      return true;
    },

    /** The app state the success checks read. */
    getState() {
      return this.state;
    },

    /** Mutates the state with fn(state), then re-renders. */
    update(fn) {
      fn(this.state);
      this._render(this._focusInfo());
    },

    /** Mutates the state with fn(state) without re-rendering (for typing into fields). */
    set(fn) {
      fn(this.state);
    },

    /** Everything needed to put the page back exactly. */
    snapshot() {
      return {
        data: clone(this.data),
        state: clone(this.state),
        scroll: [window.scrollX, window.scrollY],
        focus: this._focusInfo(),
      };
    },

    /** Puts the page back to a snapshot. */
    restore(snap) {
      this.data = clone(snap.data);
      this.state = clone(snap.state);
      this._render(snap.focus);
      window.scrollTo(snap.scroll[0], snap.scroll[1]);
      return true;
    },

    /** HTML-escapes a value for templates. */
    esc: esc,

    /**
     * Wires `root` once by event delegation (the wiring survives re-renders and SIM.reset):
     *   data-act="name" (click) and data-submit="name" (form submit) -> handlers.actions[name]
     *   data-change="name" (change of a select or checkbox)          -> handlers.changes[name]
     *   data-bind="a.b" (typing into a field)                         -> SIM.set(state.a.b = value)
     * A handler is fn(state, dataset, element); handlers.run(fn, element) applies one
     * (default: SIM.update), so an app can add its own effects such as scrolling to the top.
     */
    delegate(root, handlers) {
      if (root.dataset.bound) return;
      root.dataset.bound = "1";
      const run = handlers.run || ((fn, el) => fn && SIM.update((s) => fn(s, el.dataset, el)));
      root.addEventListener("click", (e) => {
        const el = e.target.closest("[data-act]");
        if (!el || !root.contains(el)) return;
        e.preventDefault();
        if (!el.disabled) run(handlers.actions[el.dataset.act], el);
      });
      root.addEventListener("change", (e) => {
        const el = e.target.closest("[data-change]");
        if (el) run((handlers.changes || {})[el.dataset.change], el);
      });
      root.addEventListener("input", (e) => {
        const path = e.target.dataset && e.target.dataset.bind;
        if (path) SIM.set((s) => setPath(s, path, e.target.value));
      });
      root.addEventListener("submit", (e) => {
        e.preventDefault();
        run(handlers.actions[e.target.dataset.submit], e.target);
      });
    },

    _focusInfo() {
      const el = document.activeElement;
      if (!el || el === document.body || !el.getAttribute("data-key")) return null;
      const info = { key: el.getAttribute("data-key"), start: null, end: null };
      try {
        info.start = el.selectionStart;
        info.end = el.selectionEnd;
      } catch (e) {
        /* not a text field */
      }
      return info;
    },

    _render(focus) {
      const root = document.getElementById("app");
      this.app.render(this.state, root, this);
      const view = this.state && this.state.view ? String(this.state.view) : "";
      const hash = "#/" + view;
      if (window.location.hash !== hash) history.replaceState(null, "", hash);
      if (focus && focus.key) {
        const el = root.querySelector('[data-key="' + CSS.escape(focus.key) + '"]');
        if (el) {
          el.focus({ preventScroll: true });
          if (focus.start != null) {
            try {
              el.setSelectionRange(focus.start, focus.end);
            } catch (e) {
              /* not a text field */
            }
          }
        }
      } else if (document.activeElement && document.activeElement !== document.body) {
        document.activeElement.blur();
      }
    },
  };

  window.SIM = SIM;
})();
