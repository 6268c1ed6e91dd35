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
    if (sound) { sound.textContent = soundOn ? sound.dataset.on : sound.dataset.off; sound.setAttribute("aria-pressed", soundOn ? "true" : "false"); }
  }
  // Sound. Browsers start audio only after a gesture on the page: the context is made (or resumed) on the first
  // click or key press, and a beep that comes before it waits for it, with a notice that says so. Every alarm key
  // (a P1 incident, a camera alert) sounds once per tab, the first one too, also when it was on the page at load.
  var audio = null, owed = false;
  function unlockAudio() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
    } catch (e) { audio = null; }
  }
  function tone() {
    var osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.15;
    osc.connect(gain); gain.connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + 0.35);
    var root = document.documentElement;
    root.dataset.beeps = String(parseInt(root.dataset.beeps || "0", 10) + 1);
  }
  function beep() {
    try {
      unlockAudio();
      if (!audio) return;
      if (audio.state === "running") { tone(); owed = false; }
      else { owed = true; audio.resume().then(function () { if (owed && audio.state === "running") { owed = false; tone(); } }); }
    } catch (e) { /* no audio here */ }
    var blocked = document.getElementById("sound-blocked");
    if (blocked) blocked.hidden = !owed;
  }
  ["pointerdown", "keydown"].forEach(function (type) {
    document.addEventListener(type, function () {
      if (!soundOn) return;
      unlockAudio();
      if (owed && audio) {
        audio.resume().then(function () {
          if (owed && audio.state === "running") { owed = false; tone(); }
          var blocked = document.getElementById("sound-blocked");
          if (blocked) blocked.hidden = true;
        });
      }
    }, true);
  });
  function sounded() {
    try { return JSON.parse(sessionStorage.getItem("ssz-sounded") || "{}"); } catch (e) { return {}; }
  }
  function soundNewAlarms() {
    var done = sounded(), fresh = false;
    document.querySelectorAll("[data-key][data-loud]").forEach(function (el) {
      if (!done[el.dataset.key]) { done[el.dataset.key] = 1; fresh = true; }
    });
    sessionStorage.setItem("ssz-sounded", JSON.stringify(done));
    if (fresh && soundOn) beep();
  }
  function toggleSound() {
    soundOn = !soundOn;
    localStorage.setItem("ssz-sound", soundOn ? "1" : "0");
    if (soundOn) beep();
    showToggles();
  }
  function toggleNight() { localStorage.setItem("ssz-night", night() ? "0" : "1"); showToggles(); }
  document.addEventListener("click", function (e) {
    var target = e.target.closest("#theme-toggle, #sound-toggle, #help-open, .print-button");
    if (!target) return;
    if (target.id === "theme-toggle") toggleNight();
    else if (target.id === "sound-toggle") toggleSound();
    else if (target.id === "help-open") toggleHelp();
    else window.print();
  });

  // The board's filters and sort, applied in the page to every live update (the form also works without JavaScript)
  function boardFilters() {
    var form = document.getElementById("board-filters");
    if (!form) return null;
    var prios = Array.prototype.map.call(form.querySelectorAll("input[name=priority]:checked"), function (i) { return i.value; });
    return { form: form, priority: prios, community: form.elements.community.value, sort: form.elements.sort.value };
  }
  var PRIO = { P1: 1, P2: 2, P3: 3, P4: 4 };
  function applyFilters() {
    var f = boardFilters();
    if (!f) return;
    document.querySelectorAll(".panel-pending tbody, .panel-active tbody").forEach(function (body) {
      var rows = Array.prototype.slice.call(body.querySelectorAll("tr[data-priority]"));
      rows.forEach(function (row) {
        var show = (!f.priority.length || f.priority.indexOf(row.dataset.priority) >= 0) &&
          (!f.community || row.dataset.community === f.community);
        row.hidden = !show;
      });
      rows.sort(function (a, b) {
        var pa = PRIO[a.dataset.priority], pb = PRIO[b.dataset.priority];
        var ta = Date.parse(a.dataset.reported), tb = Date.parse(b.dataset.reported);
        if (f.sort === "age") return ta - tb;
        if (f.sort === "community" && a.dataset.community !== b.dataset.community) return a.dataset.community < b.dataset.community ? -1 : 1;
        return pa - pb || ta - tb;
      }).forEach(function (row) { body.appendChild(row); });
    });
    var note = document.getElementById("filter-note");
    if (note) note.hidden = !(f.priority.length || f.community);
  }
  document.addEventListener("change", function (e) {
    var form = e.target.closest("#board-filters");
    if (!form) return;
    var query = new URLSearchParams(new FormData(form)).toString();
    history.replaceState(history.state, "", "/board" + (query ? "?" + query : ""));
    applyFilters();
  });
  document.addEventListener("submit", function (e) {
    if (e.target.id === "board-filters") { e.preventDefault(); applyFilters(); }
  }, true);

  document.addEventListener("htmx:afterSettle", function () {
    tick();
    showToggles();
    applyFilters();
    soundNewAlarms();
  });

  // Keyboard: ? help, a first unit picker, n new incident, / search, f filters, s sound, m night mode
  function toggleHelp() {
    var help = document.getElementById("shortcuts");
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    var help = document.getElementById("shortcuts");
    if (e.key === "?") { e.preventDefault(); toggleHelp(); return; }
    if (help && help.open) return;
    if (e.key === "n") { window.location.href = "/incidents/new"; }
    else if (e.key === "/") {
      e.preventDefault();
      var box = document.getElementById("board-q") || document.getElementById("q");
      if (box) box.focus(); else window.location.href = "/incidents";
    }
    else if (e.key === "a") {
      var select = document.querySelector(".panel-pending tr:not([hidden]) select");
      if (select) { e.preventDefault(); select.focus(); }
    }
    else if (e.key === "f") {
      var first = document.querySelector("#board-filters input");
      if (first) { e.preventDefault(); first.focus(); }
    }
    else if (e.key === "s" && document.getElementById("sound-toggle")) { toggleSound(); }
    else if (e.key === "m") { toggleNight(); }
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
  applyFilters();
  soundNewAlarms();
  geolocate();
})();
