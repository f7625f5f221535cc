"use strict";
(async () => {
  const me = await Kz.loadMe();
  if (!me) return;
  const form = document.getElementById("password-form");
  const message = document.getElementById("password-message");
  document.getElementById("password-intro").textContent = me.mustChangePassword
    ? "You signed in with a one-time password. Choose your own (at least 10 characters) to continue."
    : "Change your password.";
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    if (form.fresh.value !== form.again.value) { message.textContent = "The two new passwords differ."; return; }
    const r = await Kz.api("POST", "/api/account/password", { current: form.current.value, new: form.fresh.value });
    if (!r.ok) { message.textContent = r.data.error; return; }
    location.href = r.data.home;
  });
})();
