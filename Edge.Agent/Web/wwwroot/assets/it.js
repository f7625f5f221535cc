"use strict";
(async () => {
  const me = await Kz.loadMe();
  if (!me) return;
  const $ = id => document.getElementById(id);
  const ms = v => (Math.round(v * 100) / 100).toFixed(2);

  async function refresh() {
    const r = await Kz.api("GET", "/api/it/status");
    if (!r.ok) { $("agent-state").textContent = r.data ? r.data.error : "error " + r.status; return; }
    const s = r.data;
    $("agent-state").textContent = (s.gatesRunning ? "Gates running." : "Gates are starting or stopped.")
      + (s.emergency ? " EMERGENCY: every gate held open (" + (s.emergencyCause || "fire alarm") + ")." : "")
      + " Passages stored: " + s.passagesWritten + ". Repeated reads ignored: " + s.debouncedReads + ". Database " + s.database + " (schema " + s.schemaVersion + ").";
    $("devices").replaceChildren(...s.devices.map(d => Kz.el("tr", { "data-device": d.device },
      Kz.el("td", {}, d.device), Kz.el("td", {}, d.port),
      Kz.el("td", {}, Kz.el("span", { class: "pill " + (d.up ? "up" : "down") }, d.up ? "up" : "down")),
      Kz.el("td", {}, d.opens + "×"),
      Kz.el("td", {}, [d.lastProblem || "", ...d.polls.map(p => p.module + ": polled every " + p.intervalMs + " ms, longest gap " + ms(p.maxGapMs) + " ms ("
        + p.latePolls + " over twice the interval)" + (p.passSensors === "level" ? "; pass sensors on LEVEL inputs: a pulse shorter than a gap is missed, use a module with counters"
        : p.passSensors === "counter" ? "; pass sensors on counters" : ""))].filter(t => t).join(" · ")))));
    $("gates").replaceChildren(...s.gates.map(g => {
      const max = Math.max(1, ...g.histogram.map(b => b.count));
      const bars = Kz.el("div", { class: "histogram", "data-gate": g.name },
        ...g.histogram.map(b => { const d = Kz.el("div", { title: ms(b.fromMs) + "–" + ms(b.toMs) + " ms: " + b.count }); d.style.height = (100 * b.count / max) + "%"; return d; }));
      const first = g.histogram.length ? ms(g.histogram[0].fromMs) : "0", last = g.histogram.length ? ms(g.histogram[g.histogram.length - 1].toMs) : "0";
      return Kz.el("div", {}, Kz.el("h3", {}, g.name),
        Kz.el("p", {}, g.decisions + " decisions · p50 ≤ " + ms(g.p50Ms) + " ms · p99 ≤ " + ms(g.p99Ms) + " ms · max " + ms(g.maxMs) + " ms · waiting to pass " + g.waitingToPass),
        bars, Kz.el("p", { class: "muted" }, first + " ms … " + last + " ms"));
    }));
    const o = s.outbox;
    $("outbox").textContent = o.waiting === 0 ? "Nothing waiting: the centre has everything up to event " + o.watermark + "."
      : o.waiting + " event(s) waiting for the centre; the oldest for " + Math.round(o.oldestWaitingSeconds) + " s. Acknowledged up to " + o.watermark + " of " + o.lastSeq + ".";
  }

  function addLog(e) {
    const row = Kz.el("tr", { class: e.granted ? "" : "denied" },
      Kz.el("td", {}, new Date(e.at).toLocaleTimeString()), Kz.el("td", {}, e.gate), Kz.el("td", {}, e.direction),
      Kz.el("td", {}, e.granted ? "open" : "denied"), Kz.el("td", {}, e.reason), Kz.el("td", {}, e.holderName || (e.cardNumber ?? "")),
      Kz.el("td", {}, e.latencyMs === null ? "" : ms(e.latencyMs)));
    const log = $("log");
    log.prepend(row);
    while (log.children.length > 200) log.lastChild.remove();
  }

  const initial = await Kz.api("GET", "/api/it/gate-log");
  if (initial.ok) initial.data.slice().reverse().forEach(addLog);
  const source = new EventSource("/api/it/gate-log/stream");
  source.addEventListener("passage", ev => addLog(JSON.parse(ev.data)));
  source.onopen = () => { $("log-state").textContent = "live"; };
  source.onerror = () => { $("log-state").textContent = "reconnecting…"; };
  await refresh();
  setInterval(refresh, 2000);
})();
