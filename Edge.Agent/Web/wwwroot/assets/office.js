"use strict";
(async () => {
  const me = await Kz.loadMe();
  if (!me) return;
  document.getElementById("reports-state").textContent = "The табель and the free-meal report are not served by this build yet.";
})();
