// The staff screen: shows each decision the scanner publishes, then returns to idle.
// Live by Server-Sent Events from /events; every text is set with textContent (never as HTML).
"use strict";
(function () {
  const screen = document.getElementById("screen");
  const TYPE_EN = {"health": "health code", "insurance": "insurance card",
                   "social-security": "social-security card", "dcc-vaccination": "EU vaccination",
                   "dcc-test": "EU test", "dcc-recovery": "EU recovery"};
  const NOTICES = {
    "offline": "扫描器离线 · Scanner offline",
    "stalled": "扫描器无响应 · Scanner not responding",
    "camera": "摄像头故障 · Camera not working: check the cable",
    "paper": "打印机缺纸 · Printer out of paper",
    "printer": "打印机离线 · Printer offline",
    "link": "显示连接中断 · Screen reconnecting…"
  };
  let idleMs = 8000;
  let timer = null;
  let terminal = "";
  let notice = "";
  // paint timings for tests and the benchmark: sequence and times only, never content
  const perf = window.__scanpoint = {painted: [], idle: 0};

  function set(id, text) { document.getElementById(id).textContent = text || ""; }

  function setState(state) {
    screen.className = "screen " + state;
    screen.dataset.state = state;
  }

  function showIdle() {
    timer = null;
    setState("idle");
    set("word-zh", "请出示二维码");
    set("word-en", "Show your code");
    ["reason-zh", "reason-en", "name", "kind", "until"].forEach(function (id) { set(id, ""); });
    set("notice", notice);
    set("meta", terminal);
    perf.idle += 1;
  }

  function hhmm(seconds) {
    const d = new Date(seconds * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  function showDecision(d) {
    setState(d.decision);
    set("word-zh", d.word_zh);
    set("word-en", d.word_en);
    set("reason-zh", d.reason_zh);
    set("reason-en", d.reason_en);
    set("name", d.name);
    const kind = d.type ? ((d.type_zh ? d.type_zh + " " : "") + (TYPE_EN[d.type] || d.type)) : "";
    set("kind", kind);
    set("until", d.decision === "pass" && d.expires ? "有效至 valid until " + hhmm(d.expires) : "");
    set("notice", d.reason);
    set("meta", terminal + " #" + d.seq + " " + hhmm(d.time));
    if (timer !== null) { clearTimeout(timer); }
    timer = setTimeout(showIdle, idleMs);
    const received = performance.timeOrigin + performance.now();
    requestAnimationFrame(function () {
      setTimeout(function () {
        perf.painted.push({seq: d.seq, time: d.time * 1000, received: received,
                           painted: performance.timeOrigin + performance.now(),
                           decision: d.decision});
        if (perf.painted.length > 2000) { perf.painted.shift(); }
      }, 0);
    });
  }

  function screenNotice(s) {
    if (s.scanner === "offline") { return NOTICES.offline; }
    if (s.scanner === "stalled") { return NOTICES.stalled; }
    if (s.scanner === "camera-fault" || (s.camera && s.camera !== "ok" && s.camera !== "starting")) {
      return NOTICES.camera;
    }
    if (s.printer === "no-paper") { return NOTICES.paper; }
    if (s.printer === "offline") { return NOTICES.printer; }
    return "";
  }

  function connect() {
    const source = new EventSource("/events");
    source.addEventListener("hello", function (e) {
      const h = JSON.parse(e.data);
      if (typeof h.idle_s === "number" && h.idle_s > 0) { idleMs = h.idle_s * 1000; }
      terminal = h.terminal || "";
      if (timer === null) { showIdle(); }
    });
    source.addEventListener("screen", function (e) {
      notice = screenNotice(JSON.parse(e.data));
      if (timer === null) { set("notice", notice); }
    });
    source.addEventListener("decision", function (e) { showDecision(JSON.parse(e.data)); });
    source.onerror = function () {
      notice = NOTICES.link;
      if (timer === null) { set("notice", notice); }
    };
  }

  showIdle();
  connect();
})();
