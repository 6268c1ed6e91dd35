// The auditor's pages: each event's inclusion proof checked in the browser (RFC 9162 §2.1.3.2, SHA-256 by WebCrypto),
// against the latest signed checkpoint; the checkpoint's Ed25519 signature too where the browser has Ed25519.
// No library. Without script (or WebCrypto) the page offers the server's check instead.
(function () {
  "use strict";
  const ONE = new Uint8Array([1]);

  function bytes(b64) {
    const text = atob(b64);
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  async function sha256(parts) {
    let length = 0;
    for (const part of parts) length += part.length;
    const buffer = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) { buffer.set(part, offset); offset += part.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // RFC 9162 §2.1.3.2: is `leaf` (a leaf hash) leaf `index` of the tree of `size` leaves with root `root`?
  async function verifyInclusion(index, size, leaf, path, root) {
    if (index < 0 || index >= size) return false;
    let fn = index, sn = size - 1, r = leaf;
    for (const p of path) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256([ONE, p, r]);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await sha256([ONE, r, p]);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 && equal(r, root);
  }

  function say(cell, cls, text) {
    cell.textContent = "";
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    cell.appendChild(span);
  }

  async function check(table) {
    table.dataset.checked = "1";
    const status = document.getElementById("proof-status");
    const words = status ? status.dataset : {};
    const rows = Array.from(table.querySelectorAll("tr[data-notification]"));
    if (!rows.length || !(window.crypto && crypto.subtle)) return;
    if (status) status.textContent = words.checking || "";
    const ids = rows.map((row) => row.dataset.notification);
    let answer;
    try {
      const response = await fetch(table.dataset.proofs + "?n=" + ids.join(","), { credentials: "same-origin" });
      if (!response.ok) return;
      answer = await response.json();
    } catch (error) { return; }
    if (!answer.checkpoint) { if (status) status.textContent = words.none || ""; return; }
    const size = answer.checkpoint.tree_size;
    const root = bytes(answer.checkpoint.root);
    // The root beside the note must be the one the note says (the note's second and third lines).
    const noteLines = answer.checkpoint.note.split("\n");
    const rootMatches = noteLines[1] === String(size) && noteLines[2] === answer.checkpoint.root;
    const proofs = new Map(answer.proofs.map((p) => [String(p.notification_id), p]));
    let bad = !rootMatches;
    for (const row of rows) {
      const cell = row.querySelector("[data-proof]");
      const proof = proofs.get(row.dataset.notification);
      if (!proof) { say(cell, "muted", words.pending || "…"); continue; }
      const ok = rootMatches && await verifyInclusion(proof.position, size, bytes(proof.leaf_hash), proof.path.map(bytes), root);
      if (!ok) bad = true;
      say(cell, ok ? "ok" : "flag", ok ? "✓ " + (words.ok || "") : "✗ " + (words.bad || ""));
      cell.dataset.verified = ok ? "yes" : "no";
    }
    if (status) status.textContent = bad ? (words.someBad || "") : (words.allOk || "").replace("{size}", String(size));
    table.dataset.verified = bad ? "no" : "yes";
  }

  function scan() {
    document.querySelectorAll("table.audit-events[data-proofs]:not([data-checked])").forEach((table) => { check(table); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan); else scan();
  document.addEventListener("htmx:afterSettle", scan);
})();
