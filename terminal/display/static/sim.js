// The simulator view: camera frame, output pins as they change, slips, and scene buttons.
"use strict";
(function () {
  const frame = document.getElementById("frame");
  let since = -1;
  let slipCount = 0;
  const lit = {};
  const stats = window.__sim = {frames: 0, errors: 0};

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }

  frame.addEventListener("load", function () {
    stats.frames += 1;
    setTimeout(function () { frame.src = "/sim/frame.jpg?t=" + Date.now(); }, 150);
  });
  frame.addEventListener("error", function () {
    stats.errors += 1;
    setTimeout(function () { frame.src = "/sim/frame.jpg?t=" + Date.now(); }, 1000);
  });
  // the first frame is asked for only now: had the page's own <img src> loaded before this
  // deferred script ran, its load event would have been missed and the frame never refreshed
  frame.src = "/sim/frame.jpg?t=" + Date.now();

  function flash(name, on) {
    const pin = document.getElementById("pin-" + name);
    if (!pin) { return; }
    if (on) {
      pin.classList.add("on");
      lit[name] = Date.now();
    } else {
      // keep a short pulse visible for at least 150 ms
      const left = 150 - (Date.now() - (lit[name] || 0));
      setTimeout(function () { pin.classList.remove("on"); }, Math.max(0, left));
    }
  }

  function poll() {
    fetch("/sim/state.json?since=" + since, {cache: "no-store"}).then(function (r) { return r.json(); })
      .then(function (s) {
        const log = document.getElementById("log");
        (s.changes || []).forEach(function (c) {
          flash(c.output, c.on);
          const li = el("li", c.t.toFixed(3) + " s  " + c.output + " " + (c.on ? "on" : "off"));
          log.prepend(li);
          while (log.children.length > 60) { log.lastChild.remove(); }
          since = Math.max(since, c.t);
        });
        Object.keys(s.pins || {}).forEach(function (name) {
          if (!(s.changes || []).length) { flash(name, s.pins[name]); }
        });
        document.getElementById("scene").textContent = s.scene || "";
        if (s.slips !== slipCount) { slipCount = s.slips; showSlips(s.slips); }
      }).catch(function () {}).finally(function () { setTimeout(poll, 100); });
  }

  function showSlips(n) {
    const box = document.getElementById("slips");
    box.replaceChildren();
    if (!n) { box.append(el("span", "no slips yet", "muted")); return; }
    for (let i = n - 1; i >= Math.max(0, n - 8); i--) {
      const img = el("img");
      img.src = "/sim/slip/" + i + ".png";
      img.alt = "slip " + (i + 1);
      box.append(img);
    }
  }

  function buttons() {
    fetch("/sim/actions.json").then(function (r) { return r.json(); }).then(function (actions) {
      const box = document.getElementById("buttons");
      actions.forEach(function (a) {
        const b = el("button", a.label);
        b.id = "act-" + a.name;
        b.addEventListener("click", function () {
          fetch("/sim/present/" + a.name, {method: "POST", headers: {"X-Scanpoint-Sim": "1"}})
            .then(function (r) { return r.json(); })
            .then(function (m) { document.getElementById("message").textContent = m.message; });
        });
        box.append(b);
      });
    });
  }

  const events = new EventSource("/events");
  events.addEventListener("decision", function (e) {
    const d = JSON.parse(e.data);
    const last = document.getElementById("last");
    last.className = d.decision;
    last.textContent = d.word_zh + " " + d.word_en + " — " + d.reason + ": " + d.reason_en +
      (d.latency_ms !== null ? " (" + d.latency_ms + " ms)" : "");
  });

  buttons();
  poll();
})();
