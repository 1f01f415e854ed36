// Mutations of the demo app's saved pages, applied in the page once the DOM is parsed:
//   window.__lamMutate("ids,wrap,...")
// Each kind is a change a web app's next release could make. Elements keep their
// data-truth attribute (the benchmark's ground truth; lam never reads it), decoys have none.
(function () {
  const main = () => document.querySelector("main") || document.body;
  const interactive = () =>
    [...document.querySelectorAll("a,button,input:not([type=hidden]),select,textarea")];

  // "name" -> "name-v2", keeping label[for] tied to the field.
  function ids() {
    for (const el of document.querySelectorAll("[id]")) {
      const old = el.id;
      el.id = old + "-v2";
      for (const label of document.querySelectorAll(`label[for="${old}"]`)) {
        label.htmlFor = el.id;
      }
    }
  }

  // Every class token renamed (as a CSS-modules build would).
  function classes() {
    for (const el of document.querySelectorAll("[class]")) {
      el.className = [...el.classList].map((c) => `x_${c}_3f`).join(" ");
    }
  }

  // Siblings reversed: form fields (label with field), table rows, nav links.
  function reorder() {
    for (const form of main().querySelectorAll("form")) {
      const pairs = [];
      let current = [];
      for (const child of [...form.children]) {
        if (child.localName === "label" && current.length) {
          pairs.push(current);
          current = [];
        }
        current.push(child);
      }
      if (current.length) pairs.push(current);
      if (pairs.length < 2) continue;
      for (const group of pairs.reverse()) for (const el of group) form.appendChild(el);
    }
    for (const body of document.querySelectorAll("tbody,nav")) {
      for (const child of [...body.children].reverse()) body.appendChild(child);
    }
  }

  // Elements moved to another container: nav to a footer, paragraphs of links and buttons to
  // the top of their container, the log-out form into main.
  function move() {
    const footer = document.createElement("footer");
    document.body.appendChild(footer);
    const nav = document.querySelector("nav");
    if (nav) footer.appendChild(nav);
    for (const p of [...main().querySelectorAll("p")]) {
      if (p.querySelector("a,button")) p.parentElement.prepend(p);
    }
    const logout = document.querySelector("header form");
    if (logout) main().prepend(logout);
  }

  // Every control wrapped in two new elements.
  function wrap() {
    for (const el of interactive()) {
      const outer = document.createElement("div");
      outer.className = "field-wrap";
      const inner = document.createElement("span");
      el.replaceWith(outer);
      outer.appendChild(inner);
      inner.appendChild(el);
    }
  }

  const WORDING = {
    "Username": "User name",
    "Password": "Your password",
    "Log in": "Log in now",
    "Name": "Pet name",
    "Species": "Pet species",
    "Status": "Pet status",
    "Notes": "Notes (optional)",
    "Vaccinated": "Vaccinated?",
    "Save": "Save changes",
    "Filter": "Apply filter",
    "Add a pet": "Add a new pet",
    "Yes, delete": "Yes, delete it",
    "No, take me back": "No, go back",
    "Orders": "All orders",
    "New pet": "New pet…",
    "Log out": "Sign out",
  };
  const REWORD_ARIA = [[/^Edit (.*)$/, "Edit pet $1"], [/^Delete (.*)$/, "Delete pet $1"]];

  // Labels, buttons and links reworded slightly.
  function reword() {
    const walker = document.createTreeWalker(main().parentElement, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const node of nodes) {
      const text = node.textContent.trim();
      const parent = node.parentElement;
      if (!parent || parent.closest("thead,h1,title,style,script,option,td:first-child")) continue;
      if (WORDING[text]) node.textContent = node.textContent.replace(text, WORDING[text]);
    }
    for (const el of document.querySelectorAll("[aria-label]")) {
      for (const [pattern, replacement] of REWORD_ARIA) {
        const label = el.getAttribute("aria-label");
        if (pattern.test(label)) el.setAttribute("aria-label", label.replace(pattern, replacement));
      }
    }
  }

  // Next to every control, a decoy of the same kind with similar text.
  function decoy() {
    let n = 0;
    for (const el of interactive()) {
      n += 1;
      if (el.localName === "button") {
        const fake = document.createElement("button");
        fake.type = "button";
        const aria = el.getAttribute("aria-label");
        if (aria) fake.setAttribute("aria-label", `${aria} later`);
        fake.textContent = aria ? el.textContent : `${el.textContent.trim()} later`;
        el.after(" ", fake);
      } else if (el.localName === "a") {
        const fake = document.createElement("a");
        fake.href = el.getAttribute("href") + "/help";
        fake.textContent = `${el.textContent.trim()} help`;
        el.after(" ", fake);
      } else if (!(el.labels && el.labels[0]) && el.placeholder) {
        const fake = el.cloneNode(true);
        fake.removeAttribute("data-truth");
        fake.required = false;
        fake.name = `${el.name || "field"}_all`;
        fake.placeholder = `${el.placeholder} (advanced)`;
        el.after(" ", fake);
      } else {
        const label = el.labels && el.labels[0];
        if (!label) continue;
        const fake = el.cloneNode(true);
        fake.removeAttribute("data-truth");
        fake.required = false;
        fake.id = `decoy-${n}`;
        fake.name = `${el.name || "field"}_confirm`;
        const fakeLabel = document.createElement("label");
        fakeLabel.htmlFor = fake.id;
        fakeLabel.textContent = `${label.textContent.trim()} (confirm)`;
        const anchor = label.contains(el) ? label : el;
        anchor.after(fakeLabel, fake);
      }
    }
  }

  // The form's submit button gone; two look-alikes in its place (a replay must refuse).
  function twins() {
    const submit = main().querySelector("form button[type=submit]");
    if (!submit) return;
    for (const suffix of ["draft", "copy"]) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `${submit.textContent.trim()} ${suffix}`;
      submit.parentElement.append(b);
    }
    submit.remove();
  }

  // Ids as a component library generates them (React's useId style), label[for] kept.
  function generatedIds(prefix) {
    let n = 0;
    for (const el of document.querySelectorAll("[id]")) {
      const old = el.id;
      n += 1;
      el.id = `${prefix}${n.toString(36)}${prefix.slice(0, 1)}`;
      for (const label of document.querySelectorAll(`label[for="${old}"]`)) {
        label.htmlFor = el.id;
      }
    }
  }

  // Utility classes (as a Tailwind-style restyle writes them) instead of the old names.
  function utilityClasses(tokens) {
    for (const el of document.querySelectorAll("[class]")) el.className = tokens;
    for (const el of interactive()) el.className = `${tokens} ${el.localName}-${tokens.length}`;
  }

  function replaceText(wording) {
    const walker = document.createTreeWalker(main().parentElement, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    for (const node of nodes) {
      const text = node.textContent.trim();
      const parent = node.parentElement;
      if (!parent || parent.closest("thead,h1,title,style,script,option,td:first-child")) continue;
      if (wording[text]) node.textContent = node.textContent.replace(text, wording[text]);
    }
  }

  // A redesign (what a new component library or design system does to a page; tuned on):
  // generated ids, utility classes, new placeholder text, every control wrapped in the new
  // components' elements, a few buttons and links with a word more or less. What stays is
  // what the user sees: each control's role, its form, its place under its heading.
  const REDESIGN_WORDING = {
    "Filter": "Filter pets",
    "Save": "Save pet",
    "Add a pet": "Add pet",
    "Yes, delete": "Yes, delete pet",
    "No, take me back": "No, take me back to the pet",
  };
  function redesign() {
    generatedIds(":r");
    utilityClasses("px-2 py-1 rounded");
    for (const el of document.querySelectorAll("[placeholder]")) {
      el.placeholder = {"Search pets": "Find a pet by name…"}[el.placeholder] || "Type here";
    }
    replaceText(REDESIGN_WORDING);
    wrap();
  }

  // Another redesign, held out (never tuned on): ids and classes as another framework writes
  // them, labels turned into placeholders ("floating labels": the visible label element is
  // gone), other placeholder text, navigation moved, rows reordered, the reword wording.
  function overhaul() {
    generatedIds("mui-");
    utilityClasses("MuiInput-root css-1x5jdmq");
    for (const el of interactive()) {
      const label = el.labels && el.labels[0];
      if (label && !label.contains(el) && el.localName !== "select") {
        el.placeholder = label.textContent.trim();
        label.remove();
      }
    }
    for (const el of document.querySelectorAll("input[type=search]")) {
      el.placeholder = "Look up pets";
    }
    reword();
    reorder();
    move();
  }

  const KINDS = {ids, classes, reorder, move, wrap, reword, decoy, twins, redesign, overhaul};
  const ALL = ["ids", "classes", "reword", "decoy", "reorder", "move", "wrap"];
  window.__lamMutate = (spec) => {
    const kinds = spec === "all" ? ALL : spec.split(",").filter(Boolean);
    for (const kind of kinds) KINDS[kind]();
  };
})();
