// The status page: /status.json every 2 s, rendered as tables (textContent only).
"use strict";
(function () {
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function rows(id, pairs) {
    const table = document.getElementById(id);
    table.replaceChildren();
    pairs.forEach(function (p) {
      const tr = el("tr");
      tr.append(el("th", p[0]), el("td", p[1] === undefined || p[1] === null ? "-" : p[1], p[2]));
      table.append(tr);
    });
  }
  function age(seconds) {
    if (seconds === null || seconds === undefined) { return "-"; }
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 120) { return seconds + " s"; }
    if (seconds < 7200) { return Math.round(seconds / 60) + " min"; }
    return (seconds / 3600).toFixed(1) + " h";
  }
  function when(unix) { return unix ? new Date(unix * 1000).toLocaleString() : "-"; }
  function counts(map) {
    return Object.keys(map || {}).map(function (k) { return k + " " + map[k]; }).join(", ") || "-";
  }

  function render(s) {
    const d = s.daemon || {};
    const cam = d.camera || {};
    document.getElementById("terminal").textContent = (d.terminal_id || "") + (d.site ? " at " + d.site : "");
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    rows("scanner", [
      ["state", s.state, s.state === "running" ? "good" : "bad"],
      ["camera", (cam.state || "-") + (cam.error ? " — " + cam.error : ""), cam.state === "ok" ? "good" : "bad"],
      ["health", d.health],
      ["decisions", d.decisions],
      ["by decision", counts(d.by_decision)],
      ["last", d.last_decision ? d.last_decision.decision + " " + d.last_decision.reason + " (" +
        d.last_decision.latency_ms + " ms)" : "-"]
    ]);
    const sync = s.sync || {};
    const lists = sync.lists || {};
    const listRows = Object.keys(lists).map(function (k) {
      const m = lists[k];
      return [k, "v" + m.version + ", " + age(m.age_s) + " old, valid until " + when(m.valid_until) +
        (m.stale ? " — STALE" : ""), m.stale ? "bad" : "good"];
    });
    rows("lists", listRows.length ? listRows : [["lists", sync.error || "none held", "bad"]]);
    const clock = sync.clock || {};
    const last = sync.last_sync || {};
    rows("sync", [
      ["clock", clock.trusted === true ? "trusted" : "UNTRUSTED" + (clock.problem ? ": " + clock.problem : ""),
        clock.trusted === true ? "good" : "bad"],
      ["last sync", last.at ? (last.ok ? "ok " : "FAILED ") + (last.code || "") + ", " + when(last.at) : "never",
        last.ok ? "" : "bad"],
      ["last success", when(sync.last_success)]
    ]);
    const p = s.printer || {};
    const live = (s.display || {}).printer || {};
    rows("printer", p.enabled ? [
      ["printer", live.known ? (live.online ? (live.paper ? "ready" : "OUT OF PAPER") : "OFFLINE") : "not asked yet",
        live.known && live.online && live.paper ? "good" : (live.known ? "bad" : "")],
      ["waiting", p.pending, p.pending ? "warn" : ""],
      ["printed", p.printed],
      ["failed", p.failed, p.failed ? "bad" : ""]
    ] : [["printer", "not enabled"]]);
    const t = s.today || {};
    rows("today", [["events", t.events], ["by decision", counts(t.by_decision)], ["by reason", counts(t.by_reason)]]);
    const disp = s.display || {};
    rows("display", [["scanner feed", disp.connected ? "connected" : "not connected", disp.connected ? "good" : "bad"],
      ["screens open", disp.browsers], ["events seen", disp.decisions_seen]]);
  }

  function poll() {
    fetch("/status.json", {cache: "no-store"}).then(function (r) { return r.json(); })
      .then(render).catch(function () {
        document.getElementById("updated").textContent = "display unreachable";
      }).finally(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
