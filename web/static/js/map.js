// The zone map: draws every `.zone-map` element of the page with Leaflet (vendored; loaded only when a map is on
// the page). Layers come from /map/data: the communities' outlines, red boxes, cameras by health and, on live maps,
// open incidents by priority and units at their last known position. Base tiles only when SSZ_TILE_URL is set.
// A map with `data-pick` is a location picker: a click (or a landmark) fills the form's latitude and longitude.
(function () {
  "use strict";
  var leaflet = null;

  function load() {
    if (leaflet) return leaflet;
    leaflet = new Promise(function (resolve, reject) {
      var css = document.createElement("link");
      css.rel = "stylesheet"; css.href = "/static/vendor/leaflet/leaflet.css";
      document.head.appendChild(css);
      var js = document.createElement("script");
      js.src = "/static/vendor/leaflet/leaflet.js";
      js.onload = function () { resolve(window.L); };
      js.onerror = reject;
      document.head.appendChild(js);
    });
    return leaflet;
  }

  function esc(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, k) { return values[k]; });
  }

  function inside(lat, lon, ring) {
    var found = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var yi = ring[i][0], xi = ring[i][1], yj = ring[j][0], xj = ring[j][1];
      if ((yi > lat) !== (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi) found = !found;
    }
    return found;
  }
  function communityAt(data, lat, lon) {
    for (var i = 0; i < data.communities.length; i++) {
      if (inside(lat, lon, data.communities[i].ring)) return data.communities[i];
    }
    return null;
  }

  var HEALTH = { healthy: "cam-ok", starting: "cam-ok", ended: "cam-warn", no_worker: "cam-warn", offline: "cam-bad", tampered: "cam-bad" };

  function draw(el, L, data) {
    var state = el._zone;
    var words = data.words;
    if (!state) {
      var map = L.map(el, { zoomControl: true, attributionControl: !!data.tiles, scrollWheelZoom: !el.dataset.pick });
      if (data.tiles) L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map);
      map.fitBounds(data.bounds, { padding: [8, 8] });
      state = el._zone = { map: map, layers: L.layerGroup().addTo(map), data: data };
      var outlines = L.layerGroup().addTo(map);
      data.communities.forEach(function (c) {
        L.polygon(c.ring, { color: "#5a4fcf", weight: 2, fillOpacity: 0.06, interactive: false })
          .bindTooltip(esc(c.name), { permanent: true, direction: "center", className: "community-name" })
          .addTo(outlines);
      });
      if (el.dataset.focus) {
        var p = el.dataset.focus.split(",").map(Number);
        L.marker(p, { title: el.dataset.focusLabel || "" }).addTo(map);
        map.setView(p, 16);
      }
      if (el.dataset.pick) picker(el, L, map, data);
      var tab = el.closest("details");
      if (tab) tab.addEventListener("toggle", function () { map.invalidateSize(); });
    }
    state.data = data;
    var layers = state.layers;
    layers.clearLayers();
    data.boxes.forEach(function (b) {
      L.marker([b.lat, b.lon], {
        icon: L.divIcon({ className: "map-icon box-icon", html: "■", iconSize: [14, 14] }),
        title: b.code, keyboard: false,
      }).bindPopup("<strong>" + esc(words.red_box) + " " + esc(b.code) + "</strong><br>" + esc(b.name)).addTo(layers);
    });
    data.cameras.forEach(function (c) {
      L.circleMarker([c.lat, c.lon], { radius: 5, weight: 2, className: "cam " + (HEALTH[c.health] || "cam-warn") })
        .bindPopup("<a href=\"/cameras/" + esc(c.id) + "\"><strong>" + esc(c.code) + "</strong></a> " + esc(c.name) + "<br>" + esc(c.health_text))
        .addTo(layers);
    });
    var live = !!el.dataset.live;  // a picker or a single point's map shows no other incidents and units
    (live ? data.incidents || [] : []).forEach(function (i) {
      L.marker([i.lat, i.lon], {
        icon: L.divIcon({ className: "map-icon incident-icon prio-" + i.priority, html: esc(i.priority), iconSize: [28, 20] }),
        title: i.reference, zIndexOffset: 1000,
      }).bindPopup("<a href=\"/incidents/" + esc(i.reference) + "\"><strong>" + esc(i.reference) + "</strong></a> " +
        esc(i.priority) + " · " + esc(i.status) + "<br>" + esc(i.category) + " — " + esc(i.location)).addTo(layers);
    });
    (live ? data.units || [] : []).forEach(function (u) {
      if (u.imprecise) L.circle([u.lat, u.lon], { radius: u.accuracy_m, weight: 1, fillOpacity: 0.05, dashArray: "4", interactive: false }).addTo(layers);
      L.marker([u.lat, u.lon], {
        icon: L.divIcon({ className: "map-icon unit-icon unit-" + u.status + (u.imprecise ? " imprecise" : ""), html: "◆ " + esc(u.call_sign), iconSize: [70, 18], iconAnchor: [8, 9] }),
        title: u.call_sign, zIndexOffset: 500,
      }).bindPopup("<strong>" + esc(u.call_sign) + "</strong> · " + esc(u.status_text) + (u.incident ? " · " + esc(u.incident) : "") +
        "<br>" + esc(fill(words.seen, { time: u.at_text })) + (u.imprecise ? "<br>" + esc(fill(words.imprecise, { metres: Math.round(u.accuracy_m) })) : "")).addTo(layers);
    });
  }

  // The report form's picker: a click sets the point; a landmark sets it and the community; the page says whether
  // the point lies in the zone (a point outside is still accepted: the report is kept).
  function picker(el, L, map, data) {
    var form = el.closest("form") || document;
    var names = el.dataset.pick.split(",");
    var lat = form.querySelector("[name='" + names[0] + "']"), lon = form.querySelector("[name='" + names[1] + "']");
    var status = form.querySelector("[data-map-status]");
    var community = form.querySelector("select[name='community']");
    var marker = null;
    function place(la, lo, fromMap) {
      if (marker) marker.setLatLng([la, lo]); else marker = L.marker([la, lo]).addTo(map);
      if (fromMap) { lat.value = la.toFixed(6); lon.value = lo.toFixed(6); }
      var c = communityAt(data, la, lo);
      if (status) {
        status.textContent = c ? fill(data.words.inside, { community: c.name }) : data.words.outside;
        status.classList.toggle("warning", !c);
      }
      if (c && community && !community.value) community.value = c.id;
    }
    map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, true); });
    function typed() {
      var la = parseFloat(lat.value), lo = parseFloat(lon.value);
      if (isFinite(la) && isFinite(lo)) { place(la, lo, false); }
    }
    lat.addEventListener("change", typed); lon.addEventListener("change", typed);
    var landmark = form.querySelector("select[data-landmark]");
    if (landmark) landmark.addEventListener("change", function () {
      var m = data.landmarks.filter(function (x) { return x.key === landmark.value; })[0];
      if (!m) return;
      if (community) community.value = m.community;
      lat.value = m.lat.toFixed(6); lon.value = m.lon.toFixed(6);
      place(m.lat, m.lon, false); map.setView([m.lat, m.lon], 17);
    });
    typed();
  }

  function refresh(el) {
    return load().then(function (L) {
      return fetch(el.dataset.src, { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) { draw(el, L, data); el.dataset.drawn = "1"; });
    }).catch(function () { el.dataset.drawn = "error"; });
  }

  function start() {
    document.querySelectorAll("details[data-open-wide]").forEach(function (d) {
      if (!d.dataset.seen) { d.dataset.seen = "1"; if (window.matchMedia("(min-width: 900px)").matches) d.open = true; }
    });
    document.querySelectorAll(".zone-map").forEach(function (el) {
      if (el.dataset.started) return;
      el.dataset.started = "1";
      refresh(el);
    });
  }

  // Live maps follow the board's (and the phone's) stream: a change there is fetched again, at most every 0.5 s.
  var pending = null;
  document.addEventListener("htmx:sseMessage", function () {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      document.querySelectorAll(".zone-map[data-live]").forEach(function (el) { if (el._zone) refresh(el); });
    }, 500);
  });
  setInterval(function () {
    document.querySelectorAll(".zone-map[data-live]").forEach(function (el) { if (el._zone && !document.hidden) refresh(el); });
  }, 30000);
  document.addEventListener("htmx:afterSettle", start);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
