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

  // The parts that read themselves again on a refresh (#messages, #rows,
  // #unread) replace themselves (hx-swap="outerHTML"). A refresh that came
  // while a part's request was in flight would be queued on the element the
  // answer replaces, and one that came between the swap and the settle would
  // find the new element not yet listening: either way it would be lost, and
  // the page would show the change only at the next one. So a refresh waits
  // while any part is busy and goes out once all have settled.
  var busy = 0;
  var held = false;
  function isPart(d) {
    var el = d && (d.target || d.elt);
    return !!el && el.getAttribute && el.getAttribute("hx-trigger") === "sbrefresh from:body";
  }
  function refresh() {
    if (!window.htmx) { return; }
    if (busy > 0) { held = true; return; }
    window.htmx.trigger(body, "sbrefresh");
  }
  function settled() {
    busy = Math.max(0, busy - 1);
    if (busy === 0 && held) { held = false; refresh(); }
  }
  body.addEventListener("htmx:beforeRequest", function (e) { if (isPart(e.detail)) { busy++; } });
  // A successful answer is swapped in and settles; any other ends here.
  body.addEventListener("htmx:afterSettle", function (e) { if (isPart(e.detail)) { settled(); } });
  body.addEventListener("htmx:afterRequest", function (e) {
    if (isPart(e.detail) && !e.detail.successful) { settled(); }
  });

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
