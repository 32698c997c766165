// One case: what it says, the steps the user may take now (with the fields and evidence each
// needs, and why a step is not yet possible), evidence upload, comments and the timeline.
import { api, esc, fmtTime, header, whoami } from "./common.js";

const m = await header("cases");
const code = new URLSearchParams(location.search).get("code") || "";
const WARN = { blue: "蓝单", yellow: "黄单", red: "红单" };

function facts(c) {
  const rows = [
    ["编号", c.code], ["来源", c.origin_label + (c.round ? `（第 ${c.round} 轮）` : "")], ["类型", c.kind_label],
    ["状态", c.state_label], ["牵头单位", c.lead_unit], ["配合单位", c.supporting_units.join("、")],
    ["验收单位", c.acceptance_unit], ["交办日期", c.received_on], ["时限", c.due_on],
    ["时限依据", c.due_basis], ["剩余天数", c.days_left === null ? null : c.overdue ? `逾期 ${-c.days_left} 天` : c.days_left],
    ["预警", (WARN[c.warning] ?? "") + (c.supervised_on ? ` 挂牌督办（${c.supervised_on}）` : "")],
    ["问题描述", c.description], ["全国统一编号", c.national_id], ["来源渠道", c.channel],
    ["河流 / 河段", c.river ? `${c.river} ${c.reach ?? ""}` : null], ["核查结论", c.finding],
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

function show(c) {
  document.getElementById("title").textContent = `${c.code} ${c.title}`;
  facts(c);
  actions(c);
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
  const readonly = m.role === "leader";
  document.getElementById("upload-form").hidden = readonly;
  document.getElementById("comment-form").hidden = readonly;
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
  await reload();
}
