// The camera set-up page's zone editor (issue 17): zones as polygons over the camera's picture, drawn by
// clicking corners, moved by dragging a corner, deleted from the list. The typed form (one zone a line:
// "name | Thai name | x,y x,y ...", 0..1 of the picture) is the truth: the drawing reads it and writes it,
// so the page works with the keyboard alone and without this script. No library.
// Pages arrive through htmx (hx-boost), whose swaps run no script tags: loaded on every page by base.html,
// it sets an editor up whenever one appears.
(function () {
  "use strict";
  function start() {
    var root = document.querySelector("[data-zone-editor]");
    var text = document.querySelector("[data-zone-text]");
    if (!root || !text || root.hasAttribute("data-zone-ready")) return;
    root.setAttribute("data-zone-ready", "");
    setUp(root, text);
  }
  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:load", start);
  if (document.readyState !== "loading") start();

  function setUp(root, text) {
  var svg = root.querySelector("[data-zone-svg]");
  var list = root.querySelector("[data-zone-list]");
  var nameInput = root.querySelector("[data-zone-name]");
  var thaiInput = root.querySelector("[data-zone-name-th]");
  var editable = !text.readOnly;
  var NS = "http://www.w3.org/2000/svg";
  var zones = [];
  var pending = [];
  var dragging = null;

  function parse() {
    zones = text.value.split("\n").filter(function (l) { return l.trim(); }).map(function (line) {
      var parts = line.split("|");
      var corners = (parts[2] || "").trim().split(/\s+/).filter(Boolean).map(function (c) {
        var xy = c.split(",");
        return [parseFloat(xy[0]), parseFloat(xy[1])];
      });
      return { name: (parts[0] || "").trim(), th: (parts[1] || "").trim(), pts: corners };
    });
  }

  function write() {
    text.value = zones.map(function (z) {
      return z.name + " | " + z.th + " | " + z.pts.map(function (p) {
        return p[0].toFixed(3) + "," + p[1].toFixed(3);
      }).join(" ");
    }).join("\n");
  }

  function el(name, attrs) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function render() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    zones.forEach(function (z, zi) {
      var points = z.pts.map(function (p) { return p.join(","); }).join(" ");
      svg.appendChild(el("polygon", { points: points, "class": "zone-shape", "vector-effect": "non-scaling-stroke" }));
      if (!editable) return;
      z.pts.forEach(function (p, pi) {
        var handle = el("circle", { cx: p[0], cy: p[1], r: 0.012, "class": "zone-corner" });
        handle.addEventListener("mousedown", function (event) {
          event.preventDefault();
          event.stopPropagation();
          dragging = [zi, pi];
        });
        svg.appendChild(handle);
      });
    });
    if (pending.length) {
      var line = pending.map(function (p) { return p.join(","); }).join(" ");
      svg.appendChild(el("polyline", { points: line, "class": "zone-pending", "vector-effect": "non-scaling-stroke" }));
      pending.forEach(function (p) {
        svg.appendChild(el("circle", { cx: p[0], cy: p[1], r: 0.01, "class": "zone-corner pending" }));
      });
    }
    if (list) {
      list.innerHTML = "";
      zones.forEach(function (z, zi) {
        var item = document.createElement("li");
        item.textContent = z.name + (z.th ? " / " + z.th : "") + " ";
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = root.getAttribute("data-delete-label") || "×";
        remove.setAttribute("aria-label", (root.getAttribute("data-delete-label") || "Delete") + " " + z.name);
        remove.addEventListener("click", function () { zones.splice(zi, 1); write(); render(); });
        item.appendChild(remove);
        list.appendChild(item);
      });
    }
  }

  function at(event) {
    var box = svg.getBoundingClientRect();
    var x = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    var y = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
    return [Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000];
  }

  if (editable) {
    svg.addEventListener("click", function (event) {
      if (dragging) return;
      pending.push(at(event));
      render();
    });
    svg.addEventListener("mousemove", function (event) {
      if (!dragging) return;
      zones[dragging[0]].pts[dragging[1]] = at(event);
      render();
    });
    window.addEventListener("mouseup", function () {
      if (!dragging) return;
      write();
      setTimeout(function () { dragging = null; }, 0);
    });
    root.querySelector("[data-zone-finish]").addEventListener("click", function () {
      var name = nameInput.value.trim();
      if (pending.length < 3 || !name) {
        nameInput.focus();
        return;
      }
      zones.push({ name: name, th: thaiInput.value.trim(), pts: pending });
      pending = [];
      nameInput.value = "";
      thaiInput.value = "";
      write();
      render();
    });
    root.querySelector("[data-zone-undo]").addEventListener("click", function () { pending.pop(); render(); });
  }
  text.addEventListener("input", function () { parse(); render(); });
  parse();
  render();
  }
})();
