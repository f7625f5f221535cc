"use strict";
(() => {
  const form = document.getElementById("login-form");
  const message = document.getElementById("login-message");
  function cookie(name) {
    const m = document.cookie.split("; ").find(c => c.startsWith(name + "="));
    return m ? decodeURIComponent(m.slice(name.length + 1)) : "";
  }
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    message.textContent = "";
    const r = await fetch("/api/login", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": cookie("kz_login_csrf") },
      body: JSON.stringify({ name: form.name.value, password: form.password.value })
    });
    const data = await r.json();
    if (!r.ok) { message.textContent = data.error; form.password.value = ""; form.password.focus(); return; }
    const next = new URLSearchParams(location.search).get("next");
    location.href = data.mustChangePassword ? "/password" : (next && next.startsWith("/") && !next.startsWith("//") ? next : data.home);
  });
  form.name.focus();
})();
