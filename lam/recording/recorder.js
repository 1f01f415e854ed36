// lam recorder: injected into every page and frame of a recording context.
// Evaluated as `(snap) => void`, where snap is snapshot.js (the same role, accessible-name,
// label and css-path logic the runner grounds on). Each user action is sent to Python through
// the exposed binding window.__lamRecord as one event:
//   {type, el (snapshot.js JSON of the element), counts, extra, value, secret, frame, url}
// Typing is sent once per field with its final value (on change, blur, or before Enter/Tab),
// never per keystroke; the value of a password field never leaves the page.
// The page is read through `dom` (safe_dom.js), never through properties it can clobber.
(snap) => {
  const dom = /*@safe-dom*/;
  // Marked on the document, not the window: a popup's first about:blank window object is
  // kept when it navigates to a same-origin page, but its document is new.
  // (A symbol, which no element's name can shadow.)
  const INSTALLED = Symbol.for("lam.recorder");
  if (document[INSTALLED]) return;
  document[INSTALLED] = true;
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
  const NOT_TEXT = new Set(["checkbox", "radio", "file", "submit", "button", "reset", "image",
    "range", "color", "hidden"]);
  const ALWAYS_KEYS = new Set(["Enter", "Escape", "Tab"]);
  const NAV_KEYS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp",
    "PageDown", "Home", "End", "Delete", "Backspace", " "]);
  const CLICKABLE = "a[href],button,input,select,textarea,summary,[role],[onclick],label," +
    "[tabindex],[contenteditable=''],[contenteditable=true]";
  const ATTRS = ["id", "class", "name", "type", "href", "aria-label", "title", "placeholder",
    "data-testid"];

  const isElement = (el) => el instanceof Element;
  const isInput = (el) => isElement(el) && dom.tag(el) === "input";
  const inputType = (el) => (dom.attr(el, "type") || "text").toLowerCase();
  function textLike(el) {
    if (!isElement(el)) return false;
    if (dom.tag(el) === "textarea") return true;
    if (isInput(el)) return !NOT_TEXT.has(inputType(el));
    return dom.editable(el);
  }
  const valueOf = (el) => (dom.editable(el) ? dom.innerText(el) : el.value);
  const isSecret = (el) => isInput(el) && inputType(el) === "password";

  function frameChain() {
    // The iframe css paths from the top page down to this frame; null when an ancestor is
    // cross-origin (Python then works it out from the frame object).
    const chain = [];
    let win = window;
    try {
      while (win !== win.parent) {
        const host = win.frameElement;
        if (!host) return null;
        chain.unshift(JSON.parse(snap({mode: "csspath", el: host})));
        win = win.parent;
      }
    } catch (e) {
      return null;
    }
    return chain;
  }

  function lower(s) { return norm(s).toLowerCase(); }
  // How many visible elements of this frame each locator kind matches (Playwright's default
  // matching: case-insensitive substring), and where this element falls among them.
  function counts(item) {
    const all = JSON.parse(snap({mode: "snapshot"})).items.filter((i) => i.visible);
    const tests = {
      d: (i) => i.testid === item.testid,
      r: (i) => i.role === item.role && lower(i.name).includes(lower(item.name)),
      l: (i) => lower(i.label).includes(lower(item.label)),
      p: (i) => lower(i.placeholder).includes(lower(item.placeholder)),
      t: (i) => !i.role && lower(i.text !== undefined ? i.text : i.name).includes(
        lower(item.text !== undefined ? item.text : item.name)),
    };
    const out = {};
    for (const letter of item.loc || "") {
      const matches = all.filter(tests[letter]);
      const nth = matches.findIndex((i) => i.css === item.css);
      out[letter] = [matches.length, nth];
    }
    return out;
  }
  function siblingText(el, dir) {
    let cur = dir < 0 ? dom.previous(el) : dom.next(el);
    while (cur && !norm(dom.text(cur))) {
      cur = dir < 0 ? dom.previous(cur) : dom.next(cur);
    }
    return cur ? clip(norm(dom.text(cur)), 80) : "";
  }
  function extra(el) {
    const attrs = {};
    for (const a of ATTRS) if (dom.has(el, a)) attrs[a] = dom.attr(el, a);
    const parent = dom.parentElement(el);
    const index = parent ? [...dom.children(parent)].indexOf(el) : 0;
    const fieldset = dom.closest(el, "fieldset");
    const legend = fieldset ? dom.one(fieldset, "legend") : null;
    return {
      attrs, index,
      prev: siblingText(el, -1), next: siblingText(el, 1),
      fieldset: legend ? clip(norm(dom.text(legend)), 80) : "",
    };
  }

  function send(type, el, fields) {
    const binding = window.__lamRecord;
    if (typeof binding !== "function") return;
    let described, item;
    try {
      described = snap(el);
      item = JSON.parse(described).items[0];
    } catch (e) {
      return;
    }
    for (const other of [...dirty]) if (other !== el) flushFill(other);
    let event;
    try {
      event = Object.assign({
        type, el: described, counts: counts(item), extra: extra(el), frame: frameChain(),
        url: location.href,
      }, fields);
    } catch (e) {
      console.error("lam recorder:", e);
      return;
    }
    binding(event).catch(() => {});
  }
  function sendPlain(type, fields) {
    const binding = window.__lamRecord;
    if (typeof binding !== "function") return;
    binding(Object.assign({type, frame: frameChain(), url: location.href}, fields))
      .catch(() => {});
  }

  const sent = new WeakMap();
  const dirty = new Set();
  function flushFill(el) {
    if (!dirty.has(el)) return;
    dirty.delete(el);
    const value = valueOf(el);
    if (sent.get(el) === value) return;
    sent.set(el, value);
    if (isSecret(el)) send("fill", el, {secret: true});
    else send("fill", el, {value});
  }
  window.__lamFlush = () => { for (const el of [...dirty]) flushFill(el); };
  // Leaving the page (a typed URL, a script's goto) fires no blur: send typing first.
  window.addEventListener("beforeunload", window.__lamFlush, true);
  window.addEventListener("pagehide", window.__lamFlush, true);

  // Drafts: while a field is being typed into, its value is also sent now and then (at most
  // every 250 ms), so typing is not lost when the window closes before the field loses focus.
  // Python keeps only the last draft of a field, and drops it once the field's fill arrives.
  const draftAt = new Map();
  const draftTimer = new Map();
  function sendDraft(el) {
    if (!dirty.has(el)) return;
    draftAt.set(el, Date.now());
    send("draft", el, isSecret(el) ? {secret: true} : {value: valueOf(el)});
  }
  function draft(el) {
    clearTimeout(draftTimer.get(el));
    if (Date.now() - (draftAt.get(el) || 0) >= 250) sendDraft(el);
    else draftTimer.set(el, setTimeout(() => sendDraft(el), 250));
  }

  const target = (e) => (e.composedPath ? e.composedPath()[0] : e.target);
  document.addEventListener("input", (e) => {
    const el = target(e);
    if (textLike(el)) {
      dirty.add(el);
      draft(el);
    }
  }, true);
  document.addEventListener("focusout", (e) => {
    const el = target(e);
    if (textLike(el)) flushFill(el);
  }, true);
  document.addEventListener("change", (e) => {
    const el = target(e);
    if (textLike(el)) { dirty.add(el); flushFill(el); return; }
    if (dom.tag(el) === "select") {
      const values = [...el.selectedOptions].map((o) => o.value);
      send("select", el, {value: el.multiple ? values : values[0] || ""});
    } else if (isInput(el) && inputType(el) === "checkbox") {
      send(el.checked ? "check" : "uncheck", el, {});
    } else if (isInput(el) && inputType(el) === "radio") {
      if (el.checked) send("check", el, {});
    } else if (isInput(el) && inputType(el) === "file") {
      send("upload", el, {value: [...el.files].map((f) => f.name)});
    }
  }, true);

  let lastKey = "", lastKeyAt = 0;
  document.addEventListener("keydown", (e) => {
    const el = target(e);
    lastKey = e.key;
    lastKeyAt = Date.now();
    if (textLike(el) && (e.key === "Enter" || e.key === "Tab")) flushFill(el);
    const modified = e.ctrlKey || e.metaKey || e.altKey;
    const inText = textLike(el);
    const matters = ALWAYS_KEYS.has(e.key) ||
      (!inText && (NAV_KEYS.has(e.key) || (modified && e.key.length === 1)));
    if (!matters || ["Control", "Shift", "Alt", "Meta"].includes(e.key)) return;
    if (e.key === " " && isElement(el) && ["button", "a", "input"].includes(dom.tag(el))) return;
    const parts = [];
    if (e.ctrlKey) parts.push("Control");
    if (e.altKey) parts.push("Alt");
    if (e.metaKey) parts.push("Meta");
    if (e.shiftKey && e.key.length > 1) parts.push("Shift");
    parts.push(e.key === " " ? "Space" : e.key);
    const key = parts.join("+");
    if (!isElement(el) || ["body", "html"].includes(dom.tag(el))) {
      sendPlain("press", {value: key});
    } else {
      send("press", el, {value: key});
    }
  }, true);

  document.addEventListener("click", (e) => {
    const raw = target(e);
    if (!isElement(raw)) return;
    // Enter in a field submits through a synthetic click on the form's button: the key press
    // is already recorded, and replaying both would submit twice.
    if (e.detail === 0 && lastKey === "Enter" && Date.now() - lastKeyAt < 1000) return;
    const el = dom.closest(raw, CLICKABLE) || raw;
    if (textLike(el) || dom.tag(el) === "select" || dom.tag(el) === "option") return;
    if (isInput(el) && ["checkbox", "radio", "file"].includes(inputType(el))) return;
    if (dom.tag(el) === "label") {
      const control = el.control;
      if (control) return;  // the control's own change (or focus) is what matters
    }
    send("click", el, {});
  }, true);
}
