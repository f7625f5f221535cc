"use strict";
(async () => {
  const me = await Kz.loadMe();
  if (!me) return;
  const $ = id => document.getElementById(id);
  const now = new Date();
  const month = now.getFullYear() + "-" + String(now.getMonth() + 1).padStart(2, "0");
  $("register-month").value = month;
  $("meals-month").value = month;

  const classes = await Kz.api("GET", "/api/office/classes");
  if (classes.ok) classes.data.forEach(c => $("register-group").append(Kz.el("option", { value: c.id }, c.name)));
  if (classes.ok && classes.data.length) $("register-group").value = classes.data[0].id;

  function links() {
    const r = "/api/office/register?group=" + encodeURIComponent($("register-group").value) + "&month=" + $("register-month").value;
    $("register-html").href = r;
    $("register-csv").href = r + "&format=csv";
    const m = "/api/office/free-meals?month=" + $("meals-month").value;
    $("meals-html").href = m;
    $("meals-csv").href = m + "&format=csv";
  }
  ["register-group", "register-month", "meals-month"].forEach(id => $(id).addEventListener("change", links));
  links();

  async function notEaten() {
    const r = await Kz.api("GET", "/api/office/not-eaten?cutoff=" + $("cutoff").value);
    if (!r.ok) return;
    $("not-eaten").replaceChildren(...(r.data.length ? r.data.map(u => Kz.el("tr", {}, Kz.el("td", {}, u.className), Kz.el("td", {}, u.name), Kz.el("td", {}, u.program)))
      : [Kz.el("tr", {}, Kz.el("td", {}, "Nobody: every entitled pupil at school has eaten."))]));
  }
  $("cutoff-button").addEventListener("click", notEaten);
  await notEaten();
})();
