"use strict";
// The list is kept in the tablet's storage and ticks are queued there: a teacher outside the building keeps
// ticking when the Wi-Fi is gone, and the queue is sent when it comes back.
(async () => {
  const me = await Kz.loadMe();
  if (!me) return;
  const $ = id => document.getElementById(id);
  const store = { get: k => JSON.parse(localStorage.getItem("kz-rollcall-" + k) || "null"), set: (k, v) => localStorage.setItem("kz-rollcall-" + k, JSON.stringify(v)) };
  let sheet = store.get("sheet");
  let queue = store.get("queue") || [];

  function render() {
    $("start-button").hidden = !!sheet;
    $("end-button").hidden = !sheet;
    $("print-link").hidden = !sheet;
    if (!sheet) { $("people").replaceChildren(); $("summary").textContent = "No roll-call running."; return; }
    $("print-link").href = "/api/rollcall/" + sheet.sessionId + "/print";
    const filter = $("filter").value.trim().toLowerCase();
    const missing = sheet.people.filter(p => !p.accountedAt).length;
    $("summary").textContent = sheet.people.length + " inside when it started · " + missing + " not yet accounted for" + (queue.length ? " · " + queue.length + " tick(s) waiting for the network" : "");
    const people = sheet.people.filter(p => !filter || p.name.toLowerCase().includes(filter) || p.group.toLowerCase().includes(filter))
      .sort((a, b) => (!!a.accountedAt - !!b.accountedAt) || a.group.localeCompare(b.group) || a.name.localeCompare(b.name));
    $("people").replaceChildren(...people.map(p => Kz.el("li", {}, Kz.el("button", {
      class: "person" + (p.accountedAt ? " ticked" : ""), "data-person": p.holderKind + "-" + p.holderId,
      onclick: () => tick(p) }, (p.accountedAt ? "✔ " : "☐ ") + p.name, Kz.el("span", { class: "muted" }, p.group + (p.lastGate ? " · last seen " + p.lastGate : ""))))));
  }

  function tick(p) {
    p.accountedAt = p.accountedAt ? null : new Date().toISOString();
    queue.push({ sessionId: sheet.sessionId, holderKind: p.holderKind, holderId: p.holderId, accounted: !!p.accountedAt });
    store.set("sheet", sheet); store.set("queue", queue);
    render();
    flush();
  }

  async function flush() {
    while (queue.length) {
      try {
        const r = await Kz.api("POST", "/api/rollcall/tick", queue[0]);
        if (!r.ok && r.status !== 409) break;
      } catch (e) { $("net").textContent = "offline: ticks are kept on this tablet"; return; }
      queue.shift(); store.set("queue", queue);
    }
    $("net").textContent = "";
    render();
  }

  async function load() {
    try {
      const r = await Kz.api("GET", "/api/rollcall");
      sheet = r.status === 204 ? null : r.data;
      // Ticks not yet sent stay ticked on screen.
      if (sheet) for (const q of queue) { const p = sheet.people.find(x => x.holderKind === q.holderKind && x.holderId === q.holderId); if (p) p.accountedAt = q.accounted ? "pending" : null; }
      store.set("sheet", sheet);
    } catch (e) { $("net").textContent = "offline: showing the list saved on this tablet"; }
    render();
  }

  $("start-button").addEventListener("click", async () => {
    const r = await Kz.api("POST", "/api/rollcall/start");
    if (r.ok) { sheet = r.data; store.set("sheet", sheet); render(); }
  });
  $("end-button").addEventListener("click", async () => {
    if (!confirm("End the roll-call? Everyone not ticked stays on the printed list.")) return;
    await flush();
    const r = await Kz.api("POST", "/api/rollcall/" + sheet.sessionId + "/end");
    if (r.ok) { sheet = null; store.set("sheet", null); render(); }
  });
  $("filter").addEventListener("input", render);
  await load();
  await flush();
  setInterval(flush, 5000);
})();
