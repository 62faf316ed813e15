// The registry page (admins write, dispatchers read): stations and posts, units, hospitals, users and agencies
// listed, created, edited and retired through /api/v1/{kind}; files imported through /api/v1/registry/import after a
// dry run that shows every row's action and every bad row's field and reason.
import {api, codeText, errorText, requireLogin, sendText} from "./api.js";
import {html, render} from "./html.js";
import {defineLabels, languageSelector, local, t} from "./i18n.js";
import "./labels.js";

defineLabels({
  "admin.title": {th: "ทะเบียนหน่วยงาน สถานี รถ โรงพยาบาล และผู้ใช้", en: "Registry: agencies, stations, units, hospitals, users"},
  "admin.kind.agencies": {th: "หน่วยงาน", en: "Agencies"},
  "admin.field.id": {th: "รหัสหน่วยงาน (เช่น cb-pao)", en: "Agency id (e.g. cb-pao)"},
  "admin.agency_kind.centre": {th: "ศูนย์สั่งการ 1669", en: "1669 centre"},
  "admin.agency_kind.hospital": {th: "หน่วยกู้ชีพโรงพยาบาล", en: "hospital team"},
  "admin.agency_kind.pao": {th: "องค์การบริหารส่วนจังหวัด", en: "provincial administration"},
  "admin.agency_kind.municipality": {th: "เทศบาล / อปท.", en: "municipality"},
  "admin.agency_kind.foundation": {th: "มูลนิธิกู้ภัย", en: "rescue foundation"},
  "admin.agency_kind.private": {th: "เอกชน", en: "private"},
  "admin.console": {th: "ศูนย์สั่งการ", en: "Console"},
  "admin.kind.stations": {th: "สถานีและจุดจอด", en: "Stations and posts"},
  "admin.kind.units": {th: "หน่วยปฏิบัติการ", en: "Units"},
  "admin.kind.hospitals": {th: "โรงพยาบาล", en: "Hospitals"},
  "admin.kind.users": {th: "ผู้ใช้", en: "Users"},
  "admin.show_retired": {th: "แสดงที่ปลดแล้ว", en: "Show retired"},
  "admin.new": {th: "เพิ่มใหม่", en: "New"},
  "admin.save": {th: "บันทึก", en: "Save"},
  "admin.edit": {th: "แก้ไข", en: "Edit"},
  "admin.retire": {th: "ปลดออก", en: "Retire"},
  "admin.retired": {th: "ปลดแล้ว", en: "retired"},
  "admin.retire_confirm": {th: "ปลด {id} ออกจากทะเบียน? ประวัติยังคงอยู่", en: "Retire {id}? Its history is kept."},
  "admin.creating": {th: "เพิ่ม: {kind}", en: "New: {kind}"},
  "admin.editing": {th: "แก้ไข {id}", en: "Edit {id}"},
  "admin.saved": {th: "บันทึก {id} แล้ว", en: "Saved {id}"},
  "admin.none": {th: "ยังไม่มีรายการ", en: "Nothing registered yet"},
  "admin.import": {th: "นำเข้าจากไฟล์ (CSV หรือ GeoJSON)", en: "Import from a file (CSV or GeoJSON)"},
  "admin.import.note": {
    th: "CSV: แถวแรกเป็นชื่อฟิลด์ (เช่น hospital_id, name_th, name_en, lat, lon, capabilities) คอลัมน์ retire ใช้ปลดรายการ GeoJSON: จุด (Point) รองรับแท็ก OpenStreetMap ตรวจสอบด้วยการทดลองนำเข้าก่อน: จะไม่บันทึกสิ่งใดเลยหากมีแถวที่ผิด",
    en: "CSV: a header row naming the fields (e.g. hospital_id, name_th, name_en, lat, lon, capabilities), a retire column to retire a record. GeoJSON: Point features; OpenStreetMap tags are understood. Check with a dry run first: nothing is written unless every row is good."},
  "admin.import.kind": {th: "ประเภท", en: "Kind"},
  "admin.import.file": {th: "ไฟล์", en: "File"},
  "admin.import.dry_run": {th: "ทดลองนำเข้า", en: "Dry run"},
  "admin.import.apply": {th: "นำเข้า", en: "Import"},
  "admin.import.no_file": {th: "เลือกไฟล์ก่อน", en: "Choose a file first"},
  "admin.import.summary": {th: "เพิ่ม {create} · แก้ไข {change} · ปลด {retire} · ไม่เปลี่ยน {unchanged} · ผิดพลาด {errors} แถว",
                           en: "Create {create} · change {change} · retire {retire} · unchanged {unchanged} · {errors} bad rows"},
  "admin.import.dry": {th: "ทดลองเท่านั้น: ยังไม่ได้บันทึก", en: "Dry run: nothing written"},
  "admin.import.applied": {th: "นำเข้าแล้ว", en: "Imported"},
  "admin.import.refused": {th: "ไม่ได้นำเข้า: แก้ไขแถวที่ผิดแล้วลองใหม่", en: "Not imported: fix the bad rows and try again"},
  "admin.import.skipped": {th: "ข้าม {n} รายการที่เป็นประเภทอื่น", en: "{n} features of another kind skipped"},
  "admin.col.row": {th: "แถว", en: "Row"},
  "admin.col.id": {th: "รหัส", en: "Id"},
  "admin.col.action": {th: "ผล", en: "Action"},
  "admin.col.detail": {th: "รายละเอียด", en: "Detail"},
  "admin.action.create": {th: "เพิ่ม", en: "create"},
  "admin.action.change": {th: "แก้ไข", en: "change"},
  "admin.action.retire": {th: "ปลด", en: "retire"},
  "admin.action.unchanged": {th: "ไม่เปลี่ยน", en: "unchanged"},
  "admin.action.error": {th: "ผิดพลาด", en: "error"},
  "admin.field.station_id": {th: "รหัสสถานี", en: "Station id"},
  "admin.field.unit_id": {th: "รหัสเรียกขาน", en: "Call sign"},
  "admin.field.hospital_id": {th: "รหัสโรงพยาบาล", en: "Hospital id"},
  "admin.field.user_id": {th: "ชื่อผู้ใช้", en: "User id"},
  "admin.field.name_th": {th: "ชื่อ (ไทย)", en: "Name (Thai)"},
  "admin.field.name_en": {th: "ชื่อ (อังกฤษ)", en: "Name (English)"},
  "admin.field.name": {th: "ชื่อ-สกุล", en: "Full name"},
  "admin.field.lat": {th: "ละติจูด", en: "Latitude"},
  "admin.field.lon": {th: "ลองจิจูด", en: "Longitude"},
  "admin.field.location": {th: "พิกัด", en: "Location"},
  "admin.field.agency_id": {th: "หน่วยงาน", en: "Agency"},
  "admin.field.kind": {th: "ชนิด", en: "Kind"},
  "admin.field.capability": {th: "ระดับ (NIEMS)", en: "Level (NIEMS)"},
  "admin.field.phone": {th: "โทรศัพท์", en: "Phone"},
  "admin.field.crew": {th: "ลูกทีม (คั่นด้วย ;)", en: "Crew (separated by ;)"},
  "admin.field.capabilities": {th: "ขีดความสามารถ", en: "Capabilities"},
  "admin.field.ed_beds": {th: "เตียงฉุกเฉินทั้งหมด", en: "ED beds"},
  "admin.field.ed_beds_free": {th: "เตียงฉุกเฉินว่าง", en: "ED beds free"},
  "admin.field.fhir_endpoint": {th: "FHIR endpoint", en: "FHIR endpoint"},
  "admin.field.role": {th: "บทบาท", en: "Role"},
  "admin.field.password": {th: "รหัสผ่าน (อย่างน้อย 10 ตัว)", en: "Password (10 characters or more)"},
  "admin.field.body": {th: "ไฟล์", en: "File"},
  "admin.field.reason": {th: "เหตุผล", en: "Reason"},
  "admin.opt.station": {th: "สถานี", en: "station"},
  "admin.opt.post": {th: "จุดจอดรอ", en: "standby post"},
  "admin.opt.ALS": {th: "ALS ระดับสูง", en: "ALS advanced"},
  "admin.opt.BLS": {th: "BLS ระดับพื้นฐาน", en: "BLS basic"},
  "admin.opt.FR": {th: "FR ระดับเบื้องต้น", en: "FR first responder"},
  "admin.opt.trauma": {th: "อุบัติเหตุ", en: "trauma"},
  "admin.opt.stroke": {th: "โรคหลอดเลือดสมอง", en: "stroke"},
  "admin.opt.stemi": {th: "หัวใจขาดเลือด (STEMI)", en: "STEMI"},
  "admin.opt.paediatric": {th: "กุมารเวช", en: "paediatrics"},
  "admin.opt.obstetric": {th: "สูติกรรม", en: "obstetrics"},
  "admin.opt.dispatcher": {th: "เจ้าหน้าที่สั่งการ", en: "dispatcher"},
  "admin.opt.crew": {th: "ชุดปฏิบัติการ", en: "crew"},
  "admin.opt.hospital": {th: "โรงพยาบาล", en: "hospital staff"},
  "admin.opt.admin": {th: "ผู้ดูแลระบบ", en: "admin"},
});

// The fields of each kind, in form order: [name, input kind, options, option label group (default "opt")]. Ids
// are fixed once created.
const FORMS = {
  stations: [["station_id", "id"], ["name_th"], ["name_en"], ["lat", "number"], ["lon", "number"], ["agency_id"],
             ["kind", "select", ["station", "post"]]],
  units: [["unit_id", "id"], ["capability", "select", ["ALS", "BLS", "FR"]], ["agency_id"], ["station_id"],
          ["lat", "number"], ["lon", "number"], ["phone"], ["crew"]],
  hospitals: [["hospital_id", "id"], ["name_th"], ["name_en"], ["lat", "number"], ["lon", "number"],
              ["capabilities", "checks", ["trauma", "stroke", "stemi", "paediatric", "obstetric"]],
              ["ed_beds", "number"], ["ed_beds_free", "number"], ["phone"], ["fhir_endpoint"]],
  users: [["user_id", "id"], ["name"], ["role", "select", ["dispatcher", "crew", "hospital", "admin"]], ["agency_id"],
          ["unit_id"], ["hospital_id"], ["phone"], ["password", "password"]],
  agencies: [["id", "id"], ["name_th"], ["name_en"],  // dispatch/agencies.py AGENCY_KINDS
             ["kind", "select", ["hospital", "pao", "municipality", "foundation", "private", "centre"], "agency_kind"],
             ["phone"]],
};
const ID_FIELD = {stations: "station_id", units: "unit_id", hospitals: "hospital_id", users: "user_id", agencies: "id"};
const $ = selector => document.querySelector(selector);
let kind = "stations";
let records = [];
let editing = null;  // the record being edited, or null for a new one

const idOf = record => record.id ?? record.user_id;
const place = record => record.location || record.base;
const fieldLabel = name => t(`admin.field.${name.split(".")[0].replace(/^row \d+: /, "")}`);

function summaryOf(record) {
  if (kind === "users") return `${record.name} · ${t(`admin.opt.${record.role}`)} · ${record.agency_id}`
    + (record.unit_id ? ` · ${record.unit_id}` : "") + (record.hospital_id ? ` · ${record.hospital_id}` : "");
  if (kind === "units") return `${t(`admin.opt.${record.capability}`)} · ${record.agency_id} · ${record.station_name}`
    + (record.phone ? ` · ${record.phone}` : "");
  if (kind === "agencies") return `${local(record, "name")} · ${t(`admin.agency_kind.${record.kind}`)}`
    + (record.phone ? ` · ${record.phone}` : "");
  if (kind === "hospitals") return `${local(record, "name")} · ${(record.capabilities || []).map(c => t(`admin.opt.${c}`)).join(", ")}`
    + ` · ${record.ed_beds_free}${record.ed_beds == null ? "" : "/" + record.ed_beds}`;
  return `${local(record, "name")} · ${t(`admin.opt.${record.kind}`)} · ${record.agency_id}`;
}

function renderList() {
  $("#list-title").textContent = t(`admin.kind.${kind}`);
  if (!records.length) { render($("#list"), html`<p class="muted">${t("admin.none")}</p>`); return; }
  render($("#list"), html`<table><tr><th>${t("admin.col.id")}</th><th>${t("admin.col.detail")}</th><th></th></tr>
    ${records.map(r => html`<tr data-id="${idOf(r)}" class="${r.retired_at ? "retired" : ""}"><td>${idOf(r)}</td>
      <td>${summaryOf(r)}${r.retired_at ? html` <span class="flag">(${t("admin.retired")})</span>` : ""}</td>
      <td class="actions">${r.retired_at ? "" : html`<button class="plain edit">${t("admin.edit")}</button>
        <button class="plain retire">${t("admin.retire")}</button>`}</td></tr>`)}</table>`);
}

async function load() {
  $("#list-error").textContent = "";
  document.querySelectorAll("#tabs button").forEach(b => b.classList.toggle("current", b.dataset.kind === kind));
  try {
    const body = await api("GET", `/api/v1/${kind}${$("#show-retired").checked ? "?retired=true" : ""}`);
    records = body[kind];
    renderList();
  } catch (e) { $("#list-error").textContent = errorText(e, fieldLabel); }
}

function valueOf(record, name) {
  if (!record) return "";
  if (name === "lat" || name === "lon") return place(record)?.[name] ?? "";
  if (name === ID_FIELD[kind]) return idOf(record);
  if (name === "crew") return (record.crew || []).join("; ");
  if (name === "password") return "";
  return record[name] ?? "";
}

function fieldInput([name, type, options, group = "opt"]) {
  const value = valueOf(editing, name);
  const label = html`<label for="f-${name}">${t(`admin.field.${name}`)}</label>`;
  if (type === "select") return html`${label}<select id="f-${name}" name="${name}">${options.map(o =>
    html`<option value="${o}" ${o === value ? html`selected` : ""}>${t(`admin.${group}.${o}`)}</option>`)}</select>`;
  if (type === "checks") return html`${label}<div class="checks" id="f-${name}">${options.map(o =>
    html`<label class="inline"><input type="checkbox" name="${name}" value="${o}" ${(editing?.[name] || []).includes(o) ? html`checked` : ""}>
      ${t(`admin.opt.${o}`)}</label>`)}</div>`;
  const inputType = type === "number" ? "number" : type === "password" ? "password" : "text";
  return html`${label}<input id="f-${name}" name="${name}" type="${inputType}" step="any" value="${value}"
    ${type === "id" && editing ? html`readonly` : ""}>`;
}

function renderForm() {
  $("#form-title").textContent = editing ? t("admin.editing", {id: idOf(editing)})
    : t("admin.creating", {kind: t(`admin.kind.${kind}`)});
  render($("#fields"), html`${FORMS[kind].map(fieldInput)}`);
  $("#form-error").textContent = "";
}

// The form as an API body: numbers as numbers, lat/lon as a location, lists as arrays; on an edit an emptied
// field is sent as null (cleared) and the id is left out (it is in the URL).
function formBody() {
  const body = {};
  for (const [name, type] of FORMS[kind]) {
    if (type === "checks") {
      body[name] = [...document.querySelectorAll(`#f-${name} input:checked`)].map(i => i.value);
      continue;
    }
    const raw = $(`#f-${name}`).value.trim();
    if (name === ID_FIELD[kind] && editing) continue;
    if (name === "password" && !raw) continue;
    if (!raw) { if (editing && name !== "lat" && name !== "lon") body[name] = null; continue; }
    body[name] = type === "number" ? Number(raw) : name === "crew" ? raw.split(";").map(s => s.trim()).filter(Boolean) : raw;
  }
  if (body.lat !== undefined || body.lon !== undefined) body.location = {lat: body.lat, lon: body.lon};
  delete body.lat; delete body.lon;
  return body;
}

async function save(event) {
  event.preventDefault();
  $("#form-error").textContent = $("#form-done").textContent = "";
  try {
    const saved = editing
      ? await api("PATCH", `/api/v1/${kind}/${encodeURIComponent(idOf(editing))}`, formBody())
      : await api("POST", `/api/v1/${kind}`, formBody());
    $("#form-done").textContent = t("admin.saved", {id: idOf(saved)});
    editing = null;
    renderForm();
    await load();
  } catch (e) { $("#form-error").textContent = errorText(e, fieldLabel); }
}

async function retire(id) {
  if (!confirm(t("admin.retire_confirm", {id}))) return;
  try {
    await api("POST", `/api/v1/${kind}/${encodeURIComponent(id)}/retire`, {});
    await load();
  } catch (e) { $("#list-error").textContent = errorText(e, fieldLabel); }
}

function detailOf(row) {
  const parts = [];
  const named = row.changes?.name_th?.to ?? row.changes?.name?.to ?? row.changes?.capability?.to;
  if (row.action === "create" && named) parts.push(html`<div>${named}</div>`);
  for (const [name, change] of Object.entries(row.changes || {})) {
    if (row.action === "change") parts.push(html`<div>${fieldLabel(name)}: ${JSON.stringify(change.from)} → ${JSON.stringify(change.to)}</div>`);
  }
  for (const warning of row.warnings || []) parts.push(html`<div class="warning">${warning}</div>`);
  for (const error of row.errors || []) {
    parts.push(html`<div class="error">${fieldLabel(error.field)} (${error.field}): ${codeText(error.code, error.params, error.reason)}</div>`);
  }
  return parts;
}

function renderImport(plan) {
  const state = plan.applied ? t("admin.import.applied") : plan.dry_run ? t("admin.import.dry") : t("admin.import.refused");
  render($("#import-result"), html`<div class="summary" id="import-summary">${t("admin.import.summary", plan.summary)}</div>
    <p class="muted" id="import-state">${state}${plan.skipped ? " · " + t("admin.import.skipped", {n: plan.skipped}) : ""}</p>
    <table id="import-rows"><tr><th>${t("admin.col.row")}</th><th>${t("admin.col.id")}</th><th>${t("admin.col.action")}</th>
      <th>${t("admin.col.detail")}</th></tr>
    ${plan.rows.map(r => html`<tr data-row="${r.row}"><td>${r.row}</td><td>${r.id ?? ""}</td>
      <td class="action-${r.action || "error"}">${t(`admin.action.${r.action || "error"}`)}</td><td>${detailOf(r)}</td></tr>`)}</table>`);
}

async function runImport(dryRun) {
  $("#import-error").textContent = "";
  const file = $("#import-file").files[0];
  if (!file) { $("#import-error").textContent = t("admin.import.no_file"); return; }
  const text = await file.text();
  const geo = /\.(geo)?json$/i.test(file.name) || text.trimStart().startsWith("{");
  let plan;
  try {
    plan = await sendText("POST", `/api/v1/registry/import?kind=${$("#import-kind").value}&dry_run=${dryRun}`, text,
                          geo ? "application/geo+json" : "text/csv; charset=utf-8");
  } catch (e) {
    if (e.body?.rows) renderImport(e.body);  // a refused import: its rows say what is wrong, line by line
    $("#import-error").textContent = e.body?.rows ? e.headline : errorText(e, fieldLabel);
    return;
  }
  renderImport(plan);
  if (!dryRun && $("#import-kind").value === kind) await load();
}

if (requireLogin()) {
  document.querySelectorAll("#tabs button").forEach(b => b.addEventListener("click", () => {
    kind = b.dataset.kind; editing = null; renderForm(); load();
  }));
  $("#list").addEventListener("click", e => {
    const id = e.target.closest("tr")?.dataset.id;
    if (!id) return;
    if (e.target.classList.contains("edit")) { editing = records.find(r => idOf(r) === id); renderForm(); }
    if (e.target.classList.contains("retire")) retire(id);
  });
  $("#new").addEventListener("click", () => { editing = null; renderForm(); });
  $("#show-retired").addEventListener("change", load);
  $("#record-form").addEventListener("submit", save);
  $("#dry-run").addEventListener("click", () => runImport(true));
  $("#apply").addEventListener("click", () => runImport(false));
  languageSelector($("#lang"), () => { renderList(); renderForm(); });
  renderForm();
  load();
}
