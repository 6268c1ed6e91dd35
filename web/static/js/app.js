// Small and optional: the pages work without it. Ticks ages, marks overdue rows, shows the live state,
// night mode, sound for new P1 incidents and camera alerts (after the user allows it), keyboard shortcuts.
(function () {
  "use strict";
  var body = document.body;
  var units = { s: body.dataset.unitS, min: body.dataset.unitMin, h: body.dataset.unitH, d: body.dataset.unitD };
  document.documentElement.classList.add("js");

  function duration(seconds) {
    if (seconds < 60) return seconds + " " + units.s;
    var m = Math.floor(seconds / 60);
    if (m < 60) return m + " " + units.min;
    var h = Math.floor(m / 60);
    if (h < 24) return h + " " + units.h + (m % 60 ? " " + (m % 60) + " " + units.min : "");
    var d = Math.floor(h / 24);
    return d + " " + units.d + (h % 24 ? " " + (h % 24) + " " + units.h : "");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-since]").forEach(function (el) {
      var seconds = Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 1000));
      el.textContent = duration(seconds);
      var limit = parseInt(el.dataset.limit || "0", 10);
      if (limit) {
        var row = el.closest("tr");
        if (row) row.classList.toggle("overdue", seconds > limit);
      }
    });
  }
  setInterval(tick, 5000);
  document.addEventListener("htmx:afterSwap", tick);

  // Live indicator
  var live = document.getElementById("live");
  function setLive(ok) {
    if (!live) return;
    live.classList.toggle("ok", ok);
    live.classList.toggle("down", !ok);
    live.querySelector(".live-text").textContent = ok ? live.dataset.live : live.dataset.reconnecting;
  }
  document.addEventListener("htmx:sseOpen", function () { setLive(true); });
  document.addEventListener("htmx:sseError", function () { setLive(false); });
  document.addEventListener("htmx:sseClose", function () { setLive(false); });

  // Night mode, remembered on this device
  var themeButton = document.getElementById("theme-toggle");
  function applyTheme(night) {
    document.documentElement.classList.toggle("night", night);
    if (themeButton) themeButton.textContent = night ? themeButton.dataset.day : themeButton.dataset.night;
  }
  applyTheme(localStorage.getItem("ssz-night") === "1");
  if (themeButton) themeButton.addEventListener("click", function () {
    var night = !document.documentElement.classList.contains("night");
    localStorage.setItem("ssz-night", night ? "1" : "0");
    applyTheme(night);
  });

  // Sound: only after the user allows it; only for a new P1 incident or a new camera alert
  var soundButton = document.getElementById("sound-toggle");
  var soundOn = localStorage.getItem("ssz-sound") === "1";
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
  function showSound() { if (soundButton) soundButton.textContent = soundOn ? soundButton.dataset.on : soundButton.dataset.off; }
  showSound();
  if (soundButton) soundButton.addEventListener("click", function () {
    soundOn = !soundOn; localStorage.setItem("ssz-sound", soundOn ? "1" : "0"); showSound(); if (soundOn) beep();
  });
  function seen(selector) {
    var set = {};
    document.querySelectorAll(selector).forEach(function (el) { set[el.dataset.key] = true; });
    return set;
  }
  var known = null;
  document.addEventListener("htmx:sseBeforeMessage", function () { known = seen("[data-key]"); });
  document.addEventListener("htmx:afterSettle", function () {
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
  tick();
})();
