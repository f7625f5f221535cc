"use strict";
(async () => {
  const me = await Kz.loadMe();
  if (!me) return;
  const $ = id => document.getElementById(id);
  let pupil = null;
  const say = (text, ok) => { $("desk-message").textContent = text || ""; $("desk-message").className = ok ? "ok" : "error"; };

  function showPupil(p) {
    pupil = p;
    $("pupil").hidden = !p;
    if (!p) { $("loans").replaceChildren(); return; }
    $("pupil-photo").src = p.photoUrl;
    $("pupil-name").textContent = p.fullName;
    $("pupil-class").textContent = "class " + p.className;
    $("loans").replaceChildren(...p.loans.map(l => Kz.el("tr", { class: l.overdue ? "error" : "" },
      Kz.el("td", {}, l.barcode), Kz.el("td", {}, l.title), Kz.el("td", {}, l.dueOn), Kz.el("td", {}, l.renewals))));
  }

  async function refreshPupil(card) {
    const r = await Kz.api("GET", "/api/library/pupil?card=" + encodeURIComponent(card));
    if (!r.ok) { say(r.data.error); Kz.alarm(); showPupil(null); return; }
    pupil = r.data; pupil.card = card; showPupil(pupil);
  }

  async function book(action, barcode) {
    barcode = barcode || $("barcode-input").value.trim();
    $("barcode-input").value = "";
    if (!barcode) { say("Scan the book's barcode."); return; }
    const r = await Kz.api("POST", "/api/library/" + action, { barcode, pupilId: pupil ? pupil.pupilId : null });
    if (!r.ok) { say(r.data.error); Kz.alarm(); return false; }
    say(r.data.message, true); Kz.beep();
    if (pupil) await refreshPupil(pupil.card);
    await overdue();
    return true;
  }

  async function overdue() {
    const r = await Kz.api("GET", "/api/library/overdue");
    if (r.ok) $("overdue").replaceChildren(...r.data.map(o => Kz.el("tr", {}, Kz.el("td", {}, o.pupilName + " (" + o.className + ")"), Kz.el("td", {}, o.title), Kz.el("td", {}, o.daysOverdue + " days"))));
  }

  $("card-input").addEventListener("keydown", async ev => {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    const card = $("card-input").value.trim(); $("card-input").value = "";
    if (card) { await refreshPupil(card); $("barcode-input").focus(); }
  });
  // A scanned barcode: on loan → return it; otherwise lend it to the pupil shown.
  $("barcode-input").addEventListener("keydown", async ev => {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    const code = $("barcode-input").value.trim();
    if (!code) return;
    const held = pupil && pupil.loans.some(l => l.barcode === code);
    await book(held || !pupil ? "return" : "lend", code);
  });
  $("lend-button").addEventListener("click", () => book("lend"));
  $("return-button").addEventListener("click", () => book("return"));
  $("renew-button").addEventListener("click", () => book("renew"));
  $("lost-button").addEventListener("click", () => book("lost"));
  document.addEventListener("keydown", ev => {
    if (ev.key === "F2") { ev.preventDefault(); book("lend"); }
    else if (ev.key === "F3") { ev.preventDefault(); book("return"); }
    else if (ev.key === "F4") { ev.preventDefault(); book("renew"); }
    else if (ev.key === "Escape") { showPupil(null); say(""); $("card-input").focus(); }
  });
  await overdue();
  $("card-input").focus();
})();
