// One case: what it says, the steps the user may take now (with the fields and evidence each
// needs, and why a step is not yet possible), evidence upload, comments and the timeline.
import { api, esc, fmtTime, header, whoami } from "./common.js";

const m = await header("cases");
const code = new URLSearchParams(location.search).get("code") || "";
const WARN = { blue: "蓝单", yellow: "黄单", red: "红单" };
const CATEGORIES = ["大气", "水", "土壤", "噪声", "固体废物", "生态", "辐射", "其他"];
const CHANNELS = ["12369", "来信", "来访", "电话", "网络", "督察转办"];
let units = null;  // the registry's units, for the edit form (the bureau's)
let current = null;

function facts(c) {
  const rows = [
    ["编号", c.code], ["来源", c.origin_label + (c.round ? `（第 ${c.round} 轮）` : "")], ["类型", c.kind_label],
    ["状态", c.state_label], ["牵头单位", c.lead_unit], ["配合单位", c.supporting_units.join("、")],
    ["验收单位", c.acceptance_unit], ["交办日期", c.received_on], ["时限", c.due_on],
    ["时限依据", c.due_basis], ["剩余天数", c.days_left === null ? null : c.overdue ? `逾期 ${-c.days_left} 天` : c.days_left],
    ["预警", (WARN[c.warning] ?? "") + (c.supervised_on ? ` 挂牌督办（${c.supervised_on}）` : "")],
    ["问题描述", c.description], ["全国统一编号", c.national_id], ["来源渠道", c.channel],
    ["河流 / 河段", c.river ? `${c.river} ${c.reach ?? ""}` : null], ["核查结论", c.finding],
    ["类别", c.category], ["地址", c.address], ["企业", c.enterprise], ["点位", c.site],
    ["位置", c.longitude !== null && c.longitude !== undefined ? `${c.longitude}, ${c.latitude}` : null],
    ["完成整改日期", c.rectified_on], ["销号日期", c.signed_off_on], ["办结日期", c.closed_on],
  ];
  document.querySelector("#facts tbody").innerHTML = rows.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("");
}

function input(f, action) {
  const id = `f-${action}-${f.name}`;
  const value = f.value ?? "";
  if (f.type === "choice") {
    return `<label>${esc(f.label)} <select id="${id}" data-field="${f.name}">${f.choices.map((c) =>
      `<option ${c === value ? "selected" : ""}>${esc(c)}</option>`).join("")}</select></label>`;
  }
  if (f.type === "bool") {
    return `<label>${esc(f.label)} <select id="${id}" data-field="${f.name}" data-bool="1"><option value="true">是</option><option value="false">否</option></select></label>`;
  }
  const type = f.type === "date" ? "date" : "text";
  return `<label>${esc(f.label)} <input id="${id}" type="${type}" data-field="${f.name}" value="${esc(value)}" maxlength="2000"></label>`;
}

function actions(c) {
  const box = document.getElementById("actions");
  if (!c.actions.length) { box.innerHTML = "<p>当前没有您可办理的步骤。</p>"; return; }
  box.innerHTML = c.actions.map((a) => `<form class="form action" data-action="${a.name}">
      ${a.requires.map((f) => input(f, a.name)).join("")}
      ${a.evidence.length ? `<span>须上传：${a.evidence.map((e) => esc(e.label)).join("、")}</span>` : ""}
      <button class="primary" type="submit" id="do-${a.name}">${esc(a.label)}</button>
      ${a.allowed ? "" : `<span class="hint">${esc(a.message)}</span>`}</form>`).join("");
  for (const form of box.querySelectorAll("form.action")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const fields = {};
      for (const el of form.querySelectorAll("[data-field]")) {
        const v = el.value.trim();
        if (v) fields[el.dataset.field] = el.dataset.bool ? v === "true" : v;
      }
      const err = document.getElementById("action-error");
      err.textContent = "";
      try { show(await api(`cases/${encodeURIComponent(code)}/actions/${form.dataset.action}`, { method: "POST", body: { fields } })); }
      catch (e) { err.textContent = e.message; }
    });
  }
}

// ---------------------------------------------------------------- the bureau's edit form

function opt(v, label, chosen) {
  return `<option value="${esc(v)}" ${chosen ? "selected" : ""}>${esc(label)}</option>`;
}

function editForm(c) {
  const unitOpts = (chosen, multiple) => (multiple ? "" : opt("", "—", !chosen))
    + units.map((u) => opt(u.code, `${u.name}（${u.code}）`, multiple ? chosen.includes(u.code) : chosen === u.code)).join("");
  const text = (k, label, v, max) => `<label>${esc(label)} <input id="e-${k}" maxlength="${max}" value="${esc(v ?? "")}"></label>`;
  const insp = c.round !== null;
  const dueMode = "keep";
  return `${text("title", "标题", c.title, 300)}
    <label>类别 <select id="e-category">${opt("", "—", !c.category)}${CATEGORIES.map((x) => opt(x, x, c.category === x)).join("")}</select></label>
    <label>问题描述 <textarea id="e-description" maxlength="20000" rows="2">${esc(c.description ?? "")}</textarea></label>
    ${insp ? `<label>轮次 <input id="e-round" type="number" min="1" max="20" value="${esc(c.round)}"></label>
      ${text("batch", "批次", c.batch, 40)}${text("item_no", "问题编号", c.item_no, 40)}` : ""}
    ${c.kind === "complaint" ? `<label>来源渠道 <select id="e-channel">${CHANNELS.map((x) => opt(x, x, c.channel === x)).join("")}</select></label>
      ${text("national_id", "全国统一编号", c.national_id, 40)}` : ""}
    ${c.origin === "river_patrol" ? text("river", "河流", c.river, 100) + text("reach", "河段", c.reach, 100) : ""}
    ${text("region", "所在区划代码", c.region_code, 12)}${text("enterprise", "企业统一社会信用代码", c.enterprise, 18)}
    ${text("site", "点位编码", c.site, 64)}${text("longitude", "经度", c.longitude, 12)}${text("latitude", "纬度", c.latitude, 12)}
    ${text("address", "地址", c.address, 300)}
    <label>牵头单位 <select id="e-lead_unit">${unitOpts(c.lead_unit, false)}</select></label>
    <label>配合单位 <select id="e-supporting_units" multiple size="3">${unitOpts(c.supporting_units, true)}</select></label>
    <label>验收单位 <select id="e-acceptance_unit">${unitOpts(c.acceptance_unit, false)}</select></label>
    <label>交办（受理）日期 <input id="e-received_on" type="date" value="${esc(c.received_on)}"></label>
    <label>时限 <select id="e-deadline_mode">${opt(dueMode, c.due_on ? `不变（${c.due_on}）` : "无", true)}
      ${opt("date", "指定日期", false)}${opt("calendar", "自然日", false)}${opt("working", "工作日", false)}</select></label>
    <label>整改时限 <input id="e-due_on" type="date"></label>
    <label>期限天数 <input id="e-deadline_days" type="number" min="1" max="3660"></label>
    <button class="primary" type="submit" id="edit-submit">保存修改</button>`;
}

function editBody(c) {
  const v = (k) => { const el = document.getElementById("e-" + k); const x = el ? el.value.trim() : ""; return x === "" ? null : x; };
  const body = { origin: c.origin, kind: c.kind, received_on: v("received_on") ?? c.received_on, repeat_of: c.repeat_of };
  for (const k of ["title", "description", "category", "batch", "item_no", "national_id", "channel", "river", "reach",
    "region", "enterprise", "site", "address", "lead_unit", "acceptance_unit"]) body[k] = v(k);
  if (v("round") !== null) body.round = Number(v("round"));
  if (v("longitude") !== null) body.longitude = Number(v("longitude"));
  if (v("latitude") !== null) body.latitude = Number(v("latitude"));
  body.supporting_units = [...document.getElementById("e-supporting_units").selectedOptions].map((o) => o.value);
  const mode = document.getElementById("e-deadline_mode").value;
  if (mode === "keep") { if (c.due_on) body.due_on = c.due_on; }
  else if (mode === "date") body.due_on = v("due_on");
  else if (v("deadline_days") !== null) { body.deadline_days = Number(v("deadline_days")); body.deadline_unit = mode; }
  return body;
}

function show(c) {
  current = c;
  document.getElementById("title").textContent = `${c.code} ${c.title}`;
  document.getElementById("notices").innerHTML = c.notices.map((n) => `<p class="warn notice">${esc(n)}</p>`).join("");
  facts(c);
  actions(c);
  document.getElementById("confirm-form").hidden = !c.may_confirm;
  document.getElementById("manage").hidden = !(c.may_edit || c.may_extend);
  document.getElementById("edit-toggle").hidden = !c.may_edit;
  if (!c.may_edit) document.getElementById("edit-form").hidden = true;
  document.getElementById("extend-form").hidden = !c.may_extend;
  for (const k of ["assignment", "supervision", "sign_off"]) {
    document.getElementById(`l-${k}`).href = `api/v1/cases/${encodeURIComponent(c.code)}/letters/${k}`;
  }
  document.getElementById("l-sign_off").hidden = c.kind !== "problem";
  const kinds = document.getElementById("evidence-kind");
  kinds.innerHTML = c.evidence_kinds.map((k) => `<option value="${k.name}">${esc(k.label)}</option>`).join("");
  document.getElementById("evidence").innerHTML = c.evidence.map((f) =>
    `<li><a href="api/v1/attachments/${f.id}/content">${esc(f.file_name)}</a>（${esc(f.evidence_label ?? "其他")}，${fmtTime(f.uploaded_at)}）</li>`).join("");
  document.getElementById("timeline").innerHTML = c.timeline.map((e) =>
    `<li>${fmtTime(e.at)} ${esc(e.actor ?? "")}${e.unit ? `（${esc(e.unit)}）` : ""}：${esc(e.summary ?? e.action)}</li>`).join("");
  const readonly = m.role === "leader" || m.role === "enterprise";
  document.getElementById("upload-form").hidden = readonly;
  document.getElementById("comment-form").hidden = readonly;
  if (m.role === "enterprise") {  // the case as it stands; the bureau's working record is not theirs
    for (const id of ["letters", "timeline-panel", "evidence-head", "comment-head"]) document.getElementById(id).hidden = true;
  }
}

async function reload() {
  try { show(await api(`cases/${encodeURIComponent(code)}`)); }
  catch (e) { document.getElementById("case-error").textContent = e.status === 404 ? "没有这件案件，或您无权查看" : e.message; }
}

if (m) {
  document.getElementById("upload-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = document.getElementById("evidence-file").files[0];
    const err = document.getElementById("upload-error");
    err.textContent = "";
    if (!file) return;
    const me = await whoami();
    const params = new URLSearchParams({ file_name: file.name, entity_type: "case", entity_id: code,
      evidence: document.getElementById("evidence-kind").value });
    const r = await fetch("api/v1/attachments?" + params.toString(), { method: "POST", credentials: "same-origin", body: file,
      headers: { Accept: "application/json", "Content-Type": "application/octet-stream", "X-CSRF-Token": me.csrf_token || "" } });
    const d = await r.json();
    if (r.status !== 201) { err.textContent = typeof d.detail === "string" ? d.detail : JSON.stringify(d.detail); return; }
    document.getElementById("evidence-file").value = "";
    // the upload's transaction may still be committing when its answer arrives: read the
    // case again until the new file is in it
    for (let i = 0; i < 40; i += 1) {
      const c = await api(`cases/${encodeURIComponent(code)}`);
      if (c.evidence.some((f) => f.id === d.id) || i === 39) { show(c); break; }
      await new Promise((ok) => setTimeout(ok, 250));
    }
  });
  document.getElementById("comment-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = document.getElementById("comment").value.trim();
    if (!text) return;
    try { show(await api(`cases/${encodeURIComponent(code)}/comments`, { method: "POST", body: { text } })); document.getElementById("comment").value = ""; }
    catch (e) { document.getElementById("action-error").textContent = e.message; }
  });
  document.getElementById("confirm-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("action-error");
    err.textContent = "";
    try {
      show(await api(`cases/${encodeURIComponent(code)}/confirm`, { method: "POST", body: { note: document.getElementById("confirm-note").value.trim() } }));
      document.getElementById("confirm-note").value = "";
    } catch (e) { err.textContent = e.message; }
  });
  document.getElementById("edit-toggle").addEventListener("click", async () => {
    const form = document.getElementById("edit-form");
    if (!form.hidden) { form.hidden = true; return; }
    if (units === null) units = await api("registry/units");
    form.innerHTML = editForm(current);
    form.hidden = false;
  });
  document.getElementById("edit-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("manage-error");
    err.textContent = "";
    try {
      show(await api(`cases/${encodeURIComponent(code)}`, { method: "PUT", body: editBody(current) }));
      document.getElementById("edit-form").hidden = true;
    } catch (e) { err.textContent = e.message; }
  });
  document.getElementById("extend-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("manage-error");
    err.textContent = "";
    try {
      show(await api(`cases/${encodeURIComponent(code)}/extend`, { method: "POST", body: {
        days: Number(document.getElementById("extend-days").value), reason: document.getElementById("extend-reason").value.trim() } }));
    } catch (e) { err.textContent = e.message; }
  });
  await reload();
}
