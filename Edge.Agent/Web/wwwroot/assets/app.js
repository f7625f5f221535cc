// Shared by every page: who is signed in, the CSRF token on every POST, sign-out, small helpers.
"use strict";
const Kz = (() => {
  let me = null;

  async function loadMe() {
    const r = await fetch("/api/me", { credentials: "same-origin" });
    if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return null; }
    me = await r.json();
    if (r.status === 403 && me.code === "password-change-required") { location.href = "/password"; return null; }
    if (me.mustChangePassword && location.pathname !== "/password") { location.href = "/password"; return null; }
    const who = document.getElementById("who");
    if (who) who.textContent = me.name + " · " + me.role;
    const out = document.getElementById("signout");
    if (out) out.addEventListener("click", signOut);
    return me;
  }

  async function api(method, url, body) {
    const headers = { "Accept": "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRF-Token"] = me ? me.csrfToken : "";
    }
    const r = await fetch(url, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("signed out"); }
    let data = null;
    const type = r.headers.get("Content-Type") || "";
    if (type.includes("json")) data = await r.json();
    return { ok: r.ok, status: r.status, data };
  }

  async function signOut() {
    await api("POST", "/api/logout");
    location.href = "/login";
  }

  function money(tiyn) {
    const sign = tiyn < 0 ? "−" : "";
    const abs = Math.abs(tiyn);
    return sign + Math.floor(abs / 100).toLocaleString("ru-RU") + "." + String(abs % 100).padStart(2, "0") + " ₸";
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  // An alarm the cashier hears even when looking at the child: three low beeps (Web Audio, nothing to download).
  function alarm() {
    // Counted whether or not a sound card exists: the red banner is the other half of the alert.
    document.body.dataset.alarm = String(Number(document.body.dataset.alarm || 0) + 1);
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      for (let i = 0; i < 3; i++) {
        const o = ctx.createOscillator(), g = ctx.createGain();
        o.type = "square"; o.frequency.value = 440;
        g.gain.value = 0.2;
        o.connect(g); g.connect(ctx.destination);
        o.start(ctx.currentTime + i * 0.35); o.stop(ctx.currentTime + i * 0.35 + 0.25);
      }
    } catch (e) { /* no audio device: the red banner still shows */ }
  }

  function beep() {
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const o = ctx.createOscillator(); o.frequency.value = 1200; o.connect(ctx.destination);
      o.start(); o.stop(ctx.currentTime + 0.08);
    } catch (e) { /* silent till */ }
  }

  return { loadMe, api, money, el, alarm, beep, get me() { return me; } };
})();
