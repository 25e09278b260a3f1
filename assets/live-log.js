// The live view of a service's log on /admin/services/<svc> (issue 14).
// Served by the hub as a file of its own (the page's CSP allows
// `script-src 'self'` and nothing inline). Without it the page still shows
// the recent log; with it, new lines are appended as they are logged.
//
// An EventSource cannot send a header, so no credential goes in its URL:
// the page trades its session (and the CSRF token, in `X-CSRF-Token`) for
// a one-time ticket at POST /api/ui/sse-ticket and opens the stream with
// it. A ticket opens one stream, so after any error the view mints a new
// one and reopens from the last line it saw (`last_event_id`).
(function () {
  "use strict";
  var section = document.getElementById("live-log");
  var csrfField = document.getElementById("live-log-csrf");
  if (!section || !csrfField || !window.EventSource || !window.fetch) {
    return;
  }
  var service = section.getAttribute("data-service");
  var MAX_LINES = 500;
  var lastId = null;
  var failures = 0;

  var heading = document.createElement("h2");
  heading.textContent = "Live log";
  var status = document.createElement("p");
  status.id = "live-log-status";
  var lines = document.createElement("pre");
  lines.id = "live-log-lines";
  section.appendChild(heading);
  section.appendChild(status);
  section.appendChild(lines);

  function say(text) {
    status.textContent = text;
  }

  function append(text) {
    var line = document.createElement("div");
    line.className = "line";
    line.textContent = text;
    lines.appendChild(line);
    while (lines.childElementCount > MAX_LINES) {
      lines.removeChild(lines.firstElementChild);
    }
    lines.scrollTop = lines.scrollHeight;
  }

  function retry() {
    failures += 1;
    var wait = Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5)));
    say("Reconnecting…");
    window.setTimeout(open, wait);
  }

  function streamUrl(ticket) {
    var url = "/api/services/" + encodeURIComponent(service) +
      "/logs/stream?ticket=" + encodeURIComponent(ticket);
    if (lastId) {
      url += "&last_event_id=" + encodeURIComponent(lastId);
    }
    return url;
  }

  function listen(ticket) {
    var source = new EventSource(streamUrl(ticket));
    source.onopen = function () {
      failures = 0;
      say("Live: new lines appear below as they are logged.");
    };
    source.onmessage = function (ev) {
      if (ev.lastEventId) {
        lastId = ev.lastEventId;
      }
      append(ev.data);
    };
    source.onerror = function () {
      // The ticket is spent; reopening needs a fresh one.
      source.close();
      retry();
    };
  }

  function open() {
    say("Connecting…");
    fetch("/api/ui/sse-ticket", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfField.value },
    }).then(function (r) {
      if (!r.ok) {
        say("The live log is unavailable (" + r.status + "); reload the page to try again.");
        return null;
      }
      return r.json();
    }).then(function (body) {
      if (body && body.ticket) {
        listen(body.ticket);
      }
    }).catch(retry);
  }

  open();
})();
