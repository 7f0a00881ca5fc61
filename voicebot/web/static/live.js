// A meeting being recorded: its transcript grows on the page. Polls /api/meetings/<id>/live (the same
// session and access rule as every route) every few seconds and appends the new lines; when the
// recording has ended and the final transcript is archived, the page reloads to show it.
(function () {
  "use strict";
  var list = document.getElementById("live");
  var state = document.getElementById("live-state");
  if (!list) { return; }
  var shown = 0, every = 3000;

  function clock(seconds) {
    var s = Math.floor(seconds), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return h + ":" + (m < 10 ? "0" : "") + m + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
  }

  function add(seg) {
    var li = document.createElement("li"), at = document.createElement("span"), text = document.createElement("span");
    li.className = "line";
    at.className = "at";
    at.textContent = clock(seg.start);
    text.className = "text";
    text.textContent = seg.text;  // text, never markup
    li.appendChild(at);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(text);
    list.appendChild(li);
  }

  function poll() {
    fetch(list.dataset.url + "?after=" + shown, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        data.segments.forEach(add);
        shown = data.count;
        if (data.done) { window.location.reload(); return; }
        if (!data.recording && state) { state.textContent = "The recording has ended; the minutes are being drafted."; }
        setTimeout(poll, every);
      })
      .catch(function () { setTimeout(poll, every * 3); });
  }
  poll();
})();
