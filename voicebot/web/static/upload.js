// Upload a recording from the browser (a video-call tool's file, a phone's memo) through the same routes
// as `voicebot upload`: the file's sha256 names the upload, GET /api/uploads/<sha256> says which pieces the
// server already has, each missing piece goes in a PUT of its own (retried while the network or the server
// is away), then POST .../finish puts them together, checks the sha256 and queues the meeting. Choosing
// the same file again after a cut, a closed tab or a reboot sends only the pieces the server lacks.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var input = document.getElementById("upload-file");
  var zone = document.getElementById("upload-zone");
  var chosen = document.getElementById("upload-chosen");
  var when = document.getElementById("upload-recorded");
  var bar = document.getElementById("upload-progress");
  var state = document.getElementById("upload-state");
  var button = form.querySelector("button[type=submit]");
  var PIECE = parseInt(form.dataset.pieceBytes, 10);
  var LIMIT = parseInt(form.dataset.maxBytes, 10);
  var CSRF = form.dataset.csrf;
  var RETRY_MAX_MS = 30000;

  // --- SHA-256 (FIPS 180-4), fed slice by slice: crypto.subtle cannot hash in steps, and a page served
  // over plain http on the office network (not localhost) has no crypto.subtle at all.
  function constants(count, root) {
    var primes = [], out = new Uint32Array(count), n = 2;
    while (primes.length < count) {
      if (primes.every(function (p) { return n % p; })) { primes.push(n); }
      n++;
    }
    primes.forEach(function (p, i) {
      var r = root(p);
      out[i] = Math.floor((r - Math.floor(r)) * 4294967296);
    });
    return out;
  }
  var K = constants(64, Math.cbrt);
  var H0 = constants(8, Math.sqrt);

  function Sha256() {
    this.h = new Uint32Array(H0);
    this.w = new Uint32Array(64);
    this.block = new Uint8Array(64);
    this.used = 0;
    this.length = 0;
  }

  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }

  Sha256.prototype.compress = function (bytes, at) {
    var w = this.w, h = this.h, i, t1, t2;
    for (i = 0; i < 16; i++) {
      w[i] = (bytes[at + 4 * i] << 24) | (bytes[at + 4 * i + 1] << 16) | (bytes[at + 4 * i + 2] << 8) | bytes[at + 4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
      var s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      var s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (i = 0; i < 64; i++) {
      t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
  };

  Sha256.prototype.update = function (bytes) {
    var i = 0;
    this.length += bytes.length;
    if (this.used) {
      while (this.used < 64 && i < bytes.length) { this.block[this.used++] = bytes[i++]; }
      if (this.used < 64) { return; }
      this.compress(this.block, 0);
      this.used = 0;
    }
    for (; i + 64 <= bytes.length; i += 64) { this.compress(bytes, i); }
    while (i < bytes.length) { this.block[this.used++] = bytes[i++]; }
  };

  Sha256.prototype.hex = function () {
    var bits = this.length * 8, tail = new Uint8Array(this.used < 56 ? 64 - this.used : 128 - this.used), i;
    tail[0] = 0x80;
    for (i = 0; i < 8; i++) { tail[tail.length - 1 - i] = Math.floor(bits / Math.pow(2, 8 * i)) & 255; }
    this.update(tail);
    return Array.prototype.map.call(this.h, function (x) { return ("0000000" + x.toString(16)).slice(-8); }).join("");
  };

  // --- the page
  function say(text, kind) {
    state.textContent = text;
    state.className = kind ? "flash flash-" + kind : "muted";
  }

  function megabytes(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function localInput(ms) {  // a datetime-local value: the local wall-clock time
    var d = new Date(ms);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" +
      pad(d.getMinutes());
  }

  function withOffset(value) {  // "2026-11-24T09:30" (local) -> "2026-11-24T09:30:00+01:00"
    if (!value) { return ""; }
    var d = new Date(value), offset = -d.getTimezoneOffset(), abs = Math.abs(offset);
    return value.slice(0, 16) + ":00" + (offset < 0 ? "-" : "+") + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  function pick(file) {
    chosen.textContent = file ? file.name + " · " + megabytes(file.size) : "";
    if (file && !when.value) { when.value = localInput(file.lastModified); }
  }

  input.addEventListener("change", function () { pick(input.files[0]); });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      pick(input.files[0]);
    }
  });

  function wait(ms) { return new Promise(function (done) { setTimeout(done, ms); }); }

  // One request; resolves {status, body} for any HTTP answer, rejects on a network failure.
  function send(method, url, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRF-Token", CSRF);
      xhr.setRequestHeader("Accept", "application/json");
      if (onProgress) { xhr.upload.onprogress = function (e) { onProgress(e.loaded); }; }
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        resolve({ status: xhr.status, body: data });
      };
      xhr.onerror = function () { reject(new Error("network")); };
      xhr.send(body);
    });
  }

  // The same request until the server answers other than 5xx: a cut network or a restarting server is waited for.
  async function patiently(method, url, body, onProgress) {
    var delay = 1000;
    for (;;) {
      var answer = null;
      try { answer = await send(method, url, body, onProgress); } catch (e) { answer = null; }
      if (answer && answer.status < 500) { return answer; }
      say("The server cannot be reached" + (answer ? " (" + answer.status + ")" : "") + ": trying again in " +
        Math.round(delay / 1000) + " s. Keep this page open; what was sent is kept.", "error");
      await wait(delay);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }

  function refused(answer) {
    var detail = answer.body && answer.body.detail;
    if (Array.isArray(detail)) { detail = detail.map(function (d) { return d.msg; }).join("; "); }
    return new Error(detail || ("the server answered " + answer.status));
  }

  async function hash(file) {
    var sha = new Sha256();
    for (var at = 0; at < file.size; at += PIECE) {
      sha.update(new Uint8Array(await file.slice(at, at + PIECE).arrayBuffer()));
      bar.value = Math.min(at + PIECE, file.size) / file.size * 100;
      say("Reading the file: " + Math.round(bar.value) + " %");
    }
    return sha.hex();
  }

  async function upload(file) {
    bar.hidden = false;
    var digest = await hash(file);
    var base = "/api/uploads/" + digest, count = Math.max(1, Math.ceil(file.size / PIECE));
    for (var round = 0; round < 3; round++) {
      var held = await patiently("GET", base);
      if (held.status !== 200) { throw refused(held); }
      var have = new Set(held.body.pieces), sent = 0;
      have.forEach(function (n) { if (n < count) { sent += Math.min(PIECE, file.size - n * PIECE); } });
      for (var n = 0; n < count; n++) {
        if (have.has(n)) { continue; }
        var piece = file.slice(n * PIECE, (n + 1) * PIECE), before = sent;
        var put = await patiently("PUT", base + "/pieces/" + n, piece, function (loaded) {
          bar.value = (before + loaded) / file.size * 100;
          say("Sending: " + megabytes(before + loaded) + " of " + megabytes(file.size));
        });
        if (put.status !== 200) { throw refused(put); }
        sent += piece.size;
      }
      say("Checking the recording on the server…");
      var data = new FormData(form);
      data.delete("audio");
      data.set("recorded_at", withOffset(when.value));
      data.set("pieces", String(count));
      data.set("filename", file.name);
      var done = await patiently("POST", base + "/finish", data);
      if (done.status === 202) { return done.body; }
      if (done.status !== 409) { throw refused(done); }  // pieces missing (cleaned up meanwhile): send them again
    }
    throw new Error("the server keeps missing pieces of the upload; try again later");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = input.files[0];
    if (!file) { say("Choose a recording first (or drop it on the box).", "error"); return; }
    if (file.size === 0) { say(file.name + " is empty.", "error"); return; }
    if (file.size > LIMIT) {
      say(file.name + " is " + megabytes(file.size) + ": this server takes at most " + megabytes(LIMIT) +
        " (web.max_upload_mb).", "error");
      return;
    }
    button.disabled = true;
    upload(file).then(function (result) {
      bar.value = 100;
      say((result.reused ? "This recording was uploaded before: its meeting goes on." : "Uploaded: processing has started.") +
        " Opening the meeting…", "ok");
      window.location.assign(result.url);
    }, function (error) {
      button.disabled = false;
      say("The upload stopped: " + error.message, "error");
    });
  });
}());
