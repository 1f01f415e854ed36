// lam page snapshot: the interactive elements of one frame, in one pass.
// Evaluated by lam.adapters.browser.snapshot as `(arg) => string` (JSON text, which is much
// cheaper to move out of the page than a structured value). arg.mode is "snapshot" or
// "csspath" (arg.el: an element whose css path is wanted, used to name iframes).
(arg) => {
  const INTERACTIVE = "a[href],button,input,select,textarea,summary,[role],[onclick]," +
    "[tabindex],[contenteditable=''],[contenteditable=true],area[href],label,details";
  const WIDGET_ROLES = new Set(["button", "link", "checkbox", "radio", "textbox", "searchbox",
    "combobox", "listbox", "option", "menuitem", "menuitemcheckbox", "menuitemradio", "tab",
    "switch", "slider", "spinbutton", "treeitem", "gridcell"]);
  const INPUT_ROLES = {checkbox: "checkbox", radio: "radio", submit: "button", button: "button",
    reset: "button", image: "button", range: "slider", number: "spinbutton",
    search: "searchbox", email: "textbox", tel: "textbox", text: "textbox", url: "textbox",
    password: "textbox", file: "button"};
  const HEADING = /^H[1-6]$/;
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  const round = (x) => Math.round(x * 10) / 10;
  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);

  // Sibling positions are computed once per parent: nth-of-type for a wide list is otherwise
  // quadratic, and a page with 5,000 rows is exactly where it would hurt.
  const position = new Map();
  function indexChildren(parent) {
    const counts = new Map();
    for (const c of parent.children) {
      const n = (counts.get(c.tagName) || 0) + 1;
      counts.set(c.tagName, n);
      position.set(c, n);
    }
    for (const c of parent.children) {
      if (counts.get(c.tagName) === 1) position.set(c, 0);
    }
  }
  function pos(el) {
    if (!position.has(el)) {
      const p = el.parentNode;
      if (p && p.children) indexChildren(p); else position.set(el, 0);
    }
    return position.get(el);
  }
  const CSS_ID = /^[A-Za-z][\w-]*$/;
  function cssPath(el) {
    const parts = [];
    let cur = el;
    while (cur && cur.nodeType === 1) {
      if (cur.id && CSS_ID.test(cur.id)) { parts.unshift("#" + cur.id); break; }
      const tag = cur.localName;
      const n = pos(cur);
      parts.unshift(n ? `${tag}:nth-of-type(${n})` : tag);
      if (tag === "html") break;
      cur = cur.parentNode && cur.parentNode.nodeType === 1 ? cur.parentNode : null;
    }
    return parts.join(" > ");
  }
  if (arg && arg.mode === "csspath") return JSON.stringify(cssPath(arg.el));
  // Called through locator.evaluate the argument is the element itself: describe just it.
  const single = arg && arg.nodeType === 1 ? arg : null;

  const labelsFor = new Map();
  function indexLabels(root) {
    for (const l of root.querySelectorAll("label[for]")) {
      const id = l.getAttribute("for");
      labelsFor.set(id, norm((labelsFor.get(id) || "") + " " + l.textContent));
    }
  }
  function role(el) {
    const r = el.getAttribute("role");
    if (r) return r.split(" ")[0];
    const tag = el.localName;
    if (tag === "a" || tag === "area") return el.hasAttribute("href") ? "link" : "";
    if (tag === "button") return "button";
    if (tag === "textarea") return "textbox";
    if (tag === "select") return el.multiple || el.size > 1 ? "listbox" : "combobox";
    if (tag === "input") {
      const t = (el.getAttribute("type") || "text").toLowerCase();
      if (t === "hidden") return "";
      if (t === "text" || t === "search" || t === "email" || t === "tel" || t === "url") {
        if (el.hasAttribute("list")) return "combobox";
      }
      return INPUT_ROLES[t] || "textbox";
    }
    if (tag === "summary") return "button";
    if (el.isContentEditable) return "textbox";
    return "";
  }
  function idText(root, ids) {
    return norm(ids.split(/\s+/).map((id) => {
      const t = root.getElementById ? root.getElementById(id) : null;
      return t ? t.textContent : "";
    }).join(" "));
  }
  function labelOf(el, root) {
    if (el.id && labelsFor.has(el.id)) return labelsFor.get(el.id);
    const wrap = el.closest("label");
    return wrap && wrap !== el ? norm(wrap.textContent) : "";
  }
  function nameOf(el, r, root, label) {
    const lb = el.getAttribute("aria-labelledby");
    if (lb) { const t = idText(root, lb); if (t) return t; }
    const al = norm(el.getAttribute("aria-label"));
    if (al) return al;
    const tag = el.localName;
    if (tag === "input" || tag === "select" || tag === "textarea") {
      if (label) return label;
      const t = (el.getAttribute("type") || "").toLowerCase();
      if (t === "submit" || t === "button" || t === "reset") {
        return norm(el.value) || (t === "submit" ? "Submit" : t === "reset" ? "Reset" : "");
      }
      if (t === "image") return norm(el.getAttribute("alt"));
      return norm(el.getAttribute("title")) || norm(el.getAttribute("placeholder"));
    }
    if (tag === "img" || tag === "area") return norm(el.getAttribute("alt") || el.title);
    let text = norm(el.textContent);
    if (!text) {
      const img = el.querySelector("img[alt],svg title,[aria-label]");
      if (img) text = norm(img.getAttribute("alt") || img.getAttribute("aria-label") ||
        img.textContent);
    }
    return clip(text || norm(el.getAttribute("title")), 200);
  }

  // textContent runs table cells together ("BobEdit"); joining text nodes keeps words apart.
  function spacedText(el) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
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
    const row = el.closest("tr,[role=row],li");
    const rowText = row ? clip(spacedText(row), 160) : "";
    const group = el.closest("fieldset,form,section,dialog,[role=dialog]");
    let groupText = "";
    if (group) {
      const legend = group.querySelector("legend,h1,h2,h3,h4,h5,h6,[aria-label]");
      groupText = norm(group.getAttribute("aria-label")) ||
        (legend ? clip(norm(legend.textContent), 80) : "");
    }
    return [intern(rowText), intern(groupText), intern(heading)];
  }

  function visit(el, root, hosts, force) {
    if (HEADING.test(el.tagName)) heading = clip(norm(el.textContent), 80);
    const r = role(el);
    const tag = el.localName;
    let keep = force || r !== "" || el.hasAttribute("onclick") || el.isContentEditable ||
      (el.hasAttribute("tabindex") && el.getAttribute("tabindex") !== "-1");
    if (!force && (tag === "label" || tag === "details")) keep = false;
    if (!force && r && !WIDGET_ROLES.has(r) && !el.hasAttribute("onclick") &&
        !el.hasAttribute("tabindex") && !el.isContentEditable) keep = false;
    if (!keep) return;
    const rect = el.getBoundingClientRect();
    const visible = rect.width > 0 && rect.height > 0 &&
      el.checkVisibility({visibilityProperty: true});
    const label = labelOf(el, root);
    const name = nameOf(el, r, root, label);
    const type = tag === "input" ? (el.getAttribute("type") || "text").toLowerCase() : "";
    const text = tag === "input" || tag === "select" ? "" : clip(norm(el.textContent), 200);
    let value = null;
    if ((tag === "input" && type !== "password" && type !== "checkbox" && type !== "radio") ||
        tag === "textarea") value = el.value;
    else if (tag === "select") value = el.selectedOptions.length ? el.selectedOptions[0].label : "";
    else if (el.isContentEditable) value = clip(norm(el.textContent), 200);
    const checked = type === "checkbox" || type === "radio" ? el.checked :
      el.hasAttribute("aria-checked") ? el.getAttribute("aria-checked") === "true" : null;
    const expanded = el.hasAttribute("aria-expanded") ?
      el.getAttribute("aria-expanded") === "true" :
      tag === "summary" && el.parentElement ? !!el.parentElement.open : null;
    const selected = el.hasAttribute("aria-selected") ?
      el.getAttribute("aria-selected") === "true" : null;
    const disabled = !!el.disabled || el.getAttribute("aria-disabled") === "true";
    const placeholder = norm(el.getAttribute("placeholder"));
    const testid = el.getAttribute("data-testid");
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
    if (el.id) item.id = el.id;
    if (el.hasAttribute("href")) item.href = el.getAttribute("href");
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
    for (const el of root.querySelectorAll("*")) {
      visit(el, root, hosts);
      if (el.shadowRoot) walk(el.shadowRoot, hosts.concat([cssPath(el)]));
    }
  }
  if (single) {
    const hosts = [];
    let root = single.getRootNode();
    while (root && root.host) {
      hosts.unshift(cssPath(root.host));
      root = root.host.getRootNode();
    }
    const own = single.getRootNode();
    indexLabels(own);
    const head = [...document.querySelectorAll("h1,h2,h3,h4,h5,h6")].filter(
      (h) => h.compareDocumentPosition(single) & Node.DOCUMENT_POSITION_FOLLOWING).pop();
    heading = head ? clip(norm(head.textContent), 80) : "";
    visit(single, own, hosts, true);
    return JSON.stringify({strings, items: out});
  }
  walk(document, []);
  return JSON.stringify({strings, items: out});
}
