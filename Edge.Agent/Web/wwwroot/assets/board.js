"use strict";
(async () => {
  const me = await Kz.loadMe();
  if (!me) return;
  const $ = id => document.getElementById(id);

  function render(b) {
    $("school").textContent = b.school;
    $("clock").textContent = b.localTime;
    $("present-pupils").textContent = b.presentPupils;
    $("total-pupils").textContent = b.totalPupils;
    $("present-staff").textContent = b.presentStaff;
    $("classes").replaceChildren(...b.classes.map(c =>
      Kz.el("div", { class: "class", "data-class": c.className }, c.className + " ", Kz.el("b", {}, c.present), Kz.el("span", { class: "muted" }, "/" + c.total))));
    $("arrivals").replaceChildren(...b.arrivals.map(a =>
      Kz.el("li", { "data-uid": a.uid }, a.localTime + " · " + a.name + (a.className ? " (" + a.className + ")" : ""))));
    $("announcements").replaceChildren(...(b.announcements.length ? b.announcements.map(t => Kz.el("p", {}, t)) : [document.createTextNode("No announcements.")]));
  }

  // Server-Sent Events: the browser reconnects by itself after a network break; the board says so meanwhile.
  const source = new EventSource("/api/board/stream");
  source.addEventListener("board", ev => { render(JSON.parse(ev.data)); $("live").textContent = "live"; });
  source.onerror = () => { $("live").textContent = "reconnecting…"; };
  source.onopen = () => { $("live").textContent = "live"; };
})();
