// The live view of a service's log on /admin/services/<svc> (issue 14).
// Served by the hub as a file of its own (the page's CSP allows
// `script-src 'self'` and nothing inline). Without it the page still shows
// the recent log; with it, new lines are appended as they are logged.
//
// An EventSource cannot send a header, so no credential goes in its URL:
// the page trades its session (and the CSRF token, in `X-CSRF-Token`) for
// a one-time ticket at POST /api/ui/sse-ticket and opens the stream with
// it. A ticket opens one stream, so after any error the view mints a new
// one and reopens from the last line it saw (`last_event_id`). The hub's
// own log needs step-up: its page has a PIN form, which this trades for a
// step-up token at POST /api/step-up and sends with each mint.
(function () {
  "use strict";
  var section = document.getElementById("live-log");
  var csrfField = document.getElementById("live-log-csrf");
  if (!section || !csrfField || !window.EventSource || !window.fetch) {
    return;
  }
  var service = section.getAttribute("data-service");
  // The hub's own log needs a step-up token of this session at mint time.
  var stepUpForm = document.getElementById("live-log-step-up");
  var pinInput = document.getElementById("live-log-pin");
  var stepUpToken = null;
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

  function askPin(text) {
    say(text || "Streaming the hub's own log needs your step-up PIN.");
    stepUpForm.hidden = false;
    pinInput.focus();
  }

  function stepUp(ev) {
    ev.preventDefault();
    fetch("/api/step-up", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfField.value, "Content-Type": "application/json" },
      body: JSON.stringify({ pin: pinInput.value }),
    }).then(function (r) {
      pinInput.value = "";
      if (!r.ok) {
        askPin(r.status === 429 ? "Too many PIN attempts; wait and try again." : "That PIN was refused.");
        return null;
      }
      return r.json();
    }).then(function (body) {
      if (body) {
        stepUpToken = body.token || body.stepUpToken;
        stepUpForm.hidden = true;
        open();
      }
    }).catch(function () {
      askPin("The hub could not be reached; try again.");
    });
  }

  function open() {
    if (stepUpForm && !stepUpToken) {
      askPin();
      return;
    }
    say("Connecting…");
    var headers = { "X-CSRF-Token": csrfField.value };
    if (stepUpToken) {
      headers["X-Step-Up-Token"] = stepUpToken;
    }
    fetch("/api/ui/sse-ticket", {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
    }).then(function (r) {
      if (r.status === 403 && stepUpForm) {
        stepUpToken = null;
        askPin("Your step-up expired; enter your PIN again.");
        return null;
      }
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

  if (stepUpForm) {
    stepUpForm.addEventListener("submit", stepUp);
  }
  open();
})();
