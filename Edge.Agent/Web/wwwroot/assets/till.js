"use strict";
(async () => {
  const me = await Kz.loadMe();
  if (!me) return;
  const $ = id => document.getElementById(id);
  let state = null, pupil = null, cart = [], lastSale = null, pendingSale = null, faceMatch = null, faceBusy = false;

  const newKey = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, "0")).join(""));
  const message = (text, ok) => { $("till-message").textContent = text || ""; $("till-message").className = ok ? "ok" : "error"; };

  async function load() {
    const r = await Kz.api("GET", "/api/till/state");
    if (!r.ok) { message(r.data.error); return; }
    state = r.data;
    if (!state.staffLinked) message("This account is not linked to a staff member; school IT must link it before you can sell (kezekshi-edge users link).");
    $("shift-open-panel").hidden = !!state.shift;
    $("till").hidden = !state.shift;
    $("shift-state").textContent = state.shift ? "shift " + state.shift.id + " open" : "no shift";
    renderFace();
    renderMenu();
    if (state.shift) $("card-input").focus();
  }

  // Face payment: shown only when the school turned biometrics on; disabled with the reason when this till cannot use it.
  function renderFace() {
    const f = state.face;
    $("face-panel").hidden = !f.shown;
    $("face-button").disabled = !f.available || faceBusy;
    $("face-reason").textContent = f.available ? "Only pupils whose parents consented to canteen payment by face." : (f.problem || "");
  }

  async function face() {
    if (!state || !state.face.available || faceBusy) return;
    clearSale();
    faceBusy = true; renderFace();
    $("face-button").textContent = "Looking…";
    message("Looking at the camera…", true);
    try {
      const r = await Kz.api("POST", "/api/till/face");
      if (!r.ok) { message(r.data ? r.data.error : "error " + r.status); return; }
      const res = r.data;
      if (!res.recognised) { message(res.message); Kz.alarm(); $("card-input").focus(); return; }
      message("");
      // Shown, not selected: nothing can be charged until the cashier confirms the face matches the photo.
      faceMatch = res;
      showPupil(null);
      $("pupil").hidden = false;
      $("pupil-photo").src = res.pupil.photoUrl;
      $("pupil-name").textContent = res.pupil.fullName;
      $("pupil-class").textContent = "class " + res.pupil.className;
      $("pupil-balance").textContent = res.pupil.balanceText;
      $("face-question").textContent = res.message;
      $("face-confirm").hidden = false;
      $("face-yes").focus();
    } finally {
      faceBusy = false; renderFace();
      $("face-button").textContent = "Face (F1)";
    }
  }

  async function confirmFace(yes) {
    const match = faceMatch;
    faceMatch = null;
    $("face-confirm").hidden = true;
    if (!match) return;
    if (!yes) { showPupil(null); message("Not confirmed — use the card."); $("card-input").focus(); return; }
    const r = await Kz.api("POST", "/api/till/face/confirm", { token: match.token });
    if (!r.ok) { showPupil(null); message(r.data.error); return; }
    message("Confirmed by the cashier: " + r.data.fullName, true);
    Kz.beep();
    showPupil(r.data);
    $("card-input").focus();
  }

  function banned(item) {
    if (!pupil) return false;
    return pupil.bans.some(b => (b.kind === "item" && b.menuItemId === item.id) || (b.kind === "allergen" && item.allergens.includes(b.allergen)));
  }

  function tile(item, index, onTap) {
    return Kz.el("button", { "data-item-code": item.code, class: banned(item) ? "banned" : "", onclick: () => onTap(item) },
      index < 8 ? Kz.el("span", { class: "key" }, "F" + (index + 2)) : null,
      item.name, Kz.el("span", { class: "price" }, item.priceText),
      item.allergens.length ? Kz.el("span", { class: "allergens" }, "contains " + item.allergens.join(", ")) : null);
  }

  function renderMenu() {
    if (!state) return;
    const quick = state.menu.filter(m => m.isMeal).slice(0, 4);
    $("quick").replaceChildren(...quick.map((m, i) => { const b = tile(m, 99, item => sell([{ menuItemId: item.id, quantity: 1 }], "account")); b.dataset.quick = m.code; b.removeAttribute("data-item-code"); return b; }));
    $("menu").replaceChildren(...state.menu.map((m, i) => tile(m, i, add)));
  }

  function add(item) {
    const line = cart.find(l => l.item.id === item.id);
    if (line) line.quantity++; else cart.push({ item, quantity: 1 });
    renderCart();
  }

  function renderCart() {
    $("cart").replaceChildren(...cart.map(l => Kz.el("tr", {}, Kz.el("td", {}, l.quantity + " × " + l.item.name), Kz.el("td", {}, Kz.money(l.item.price * l.quantity)))));
    $("cart-total").textContent = Kz.money(cart.reduce((s, l) => s + l.item.price * l.quantity, 0));
    $("charge-button").disabled = cart.length === 0 || !pupil;
    $("cash-button").disabled = cart.length === 0;
  }

  function showPupil(p) {
    pupil = p;
    $("pupil").hidden = !p;
    if (p) {
      $("pupil-photo").src = p.photoUrl;
      $("pupil-name").textContent = p.fullName;
      $("pupil-class").textContent = "class " + p.className;
      $("pupil-balance").textContent = p.balanceText;
      $("pupil-limits").textContent = "spent today " + Kz.money(p.spentToday) + (p.dailyLimit === null ? "" : " of " + Kz.money(p.dailyLimit) + " allowed");
      $("pupil-meal").textContent = p.entitledMealAvailable ? "Free meal available today" : "";
      $("pupil-bans").textContent = p.bans.length ? "Parent's bans: " + p.bans.map(b => b.kind === "allergen" ? b.allergen : "item " + b.menuItemId).join(", ") : "";
    }
    renderMenu();
    renderCart();
  }

  function clearSale() {
    cart = []; pendingSale = null; faceMatch = null;
    $("face-confirm").hidden = true;
    $("ban-alert").hidden = true;
    showPupil(null);
    $("card-input").value = "";
    $("card-input").focus();
  }

  async function identify() {
    const card = $("card-input").value.trim();
    $("card-input").value = "";
    if (!card) return;
    $("ban-alert").hidden = true;
    const r = await Kz.api("GET", "/api/till/pupil?card=" + encodeURIComponent(card));
    if (!r.ok) { message(r.data.error); Kz.alarm(); showPupil(null); return; }
    message("");
    Kz.beep();
    showPupil(r.data);
  }

  async function sell(lines, payment, overrideReason) {
    if (payment === "account" && !pupil) { message("Tap the pupil's card first."); return; }
    // One key per sale: pressing again or a resent request after a network hiccup charges once.
    if (!pendingSale || overrideReason === undefined) pendingSale = { key: newKey(), lines, payment };
    const r = await Kz.api("POST", "/api/till/charge", { key: pendingSale.key, pupilId: pupil ? pupil.pupilId : null, lines: pendingSale.lines, payment: pendingSale.payment, overrideReason: overrideReason || null });
    if (!r.ok) { message(r.data.error); return; }
    const res = r.data;
    if (res.status === "banned") {
      $("ban-text").textContent = "BANNED BY PARENT: " + res.bans.map(b => b.allergen ? b.itemName + " (" + b.allergen + ")" : b.itemName).join(", ") + ". Do not sell.";
      $("ban-alert").hidden = false;
      $("override-reason").value = "";
      Kz.alarm();
      return;
    }
    $("ban-alert").hidden = true;
    if (!res.succeeded) { message(res.message); Kz.alarm(); pendingSale = null; return; }
    message(res.message, true);
    lastSale = res;
    pendingSale = null;
    $("result").hidden = false;
    $("refund-form").hidden = true;
    $("result-text").textContent = res.message;
    $("receipt").textContent = res.receipt.join("\n");
    if (pupil && res.balanceAfter !== null) { pupil.balance = res.balanceAfter; pupil.balanceText = res.balanceAfterText; $("pupil-balance").textContent = res.balanceAfterText; }
    cart = [];
    renderCart();
    $("card-input").focus();
  }

  async function correct(isVoid) {
    if (!lastSale) return;
    const reason = isVoid ? (prompt("Why is the sale voided?") || "") : $("refund-reason").value;
    const amount = Math.round(Number($("refund-amount").value || 0) * 100);
    const r = await Kz.api("POST", isVoid ? "/api/till/void" : "/api/till/refund", { key: newKey(), transactionId: lastSale.transactionId, amount, reason });
    if (!r.ok) { message(r.data.error); return; }
    message(r.data.message, true);
    $("result-text").textContent = r.data.message;
    $("refund-form").hidden = true;
    if (pupil && r.data.balanceAfter !== null) { pupil.balance = r.data.balanceAfter; pupil.balanceText = r.data.balanceAfterText; $("pupil-balance").textContent = r.data.balanceAfterText; }
  }

  $("open-shift-button").addEventListener("click", async () => {
    const r = await Kz.api("POST", "/api/till/shift/open", { openingFloat: Math.round(Number($("opening-float").value || 0) * 100) });
    if (!r.ok) { message(r.data.error); return; }
    message("");
    await load();
  });
  $("close-shift-button").addEventListener("click", () => { $("close-shift-form").hidden = false; $("counted-cash").focus(); });
  $("close-shift-confirm").addEventListener("click", async () => {
    const r = await Kz.api("POST", "/api/till/shift/close", { countedCash: Math.round(Number($("counted-cash").value || 0) * 100) });
    if (!r.ok) { message(r.data.error); return; }
    const z = r.data;
    $("zreport").hidden = false;
    $("zreport").textContent = ["Z-report, shift " + z.shiftId + " (" + z.till + ")", "sales " + z.sales + "  " + Kz.money(z.salesTotal),
      "  from accounts " + Kz.money(z.fromAccounts), "  free meals " + Kz.money(z.fromSubsidy), "  cash " + Kz.money(z.fromCash),
      "refunds " + z.refunds + "  " + Kz.money(z.refundedTotal), "voids " + z.voids + "  " + Kz.money(z.voidedTotal), "ban overrides " + z.banOverrides,
      "float " + Kz.money(z.openingFloat), "counted " + Kz.money(z.countedCash), "expected " + Kz.money(z.expectedCash), "over/short " + Kz.money(z.overShort)].join("\n");
    window.print();
    await load();
  });
  $("card-input").addEventListener("keydown", ev => { if (ev.key === "Enter") { ev.preventDefault(); identify(); } });
  $("charge-button").addEventListener("click", () => sell(cart.map(l => ({ menuItemId: l.item.id, quantity: l.quantity })), "account"));
  $("cash-button").addEventListener("click", () => sell(cart.map(l => ({ menuItemId: l.item.id, quantity: l.quantity })), "cash"));
  $("clear-button").addEventListener("click", clearSale);
  $("override-button").addEventListener("click", () => {
    const reason = $("override-reason").value.trim();
    if (reason.length < 3) { message("An override needs a reason."); $("override-reason").focus(); return; }
    sell(pendingSale.lines, pendingSale.payment, reason);
  });
  $("print-button").addEventListener("click", () => window.print());
  $("face-button").addEventListener("click", face);
  $("face-yes").addEventListener("click", () => confirmFace(true));
  $("face-no").addEventListener("click", () => confirmFace(false));
  $("refund-open").addEventListener("click", () => {
    $("refund-form").hidden = false;
    $("refund-amount").value = lastSale ? ((lastSale.fromAccount + lastSale.fromCash) / 100).toFixed(2) : "";
    $("refund-reason").focus();
  });
  $("refund-button").addEventListener("click", () => correct(false));
  $("void-button").addEventListener("click", () => correct(true));

  // The till is driven by the card reader (a keyboard wedge typing digits + Enter) and the keyboard.
  document.addEventListener("keydown", ev => {
    const typing = document.activeElement && document.activeElement.tagName === "INPUT" && document.activeElement.id !== "card-input";
    if (ev.key === "Escape") { ev.preventDefault(); clearSale(); return; }
    if (ev.key === "F1") { ev.preventDefault(); face(); return; }
    if (faceMatch && ev.key === "Enter" && !ev.ctrlKey) { ev.preventDefault(); confirmFace(true); return; }
    if (ev.key === "F12" || (ev.key === "Enter" && ev.ctrlKey)) { ev.preventDefault(); $("charge-button").click(); return; }
    const f = /^F([2-9])$/.exec(ev.key);
    if (f && state) { ev.preventDefault(); const item = state.menu[Number(f[1]) - 2]; if (item) add(item); return; }
    if (!typing && /^[0-9]$/.test(ev.key) && document.activeElement.id !== "card-input") { $("card-input").focus(); }
  });
  await load();
})();
