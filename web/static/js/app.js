// Small and optional: the pages work without it. Ticks ages, marks overdue rows, shows the live state,
// night mode, sound for new P1 incidents and camera alerts (after the user allows it), keyboard shortcuts.
// Boosted links replace the page's content, so everything is looked up when it is needed, never kept.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function page() { return document.querySelector(".page") || document.body; }

  function duration(seconds) {
    var u = page().dataset;
    if (seconds < 60) return seconds + " " + u.unitS;
    var m = Math.floor(seconds / 60);
    if (m < 60) return m + " " + u.unitMin;
    var h = Math.floor(m / 60);
    if (h < 24) return h + " " + u.unitH + (m % 60 ? " " + (m % 60) + " " + u.unitMin : "");
    var d = Math.floor(h / 24);
    return d + " " + u.unitD + (h % 24 ? " " + (h % 24) + " " + u.unitH : "");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-since]").forEach(function (el) {
      var seconds = Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 1000));
      el.textContent = duration(seconds);
      var limit = parseInt(el.dataset.limit || "0", 10);
      var row = limit && el.closest("tr");
      if (row) row.classList.toggle("overdue", seconds > limit);
    });
  }
  setInterval(tick, 5000);

  // Live indicator of the board's stream
  function setLive(ok) {
    var live = document.getElementById("live");
    if (!live) return;
    live.classList.toggle("ok", ok);
    live.classList.toggle("down", !ok);
    live.querySelector(".live-text").textContent = ok ? live.dataset.live : live.dataset.reconnecting;
  }
  document.addEventListener("htmx:sseOpen", function () { setLive(true); });
  document.addEventListener("htmx:sseError", function () { setLive(false); });
  document.addEventListener("htmx:sseClose", function () { setLive(false); });
  document.addEventListener("htmx:sseMessage", function () { setLive(true); });

  // Night mode and sound, remembered on this device
  var soundOn = localStorage.getItem("ssz-sound") === "1";
  function night() { return localStorage.getItem("ssz-night") === "1"; }
  function showToggles() {
    document.documentElement.classList.toggle("night", night());
    var theme = document.getElementById("theme-toggle");
    if (theme) theme.textContent = night() ? theme.dataset.day : theme.dataset.night;
    var sound = document.getElementById("sound-toggle");
    if (sound) sound.textContent = soundOn ? sound.dataset.on : sound.dataset.off;
  }
  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.35);
    } catch (e) { /* no audio here */ }
  }
  document.addEventListener("click", function (e) {
    var target = e.target.closest("#theme-toggle, #sound-toggle");
    if (!target) return;
    if (target.id === "theme-toggle") localStorage.setItem("ssz-night", night() ? "0" : "1");
    else { soundOn = !soundOn; localStorage.setItem("ssz-sound", soundOn ? "1" : "0"); if (soundOn) beep(); }
    showToggles();
  });

  // A sound for a new P1 incident or a new camera alert arriving on the board
  var known = null;
  document.addEventListener("htmx:sseBeforeMessage", function () {
    known = {};
    document.querySelectorAll("[data-key]").forEach(function (el) { known[el.dataset.key] = true; });
  });
  document.addEventListener("htmx:afterSettle", function () {
    tick();
    showToggles();
    if (!known) return;
    var fresh = false;
    document.querySelectorAll("[data-key][data-loud]").forEach(function (el) { if (!known[el.dataset.key]) fresh = true; });
    known = null;
    if (fresh && soundOn) beep();
  });

  // Keyboard: n = new incident, / = search, a = first assign box on the board
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "n") { window.location.href = "/incidents/new"; }
    else if (e.key === "/") { e.preventDefault(); window.location.href = "/incidents"; }
    else if (e.key === "a") {
      var select = document.querySelector(".panel-pending select");
      if (select) { e.preventDefault(); select.focus(); }
    }
  });
  // Red-box check-in: the phone's position, when the officer allows it, goes with the check-in. The button
  // works at once; the position is added if it arrives first (the form also works without it).
  function geolocate() {
    var form = document.querySelector("form[data-geolocate]");
    if (!form || form.dataset.located || !navigator.geolocation) return;
    form.dataset.located = "asking";
    var status = form.querySelector("[data-geo-status]");
    navigator.geolocation.getCurrentPosition(function (p) {
      form.elements.lat.value = p.coords.latitude.toFixed(6);
      form.elements.lon.value = p.coords.longitude.toFixed(6);
      form.dataset.located = "yes";
      if (status) status.textContent = status.dataset.found.replace("{metres}", Math.round(p.coords.accuracy));
    }, function () {
      form.dataset.located = "no";
      if (status) status.textContent = status.dataset.missing;
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
  }
  document.addEventListener("htmx:afterSettle", geolocate);

  showToggles();
  tick();
  geolocate();
})();
