/*
 * page_agent.js: injected into every page the env serves (before the page's own scripts).
 *
 * window.__similar.observe(maxChars) walks the visible DOM once and returns
 *   {text, elements, url}
 * where text is an accessibility-tree-style view of the page,
 *   [12] button "Add to cart"
 *   [13] textbox "Email" value=""
 *   [14] combobox "Colour" value="Blue" options=["Red", "Blue"]
 *   heading "Running shoes"
 *   text "Price: $49.00"
 * and elements lists every element that got an id (the [n] above) with its role, name, value,
 * data-key and box. Ids number the listed elements 1..n in document order and are written to
 * the data-sid attribute, so actions of the next step can find them.
 */
(function () {
  "use strict";
  if (window.__similar) return;

  const INTERACTIVE_TAGS = new Set(["A", "BUTTON", "INPUT", "SELECT", "TEXTAREA", "SUMMARY", "LABEL"]);
  const INTERACTIVE_ROLES = new Set([
    "button", "link", "checkbox", "radio", "tab", "menuitem", "option", "switch", "textbox",
    "combobox", "listbox", "slider", "spinbutton", "treeitem", "gridcell", "searchbox",
  ]);
  const HEADINGS = new Set(["H1", "H2", "H3", "H4", "H5", "H6"]);
  const SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "META", "LINK", "OPTION"]);
  const SHAPES = new Set(["circle", "rect", "polygon", "ellipse", "path", "line", "polyline", "text"]);

  function clean(s, n) {
    s = String(s == null ? "" : s).replace(/\s+/g, " ").trim();
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }

  function ownText(el) {
    let t = "";
    for (const c of el.childNodes) if (c.nodeType === 3) t += c.nodeValue;
    return clean(t, 200);
  }

  function visible(el) {
    if (el.checkVisibility && !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }))
      return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }

  function labelOf(el) {
    const aria = el.getAttribute("aria-label");
    if (aria) return clean(aria, 120);
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const l = document.getElementById(by);
      if (l) return clean(l.textContent, 120);
    }
    if (el.labels && el.labels.length) return clean(el.labels[0].textContent, 120);
    const ph = el.getAttribute("placeholder");
    if (ph) return clean(ph, 120);
    const title = el.getAttribute("title");
    if (title) return clean(title, 120);
    const name = el.getAttribute("name");
    return name ? clean(name, 120) : "";
  }

  function roleOf(el) {
    const role = el.getAttribute("role");
    if (role) return role;
    const tag = el.tagName;
    if (tag === "A") return "link";
    if (tag === "BUTTON" || tag === "SUMMARY") return "button";
    if (tag === "SELECT") return "combobox";
    if (tag === "TEXTAREA") return "textbox";
    if (tag === "LABEL") return "label";
    if (tag === "INPUT") {
      const t = (el.getAttribute("type") || "text").toLowerCase();
      if (t === "checkbox" || t === "radio") return t;
      if (t === "button" || t === "submit" || t === "reset") return "button";
      if (t === "range") return "slider";
      if (t === "number") return "spinbutton";
      return "textbox";
    }
    if (el.isContentEditable) return "textbox";
    if (el instanceof SVGElement) return el.tagName.toLowerCase();
    if (el.tagName === "CANVAS") return "canvas";
    return "text";
  }

  function isInteractive(el) {
    if (INTERACTIVE_TAGS.has(el.tagName)) {
      if (el.tagName === "INPUT" && (el.type || "").toLowerCase() === "hidden") return false;
      return true;
    }
    const role = el.getAttribute("role");
    if (role && INTERACTIVE_ROLES.has(role)) return true;
    if (el.hasAttribute("onclick") || el.isContentEditable && el.parentElement && !el.parentElement.isContentEditable)
      return true;
    if (el.tagName === "CANVAS") return true;
    if (el instanceof SVGElement && SHAPES.has(el.tagName.toLowerCase())) return true;
    // Script-bound controls (MiniWoB's <span class="alink">) show themselves by their cursor.
    const parent = el.parentElement;
    return getComputedStyle(el).cursor === "pointer" &&
      !(parent && getComputedStyle(parent).cursor === "pointer");
  }

  function observe(maxChars) {
    const lines = [];
    const elements = [];
    let size = 0;
    let truncated = false;
    const nodes = [];

    function emit(line) {
      if (truncated) return;
      if (size + line.length + 1 > maxChars) {
        truncated = true;
        lines.push("… (page text truncated)");
        return;
      }
      lines.push(line);
      size += line.length + 1;
    }

    function walk(el) {
      if (SKIP.has(el.tagName) || el.getAttribute("aria-hidden") === "true") return;
      if (!visible(el)) {
        // Children of a zero-size wrapper can still be visible (floats, overflow).
        const st = getComputedStyle(el);
        if (st.display === "none" || st.visibility === "hidden") return;
      } else {
        const interactive = isInteractive(el);
        const text = ownText(el);
        const heading = HEADINGS.has(el.tagName);
        if (interactive || text) {
          const role = interactive ? roleOf(el) : heading ? "heading" : "text";
          let name = interactive ? labelOf(el) : "";
          if (!name && (interactive || heading)) name = clean(el.textContent, 120);
          if (!name) name = text;
          if (!interactive && heading) name = clean(el.textContent, 120);
          const id = elements.length + 1;
          nodes.push(el);
          const r = el.getBoundingClientRect();
          const rec = {
            id: id,
            role: role,
            tag: el.tagName.toLowerCase(),
            name: name,
            key: el.getAttribute("data-key"),
            box: [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height],
            interactive: interactive,
          };
          let line = `[${id}] ${role} ${JSON.stringify(name)}`;
          if (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT") {
            const type = (el.type || "").toLowerCase();
            if (type === "checkbox" || type === "radio") {
              rec.checked = el.checked;
              line += ` checked=${el.checked}`;
            } else {
              // A <select> shows its chosen option's label, as a user sees it.
              const shown = el.tagName === "SELECT"
                ? (el.selectedIndex >= 0 ? el.options[el.selectedIndex].label || el.options[el.selectedIndex].text : "")
                : el.value;
              rec.value = String(shown);
              line += ` value=${JSON.stringify(clean(shown, 200))}`;
            }
          }
          if (el.tagName === "SELECT") {
            rec.options = Array.from(el.options).map((o) => clean(o.label || o.text, 80));
            line += ` options=${JSON.stringify(rec.options)}`;
          }
          if (el.disabled) {
            rec.disabled = true;
            line += " disabled";
          }
          if (el === document.activeElement) line += " focused";
          elements.push(rec);
          emit(line);
          if (heading || el.tagName === "SELECT" || el.tagName === "BUTTON" || el.tagName === "A") {
            // The name already holds the text inside; still walk children for nested controls.
            for (const c of el.children) if (isInteractive(c)) walk(c);
            return;
          }
        }
      }
      for (const c of el.children) walk(c);
      if (el.shadowRoot) for (const c of el.shadowRoot.children) walk(c);
    }

    if (document.body) walk(document.body);
    // Ids are written after the walk: writing attributes during it would invalidate styles and
    // force a layout at every element's next measurement.
    for (const old of document.querySelectorAll("[data-sid]")) old.removeAttribute("data-sid");
    nodes.forEach((el, i) => el.setAttribute("data-sid", String(i + 1)));
    return { text: lines.join("\n"), elements: elements, url: window.location.href };
  }

  function byId(id) {
    return document.querySelector(`[data-sid="${Number(id)}"]`);
  }

  /* Scrolls element `id` into view and returns its centre in viewport coordinates. */
  function target(id) {
    const el = byId(id);
    if (!el) return { error: `no element with id ${id} on the page (ids come from the last observation)` };
    const r0 = el.getBoundingClientRect();
    if (r0.top < 0 || r0.left < 0 || r0.bottom > window.innerHeight || r0.right > window.innerWidth)
      el.scrollIntoView({ block: "center", inline: "center" });
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return { error: `element ${id} is not visible` };
    if (el.disabled) return { error: `element ${id} is disabled` };
    return { x: r.left + r.width / 2, y: r.top + r.height / 2, tag: el.tagName.toLowerCase() };
  }

  /* Focuses element `id` and selects its content, ready for inserting text. */
  function prepareFill(id) {
    const el = byId(id);
    if (!el) return `no element with id ${id}`;
    const tag = el.tagName;
    const editable = tag === "TEXTAREA" || el.isContentEditable ||
      (tag === "INPUT" && !["checkbox", "radio", "button", "submit", "reset", "file", "range", "color", "image"].includes((el.type || "text").toLowerCase()));
    if (!editable) return `element ${id} (${tag.toLowerCase()}) does not take text`;
    if (el.disabled || el.readOnly) return `element ${id} is not editable`;
    el.focus();
    if (el.isContentEditable) {
      const range = document.createRange();
      range.selectNodeContents(el);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    } else if (typeof el.select === "function") {
      el.select();
    }
    return null;
  }

  /* Chooses the option with label (or value) `label` in <select> `id`, firing input and change. */
  function selectOption(id, label) {
    const el = byId(id);
    if (!el) return `no element with id ${id}`;
    if (el.tagName !== "SELECT") return `element ${id} is not a <select>`;
    if (el.disabled) return `element ${id} is disabled`;
    const want = String(label).trim();
    const opt = Array.from(el.options).find((o) => (o.label || o.text).trim() === want) ||
      Array.from(el.options).find((o) => o.value === want);
    if (!opt) return `element ${id} has no option ${JSON.stringify(want)}`;
    el.focus();
    el.value = opt.value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    return null;
  }

  /* Scrolls the element under the viewport centre that can scroll, else the window. */
  function scroll(direction) {
    const dy = (direction === "up" ? -1 : 1) * Math.round(window.innerHeight * 0.8);
    let el = document.elementFromPoint(window.innerWidth / 2, window.innerHeight / 2);
    while (el && el !== document.body && el !== document.documentElement) {
      const st = getComputedStyle(el);
      if (/(auto|scroll)/.test(st.overflowY) && el.scrollHeight > el.clientHeight) {
        el.scrollBy(0, dy);
        return null;
      }
      el = el.parentElement;
    }
    window.scrollBy(0, dy);
    return null;
  }

  window.__similar = { observe, target, prepareFill, selectOption, scroll };
})();
