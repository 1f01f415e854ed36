// lam page snapshot: the interactive elements of one frame, in one pass.
// Evaluated by lam.adapters.browser.snapshot as `(arg) => string` (JSON text, which is much
// cheaper to move out of the page than a structured value). arg.mode is "snapshot" or
// "csspath" (arg.el: an element whose css path is wanted, used to name iframes).
// The page is read through `dom` (safe_dom.js), never through properties a page can clobber.
(arg) => {
  const dom = /*@safe-dom*/;
  const INTERACTIVE = "a[href],button,input,select,textarea,summary,[role],[onclick]," +
    "[tabindex],[contenteditable=''],[contenteditable=true],area[href],label,details";
  const WIDGET_ROLES = new Set(["button", "link", "checkbox", "radio", "textbox", "searchbox",
    "combobox", "listbox", "option", "menuitem", "menuitemcheckbox", "menuitemradio", "tab",
    "switch", "slider", "spinbutton", "treeitem", "gridcell"]);
  const INPUT_ROLES = {checkbox: "checkbox", radio: "radio", submit: "button", button: "button",
    reset: "button", image: "button", range: "slider", number: "spinbutton",
    search: "searchbox", email: "textbox", tel: "textbox", text: "textbox", url: "textbox",
    password: "textbox", file: "button"};
  const HEADING = /^h[1-6]$/;
  const CONTROLS = new Set(["button", "input", "select", "textarea", "option", "optgroup",
    "fieldset"]);
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  const round = (x) => Math.round(x * 10) / 10;
  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);

  // Sibling positions are computed once per parent: nth-of-type for a wide list is otherwise
  // quadratic, and a page with 5,000 rows is exactly where it would hurt.
  const position = new Map();
  function indexChildren(parent) {
    const counts = new Map();
    const children = dom.children(parent);
    for (const c of children) {
      const n = (counts.get(dom.tag(c)) || 0) + 1;
      counts.set(dom.tag(c), n);
      position.set(c, n);
    }
    for (const c of children) {
      if (counts.get(dom.tag(c)) === 1) position.set(c, 0);
    }
  }
  function pos(el) {
    if (!position.has(el)) {
      const p = dom.parent(el);
      if (p && [1, 9, 11].includes(dom.kind(p))) indexChildren(p); else position.set(el, 0);
    }
    return position.get(el);
  }
  const CSS_ID = /^[A-Za-z][\w-]*$/;
  function cssPath(el) {
    const parts = [];
    let cur = el;
    while (cur && dom.kind(cur) === 1) {
      const id = dom.id(cur);
      if (id && CSS_ID.test(id)) { parts.unshift("#" + id); break; }
      const tag = dom.tag(cur);
      const n = pos(cur);
      parts.unshift(n ? `${tag}:nth-of-type(${n})` : tag);
      if (tag === "html") break;
      const up = dom.parent(cur);
      cur = up && dom.kind(up) === 1 ? up : null;
    }
    return parts.join(" > ");
  }
  if (arg && arg.mode === "csspath") return JSON.stringify(cssPath(arg.el));
  // Called through locator.evaluate the argument is the element itself: describe just it.
  const single = arg instanceof Element ? arg : null;

  const labelsFor = new Map();
  function indexLabels(root) {
    for (const l of dom.all(root, "label[for]")) {
      const id = dom.attr(l, "for");
      labelsFor.set(id, norm((labelsFor.get(id) || "") + " " + dom.text(l)));
    }
  }
  function role(el) {
    const r = dom.attr(el, "role");
    if (r) return r.split(" ")[0];
    const tag = dom.tag(el);
    if (tag === "a" || tag === "area") return dom.has(el, "href") ? "link" : "";
    if (tag === "button") return "button";
    if (tag === "textarea") return "textbox";
    if (tag === "select") return el.multiple || el.size > 1 ? "listbox" : "combobox";
    if (tag === "input") {
      const t = (dom.attr(el, "type") || "text").toLowerCase();
      if (t === "hidden") return "";
      if (t === "text" || t === "search" || t === "email" || t === "tel" || t === "url") {
        if (dom.has(el, "list")) return "combobox";
      }
      return INPUT_ROLES[t] || "textbox";
    }
    if (tag === "summary") return "button";
    if (dom.editable(el)) return "textbox";
    return "";
  }
  function idText(root, ids) {
    return norm(ids.split(/\s+/).map((id) => {
      const t = dom.byId(root, id);
      return t ? dom.text(t) : "";
    }).join(" "));
  }
  function labelOf(el, root) {
    const id = dom.id(el);
    if (id && labelsFor.has(id)) return labelsFor.get(id);
    const wrap = dom.closest(el, "label");
    return wrap && wrap !== el ? norm(dom.text(wrap)) : "";
  }
  function nameOf(el, r, root, label) {
    const lb = dom.attr(el, "aria-labelledby");
    if (lb) { const t = idText(root, lb); if (t) return t; }
    const al = norm(dom.attr(el, "aria-label"));
    if (al) return al;
    const tag = dom.tag(el);
    if (tag === "input" || tag === "select" || tag === "textarea") {
      if (label) return label;
      const t = (dom.attr(el, "type") || "").toLowerCase();
      if (t === "submit" || t === "button" || t === "reset") {
        return norm(el.value) || (t === "submit" ? "Submit" : t === "reset" ? "Reset" : "");
      }
      if (t === "image") return norm(dom.attr(el, "alt"));
      return norm(dom.attr(el, "title")) || norm(dom.attr(el, "placeholder"));
    }
    if (tag === "img" || tag === "area") return norm(dom.attr(el, "alt") || dom.attr(el, "title"));
    let text = norm(dom.text(el));
    if (!text) {
      const img = dom.one(el, "img[alt],svg title,[aria-label]");
      if (img) text = norm(dom.attr(img, "alt") || dom.attr(img, "aria-label") ||
        dom.text(img));
    }
    return clip(text || norm(dom.attr(el, "title")), 200);
  }

  // textContent runs table cells together ("BobEdit"); joining text nodes keeps words apart.
  function spacedText(el) {
    const walker = dom.walker(el, NodeFilter.SHOW_TEXT);
    const parts = [];
    let length = 0;
    for (let n = walker.nextNode(); n && length < 400; n = walker.nextNode()) {
      parts.push(n.data);
      length += n.data.length;
    }
    return norm(parts.join(" "));
  }
  const out = [];
  // Row and heading text repeat across many elements: send each string once.
  const strings = [];
  const stringIndex = new Map();
  function intern(text) {
    let i = stringIndex.get(text);
    if (i === undefined) {
      i = strings.length;
      strings.push(text);
      stringIndex.set(text, i);
    }
    return i;
  }
  let heading = "";
  function context(el) {
    const row = dom.closest(el, "tr,[role=row],li");
    const rowText = row ? clip(spacedText(row), 160) : "";
    const group = dom.closest(el, "fieldset,form,section,dialog,[role=dialog]");
    let groupText = "";
    if (group) {
      const legend = dom.one(group, "legend,h1,h2,h3,h4,h5,h6,[aria-label]");
      groupText = norm(dom.attr(group, "aria-label")) ||
        (legend ? clip(norm(dom.text(legend)), 80) : "");
    }
    return [intern(rowText), intern(groupText), intern(heading)];
  }

  function visit(el, root, hosts, force) {
    const tag = dom.tag(el);
    if (HEADING.test(tag)) heading = clip(norm(dom.text(el)), 80);
    const r = role(el);
    const editable = dom.editable(el);
    let keep = force || r !== "" || dom.has(el, "onclick") || editable ||
      (dom.has(el, "tabindex") && dom.attr(el, "tabindex") !== "-1");
    if (!force && (tag === "label" || tag === "details")) keep = false;
    if (!force && r && !WIDGET_ROLES.has(r) && !dom.has(el, "onclick") &&
        !dom.has(el, "tabindex") && !editable) keep = false;
    if (!keep) return;
    const rect = dom.rect(el);
    const visible = rect.width > 0 && rect.height > 0 &&
      dom.shown(el, {visibilityProperty: true});
    const label = labelOf(el, root);
    const name = nameOf(el, r, root, label);
    const type = tag === "input" ? (dom.attr(el, "type") || "text").toLowerCase() : "";
    const text = tag === "input" || tag === "select" ? "" : clip(norm(dom.text(el)), 200);
    let value = null;
    if ((tag === "input" && type !== "password" && type !== "checkbox" && type !== "radio") ||
        tag === "textarea") value = el.value;
    else if (tag === "select") value = el.selectedOptions.length ? el.selectedOptions[0].label : "";
    else if (editable) value = clip(norm(dom.text(el)), 200);
    // (value, checked, disabled and the like are read from controls only: a form's would be
    // its controls of that name.)
    const checked = type === "checkbox" || type === "radio" ? el.checked :
      dom.has(el, "aria-checked") ? dom.attr(el, "aria-checked") === "true" : null;
    const details = tag === "summary" ? dom.parentElement(el) : null;
    const expanded = dom.has(el, "aria-expanded") ?
      dom.attr(el, "aria-expanded") === "true" :
      details ? dom.tag(details) === "details" && dom.has(details, "open") : null;
    const selected = dom.has(el, "aria-selected") ?
      dom.attr(el, "aria-selected") === "true" : null;
    const disabled = (CONTROLS.has(tag) && !!el.disabled) ||
      dom.attr(el, "aria-disabled") === "true";
    const placeholder = norm(dom.attr(el, "placeholder"));
    const testid = dom.attr(el, "data-testid");
    const css = cssPath(el);
    // Which locator hints apply, as letters (d: testid, r: role+name, l: label,
    // p: placeholder, t: text); Python builds the mappings from fields it already has.
    let loc = "";
    if (testid) loc += "d";
    if (r && name && WIDGET_ROLES.has(r) && tag !== "summary") loc += "r";
    if (label) loc += "l";
    if (placeholder) loc += "p";
    if (!r && text) loc += "t";
    // Empty fields are left out: moving the JSON out of the page costs more than making it.
    const item = {role: r, name, tag, visible, css, loc, context: context(el)};
    if (type) item.type = type;
    if (text !== name) item.text = text;
    if (value !== null) item.value = value;
    if (label) item.label = label;
    if (placeholder) item.placeholder = placeholder;
    if (testid !== null) item.testid = testid;
    const id = dom.id(el);
    if (id) item.id = id;
    if (dom.has(el, "href")) item.href = dom.attr(el, "href");
    if (checked !== null) item.checked = checked;
    if (disabled) item.disabled = true;
    if (expanded !== null) item.expanded = expanded;
    if (selected !== null) item.selected = selected;
    if (visible) item.box = [round(rect.x), round(rect.y), round(rect.width), round(rect.height)];
    if (hosts.length) item.shadow = hosts;
    out.push(item);
  }
  function walk(root, hosts) {
    indexLabels(root);
    for (const el of dom.all(root, "*")) {
      visit(el, root, hosts);
      const shadow = dom.shadowRoot(el);
      if (shadow) walk(shadow, hosts.concat([cssPath(el)]));
    }
  }
  if (single) {
    const hosts = [];
    let root = dom.root(single);
    while (root && dom.host(root)) {
      hosts.unshift(cssPath(dom.host(root)));
      root = dom.root(dom.host(root));
    }
    const own = dom.root(single);
    indexLabels(own);
    const head = [...dom.all(document, "h1,h2,h3,h4,h5,h6")].filter(
      (h) => dom.follows(h, single) & Node.DOCUMENT_POSITION_FOLLOWING).pop();
    heading = head ? clip(norm(dom.text(head)), 80) : "";
    visit(single, own, hosts, true);
    return JSON.stringify({strings, items: out});
  }
  walk(document, []);
  return JSON.stringify({strings, items: out});
}
