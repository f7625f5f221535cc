"use strict";
// Consents and enrolment for school IT. Every change is checked and audited on the server; this page only shows
// its messages as they are. Photos go to the server for checking and are never shown back.
(async () => {
  const me = await Kz.loadMe();
  if (!me) return;
  const $ = id => document.getElementById(id);
  const say = (text, ok) => { $("bio-message").textContent = text || ""; $("bio-message").className = ok ? "ok" : "error"; };
  const day = v => v ? String(v).slice(0, 10) : "";
  let status = null, pupilId = null, uploads = [], captures = [];

  const s = await Kz.api("GET", "/api/bio/status");
  if (!s.ok) { $("bio-state").textContent = s.data ? s.data.error : "error " + s.status; return; }
  status = s.data;
  $("bio-state").textContent = !status.enabled ? (status.problem || "Biometrics are off at this school.")
    : (status.faceAvailable ? "Face recognition ready. " : "Face recognition unavailable: " + status.problem + " ") + status.templates + " template(s) stored on this agent."
      + (status.keepRawImages ? " Enrolment photos are kept (Biometrics:KeepRawImages)." : " Enrolment photos are not kept.");
  if (!status.enabled) return;
  const boxes = (container, prefix) => $(container).replaceChildren(...status.purposes.map(p =>
    Kz.el("label", {}, Kz.el("input", { type: "checkbox", value: p, id: prefix + p }), p)));
  boxes("consent-purposes", "purpose-");
  boxes("revoke-purposes", "revoke-");
  $("capture").hidden = !status.enrolmentCamera;
  const today = new Date().toISOString().slice(0, 10);
  $("given-on").value = today;
  $("expires-on").value = (new Date().getFullYear() + 1) + "-06-30";
  const ticked = container => Array.from($(container).querySelectorAll("input:checked"), i => i.value);

  async function search() {
    const r = await Kz.api("GET", "/api/bio/pupils?q=" + encodeURIComponent($("pupil-search").value));
    if (!r.ok) return;
    $("pupil-select").replaceChildren(...r.data.map(p => Kz.el("option", { value: p.pupilId }, p.fullName + " · " + p.className + " · #" + p.pupilId)));
  }

  function render(p) {
    $("bio").hidden = false;
    $("bio-pupil").textContent = p.fullName + " · class " + p.className + " · #" + p.pupilId;
    $("effective").textContent = p.effectivePurposes.length ? p.effectivePurposes.join(", ") : "none (no face is matched for this pupil)";
    $("template-count").textContent = p.templates;
    $("consents").replaceChildren(...p.consents.map(c => Kz.el("tr", { class: c.active ? "" : "inactive" },
      Kz.el("td", {}, c.id), Kz.el("td", {}, c.guardianName + " (" + c.guardianId + ")"), Kz.el("td", {}, day(c.givenAt)), Kz.el("td", {}, c.purposes.join(", ")),
      Kz.el("td", {}, day(c.expiresAt)), Kz.el("td", {}, c.operator + " " + day(c.recordedAt)), Kz.el("td", { class: "hash" }, c.documentSha256),
      Kz.el("td", {}, c.withdrawnAt ? "withdrawn " + day(c.withdrawnAt) : (c.active ? "active" : "expired")))));
    $("objections").replaceChildren(...p.objections.map(o => Kz.el("tr", { class: o.liftedAt ? "inactive" : "" },
      Kz.el("td", {}, o.id), Kz.el("td", {}, o.byPupil ? "the pupil" : "guardian " + o.guardianId), Kz.el("td", {}, day(o.recordedAt)),
      Kz.el("td", {}, o.operator), Kz.el("td", {}, o.note), Kz.el("td", {}, o.liftedAt ? day(o.liftedAt) : "—"))));
    $("receipts").replaceChildren(...p.receipts.map(r => Kz.el("tr", {},
      Kz.el("td", {}, r.id), Kz.el("td", {}, r.what), Kz.el("td", {}, r.reason), Kz.el("td", {}, day(r.deletedAt)), Kz.el("td", {}, r.deletedBy), Kz.el("td", { class: "hash" }, r.sha256))));
  }

  async function open(id) {
    pupilId = id;
    uploads = []; captures = [];
    $("feedback").replaceChildren();
    $("enrol").disabled = true;
    $("photos").value = "";
    const r = await Kz.api("GET", "/api/bio/pupils/" + id);
    if (!r.ok) { say(r.data.error); return; }
    say("");
    render(r.data);
  }

  async function change(method, url, body, done) {
    const r = await Kz.api(method, url, body);
    if (!r.ok) { say(r.data ? r.data.error : "error " + r.status); return null; }
    if (r.data && r.data.pupilId && r.data.consents) render(r.data);
    say(done, true);
    return r.data;
  }

  const readBase64 = file => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });

  function showFeedback(list) {
    $("feedback").replaceChildren(...list.map(f => Kz.el("li", { class: f.accepted ? "accepted" : "rejected", "data-source": f.source },
      f.source + ": " + (f.accepted ? "good (quality " + f.quality.toFixed(2) + ")" : f.advice))));
    $("enrol").disabled = !list.some(f => f.accepted);
  }

  $("pupil-search").addEventListener("input", search);
  $("pupil-select").addEventListener("change", () => open(Number($("pupil-select").value)));
  $("record-consent").addEventListener("click", () => change("POST", "/api/bio/pupils/" + pupilId + "/consents", {
    guardianId: $("guardian-id").value, guardianName: $("guardian-name").value, givenOn: $("given-on").value || null, expiresOn: $("expires-on").value || null,
    documentSha256: $("document-sha").value, purposes: ticked("consent-purposes"), noCrossBorder: $("no-cross-border").checked,
  }, "Consent recorded."));
  $("revoke").addEventListener("click", () => change("POST", "/api/bio/pupils/" + pupilId + "/revoke",
    { guardianId: $("revoke-guardian").value || null, purposes: ticked("revoke-purposes"), reason: $("revoke-reason").value }, "Consent withdrawn."));
  $("object").addEventListener("click", () => change("POST", "/api/bio/pupils/" + pupilId + "/objections",
    { byPupil: $("objection-by-pupil").checked, guardianId: $("objection-guardian").value || null, note: $("objection-note").value }, "Objection recorded; the pupil's templates were deleted."));
  $("lift").addEventListener("click", () => change("POST", "/api/bio/pupils/" + pupilId + "/objections/lift", { note: $("objection-note").value }, "Objections lifted."));
  $("delete-templates").addEventListener("click", async () => {
    const reason = prompt("Why are this pupil's templates deleted?", "re-enrolment");
    if (reason === null) return;
    const r = await Kz.api("DELETE", "/api/bio/pupils/" + pupilId + "/templates?reason=" + encodeURIComponent(reason));
    if (!r.ok) { say(r.data.error); return; }
    say(r.data.message, true);
    await open(pupilId);
    say(r.data.message, true);
  });
  $("photos").addEventListener("change", async () => {
    const files = Array.from($("photos").files);
    say("Checking " + files.length + " photo(s)…", true);
    uploads = await Promise.all(files.map(async f => ({ name: f.name, data: await readBase64(f) })));
    const r = await Kz.api("POST", "/api/bio/enrolment/check", { images: uploads, captures });
    if (!r.ok) { say(r.data.error); $("enrol").disabled = true; return; }
    say("");
    showFeedback(r.data.images);
  });
  $("capture").addEventListener("click", async () => {
    const r = await Kz.api("POST", "/api/bio/enrolment/capture");
    if (!r.ok) { say(r.data.error); return; }
    if (r.data.feedback.accepted) captures.push(r.data.capture);
    $("feedback").append(Kz.el("li", { class: r.data.feedback.accepted ? "accepted" : "rejected" },
      r.data.feedback.source + ": " + (r.data.feedback.accepted ? "good (quality " + r.data.feedback.quality.toFixed(2) + ")" : r.data.feedback.advice)));
    $("enrol").disabled = uploads.length === 0 && captures.length === 0;
  });
  $("enrol").addEventListener("click", async () => {
    const r = await Kz.api("POST", "/api/bio/pupils/" + pupilId + "/templates", { images: uploads, captures });
    if (!r.ok) { say(r.data.error); return; }
    showFeedback(r.data.images);
    $("template-count").textContent = r.data.templates;
    $("enrol").disabled = true;
    uploads = []; captures = [];
    say(r.data.message, r.data.stored > 0);
  });
  await search();
})();
