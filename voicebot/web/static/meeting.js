// The meeting page: clicking a line (or a time in the minutes) plays the audio from there,
// and the line being said is highlighted while the audio plays. No inline scripts (CSP).
(function () {
  "use strict";
  var audio = document.getElementById("player");
  var lines = Array.prototype.slice.call(document.querySelectorAll("#transcript .line"));
  var starts = lines.map(function (li) { return parseFloat(li.dataset.start); });
  var ends = lines.map(function (li) { return parseFloat(li.dataset.end); });
  var follow = document.getElementById("follow");
  var box = document.querySelector("section.transcript");
  var current = -1;
  lines.forEach(function (li, i) { if (li.classList.contains("current")) { current = i; } });

  // the line said at time t: the last one starting at or before t, if t is before its end
  // (between two lines, the next one is shown as coming)
  function lineAt(t) {
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    if (found === -1) { return starts.length ? 0 : -1; }
    if (t >= ends[found] && found + 1 < starts.length) { return found + 1; }
    return found;
  }

  function mark(i, scroll) {
    if (i === current) { return; }
    if (current >= 0 && lines[current]) {
      lines[current].classList.remove("current");
      lines[current].removeAttribute("aria-current");
    }
    current = i;
    if (i < 0 || !lines[i]) { return; }
    lines[i].classList.add("current");
    lines[i].setAttribute("aria-current", "true");
    if (scroll) { reveal(lines[i], false); }
  }

  // bring a line into view inside the transcript's own scroll box (wide screens), else in the page
  function reveal(li, center) {
    if (box && box.scrollHeight > box.clientHeight + 1 && getComputedStyle(box).overflowY !== "visible") {
      var r = li.getBoundingClientRect(), b = box.getBoundingClientRect();
      if (center) { box.scrollTop += (r.top - b.top) - (b.height - r.height) / 2; }
      else if (r.top < b.top) { box.scrollTop += r.top - b.top - 8; }
      else if (r.bottom > b.bottom) { box.scrollTop += r.bottom - b.bottom + 8; }
    } else {
      li.scrollIntoView({ block: center ? "center" : "nearest" });
    }
  }

  function seek(t, play) {
    if (!audio) { return; }
    var go = function () {
      audio.currentTime = t;
      mark(lineAt(t), true);
      if (play) {
        var started = audio.play();
        if (started && started.catch) { started.catch(function () {}); }
      }
    };
    if (audio.readyState >= 1) { go(); } else { audio.addEventListener("loadedmetadata", go, { once: true }); audio.load(); }
  }

  if (audio) {
    audio.addEventListener("timeupdate", function () {
      mark(lineAt(audio.currentTime), !follow || follow.checked);
    });
    var startAt = parseFloat(audio.dataset.startAt);
    if (!isNaN(startAt)) { seek(startAt, false); }
  }
  if (current >= 0) { reveal(lines[current], true); }

  document.addEventListener("click", function (event) {
    if (!audio) { return; }
    var target = event.target.closest("[data-seek], #transcript .line");
    if (!target || event.target.closest("form, details, button, input")) { return; }
    if (!target.dataset.seek && String(window.getSelection()).length) { return; }  // selecting text to copy
    var t = parseFloat(target.dataset.seek || target.dataset.start);
    if (isNaN(t)) { return; }
    event.preventDefault();
    seek(t, true);
    history.replaceState(null, "", "?t=" + String(Math.round(t * 1000) / 1000));
  });
})();
