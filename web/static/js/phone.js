// The officer's phone (/my): a new assignment that arrives on the page's stream vibrates, beeps and, while the page
// is in the background, shows a notification (each only where the officer allowed it); the phone's position, when
// the officer agreed to share it, goes to /my/position whenever they act (a tap on /my, a red-box check-in).
(function () {
  "use strict";
  var SHARE = "ssz-share-position", ALERTS = "ssz-phone-alerts";
  var fix = null, watching = null, audio = null;

  function sharing() { return localStorage.getItem(SHARE) === "1"; }
  function alerting() { return localStorage.getItem(ALERTS) === "1"; }
  function csrf() {
    var field = document.querySelector("input[name='csrf_token']");
    return field ? field.value : "";
  }
  function status(text) {
    var el = document.querySelector("[data-position-status]");
    if (el) el.textContent = text;
  }

  function watch() {
    if (!sharing() || watching !== null || !navigator.geolocation) return;
    watching = navigator.geolocation.watchPosition(function (p) { fix = p.coords; }, function () {
      var el = document.querySelector("[data-position-status]");
      if (el) status(el.dataset.denied);
    }, { enableHighAccuracy: true, maximumAge: 30000, timeout: 20000 });
  }

  function body() {
    var data = new FormData();
    data.append("csrf_token", csrf());
    data.append("pos_lat", fix.latitude.toFixed(6));
    data.append("pos_lon", fix.longitude.toFixed(6));
    data.append("pos_accuracy", String(Math.round(fix.accuracy)));
    return data;
  }

  function send(report) {
    if (!fix || !csrf()) return;
    if (!report && navigator.sendBeacon) { navigator.sendBeacon("/my/position", body()); return; }
    fetch("/my/position", { method: "POST", body: body(), credentials: "same-origin", keepalive: true })
      .then(function (r) { return r.json(); })
      .then(function (answer) { if (report) status(answer.message); })
      .catch(function () {});
  }

  function showButtons() {
    var share = document.getElementById("share-position");
    if (share) {
      share.textContent = sharing() ? share.dataset.on : share.dataset.off;
      share.setAttribute("aria-pressed", sharing() ? "true" : "false");
    }
    var alerts = document.getElementById("allow-alerts");
    if (alerts) {
      alerts.textContent = alerting() ? alerts.dataset.on : alerts.dataset.off;
      alerts.setAttribute("aria-pressed", alerting() ? "true" : "false");
    }
  }

  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.45].forEach(function (at) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = 988; gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + at); osc.stop(audio.currentTime + at + 0.3);
      });
    } catch (e) { /* no audio here */ }
  }

  document.addEventListener("click", function (e) {
    var target = e.target.closest("#share-position, #allow-alerts");
    if (!target) return;
    if (target.id === "share-position") {
      localStorage.setItem(SHARE, sharing() ? "0" : "1");
      if (sharing()) {
        watch();
        if (navigator.geolocation) navigator.geolocation.getCurrentPosition(function (p) { fix = p.coords; send(true); },
          function () { status(target.dataset.denied); }, { enableHighAccuracy: true, timeout: 20000 });
      } else if (watching !== null) { navigator.geolocation.clearWatch(watching); watching = null; fix = null; }
    } else {
      localStorage.setItem(ALERTS, alerting() ? "0" : "1");
      if (alerting()) {
        beep();  // a tap unlocks sound on this page
        if (window.Notification && Notification.permission === "default") Notification.requestPermission();
      }
    }
    showButtons();
  });

  // When the officer acts, their position goes along (on the phone page and at a red-box check-in).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!sharing() || !form.closest(".page.phone, form[data-geolocate]")) return;
    if (form.matches("form[data-geolocate]") && form.elements.lat && form.elements.lat.value) {
      fix = fix || { latitude: parseFloat(form.elements.lat.value), longitude: parseFloat(form.elements.lon.value), accuracy: parseFloat(form.dataset.accuracy || "50") };
    }
    send(false);
  }, true);

  // A new assignment on the stream: vibration, sound, and a notification while the page is in the background.
  var known = null;
  function keys() {
    var found = {};
    document.querySelectorAll("#my-live [data-assignment]").forEach(function (el) { found[el.dataset.assignment] = el; });
    return found;
  }
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (e.target.closest && e.target.closest("#my-live")) known = keys();
  });
  document.addEventListener("htmx:afterSettle", function () {
    showButtons();
    watch();
    if (!known) return;
    var before = known, fresh = null;
    known = null;
    var now = keys();
    Object.keys(now).forEach(function (k) { if (!before[k]) fresh = now[k]; });
    if (!fresh) return;
    fresh.classList.add("fresh");
    if (navigator.vibrate) navigator.vibrate([300, 120, 300]);
    if (alerting()) beep();
    if (document.hidden && alerting() && window.Notification && Notification.permission === "granted") {
      try { new Notification(fresh.dataset.title || "", { body: fresh.dataset.body || "", tag: fresh.dataset.assignment }); } catch (err) { /* none here */ }
    }
  });

  // The check-in form's accuracy (app.js fills its lat/lon): kept on the form for the unit's position.
  function checkInAccuracy() {
    var form = document.querySelector("form[data-geolocate]");
    if (!form || form.dataset.accuracy || !navigator.geolocation || !sharing()) return;
    navigator.geolocation.getCurrentPosition(function (p) { form.dataset.accuracy = String(Math.round(p.coords.accuracy)); fix = p.coords; },
      function () {}, { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
  }
  document.addEventListener("htmx:afterSettle", checkInAccuracy);
  showButtons(); watch(); checkInAccuracy();
})();
