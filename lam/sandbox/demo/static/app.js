// The /app/ pages: a fetch()-driven admin that renders whatever the JSON API answers.
// It logs in through POST /api/login with its own form and keeps the token in localStorage.
"use strict";
(() => {
  const TOKEN_KEY = "lam-demo-token";
  const SPECIES = ["dog", "cat", "bird", "rabbit", "fish"];
  const STATUSES = ["available", "pending", "sold"];
  const root = document.getElementById("app");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function show(...nodes) {
    root.replaceChildren(...nodes);
  }

  function message(text, role) {
    return el("p", { class: role === "alert" ? "error" : "flash", role }, text);
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch("/api" + path, init);
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = { error: text }; }
    }
    if (response.status === 401 && path !== "/login") {
      localStorage.removeItem(TOKEN_KEY);
      showLogin();
      throw new Error("login needed");
    }
    return { status: response.status, ok: response.ok, data };
  }

  function errorText(result) {
    return (result.data && result.data.error) || "Request failed (" + result.status + ")";
  }

  function showLogin(errorMessage) {
    const form = el("form", { "aria-label": "Log in" },
      el("label", { for: "username" }, "Username"),
      el("input", { id: "username", name: "username", autocomplete: "username", required: true }),
      el("label", { for: "password" }, "Password"),
      el("input", { id: "password", name: "password", type: "password", required: true }),
      el("p", {}, el("button", { type: "submit" }, "Log in")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = await api("POST", "/login", {
        username: form.querySelector("#username").value,
        password: form.querySelector("#password").value });
      if (result.ok && result.data && result.data.token) {
        localStorage.setItem(TOKEN_KEY, result.data.token);
        route();
      } else {
        showLogin(errorText(result));
      }
    });
    show(el("h1", {}, "Log in"), errorMessage ? message(errorMessage, "alert") : "", form);
  }

  async function showList() {
    const result = await api("GET", "/pets" + location.search);
    if (!result.ok) return show(el("h1", {}, "Pets"), message(errorText(result), "alert"));
    const rows = result.data.map((pet) => el("tr", {},
      el("td", {}, el("a", { href: "/app/pets/" + pet.id }, pet.name)),
      el("td", {}, pet.species), el("td", {}, pet.status),
      el("td", {}, pet.vaccinated ? "Yes" : "No")));
    const flash = sessionStorage.getItem("lam-demo-flash");
    sessionStorage.removeItem("lam-demo-flash");
    show(el("h1", {}, "Pets"), flash ? message(flash, "status") : "",
      rows.length ? el("table", {},
        el("caption", {}, "Pets"),
        el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", {}, "Species"),
          el("th", {}, "Status"), el("th", {}, "Vaccinated"))),
        el("tbody", {}, ...rows)) : el("p", {}, "No pets."));
  }

  function select(id, values, selected) {
    return el("select", { id, name: id },
      ...values.map((v) => el("option", { value: v, selected: v === selected }, v)));
  }

  function confirmDelete(pet) {
    const dialog = el("div", { class: "modal" },
      el("div", { role: "dialog", "aria-modal": "true", "aria-labelledby": "confirm-title" },
        el("h2", { id: "confirm-title" }, "Delete " + pet.name + "?"),
        el("p", {}, "This cannot be undone."),
        el("button", { type: "button", class: "danger", onclick: async () => {
          dialog.remove();
          const result = await api("DELETE", "/pets/" + pet.id);
          if (result.ok) {
            sessionStorage.setItem("lam-demo-flash", "Deleted " + pet.name);
            location.assign("/app/pets");
          } else {
            root.prepend(message(errorText(result), "alert"));
          }
        } }, "Yes, delete"),
        " ",
        el("button", { type: "button", onclick: () => dialog.remove() }, "Cancel")));
    document.body.append(dialog);
    dialog.querySelector("button").focus();
  }

  function showPet(pet, note, role) {
    const form = el("form", { "aria-label": "Edit " + pet.name },
      el("label", { for: "name" }, "Name"),
      el("input", { id: "name", name: "name", value: pet.name, required: true }),
      el("label", { for: "species" }, "Species"), select("species", SPECIES, pet.species),
      el("label", { for: "status" }, "Status"), select("status", STATUSES, pet.status),
      el("label", { for: "vaccinated" },
        el("input", { type: "checkbox", id: "vaccinated", name: "vaccinated",
          checked: pet.vaccinated }), " Vaccinated"),
      el("label", { for: "notes" }, "Notes"),
      el("textarea", { id: "notes", name: "notes", rows: "4" }, pet.notes),
      el("p", {}, el("button", { type: "submit" }, "Save")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = (id) => form.querySelector("#" + id);
      const result = await api("PATCH", "/pets/" + pet.id, {
        name: field("name").value, species: field("species").value,
        status: field("status").value, vaccinated: field("vaccinated").checked,
        notes: field("notes").value });
      if (result.ok) showPet(result.data, "Saved", "status");
      else showPet(pet, errorText(result), "alert");
    });
    show(el("h1", {}, pet.name), note ? message(note, role) : "", form,
      el("p", {}, el("button", { type: "button", class: "danger",
        onclick: () => confirmDelete(pet) }, "Delete")),
      el("p", {}, el("a", { href: "/app/pets" }, "Back to pets")));
  }

  async function showDetail(petId) {
    const result = await api("GET", "/pets/" + petId);
    if (!result.ok) return show(el("h1", {}, "Pet"), message(errorText(result), "alert"));
    showPet(result.data);
  }

  function route() {
    if (!localStorage.getItem(TOKEN_KEY)) return showLogin();
    const match = location.pathname.match(/^\/app\/pets\/(\d+)$/);
    const view = match ? showDetail(match[1]) : showList();
    view.catch((error) => { if (error.message !== "login needed") throw error; });
  }

  route();
})();
