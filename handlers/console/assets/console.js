// switchboard console: CSRF header for htmx, the live stream, shortcuts.
// No inline script runs on the console's pages (its Content-Security-Policy
// allows only this file and htmx).
(function () {
  "use strict";
  var body = document.body;
  var meta = document.querySelector('meta[name="csrf-token"]');
  body.addEventListener("htmx:configRequest", function (e) {
    if (meta) { e.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  // A part of the page that has to sign in again sends the page there.
  body.addEventListener("htmx:responseError", function (e) {
    if (e.detail.xhr.status === 401) { window.location.assign("/console/login"); }
  });

  function refresh() { if (window.htmx) { window.htmx.trigger(body, "sbrefresh"); } }

  if (body.dataset.live === "1" && window.EventSource) {
    var es = new EventSource("/console/events");
    es.addEventListener("ready", function () {
      // Whatever changed while the stream was not open is read again: after
      // a reconnect, and on the first open too, since a commit between the
      // page's render and the stream's subscription wakes no one.
      refresh();
      body.dataset.stream = "open";
    });
    es.addEventListener("refresh", refresh);
    es.onerror = function () { body.dataset.stream = "closed"; };
  }

  // Shortcuts: j / k move through the inbox's cases, Enter opens one, r
  // goes to the reply, Ctrl+Enter (or Cmd+Enter) sends the form typed in.
  var current = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#rows tr.case")); }
  function select(i) {
    var rs = rows();
    if (rs.length === 0) { return; }
    current = Math.max(0, Math.min(i, rs.length - 1));
    rs.forEach(function (r, j) { r.classList.toggle("selected", j === current); });
    var link = rs[current].querySelector("a");
    if (link) { link.focus(); }
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && t && t.form) {
      e.preventDefault();
      t.form.requestSubmit();
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (e.key === "j") { select(current + 1); }
    else if (e.key === "k") { select(current - 1); }
    else if (e.key === "r") {
      var reply = document.querySelector("#reply textarea");
      if (reply) { e.preventDefault(); reply.focus(); }
    }
  });
})();
