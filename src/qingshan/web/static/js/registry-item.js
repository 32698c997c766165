// One registry record (registry-item?type=…&key=…): its fields as a form (editable for the
// bureau, read-only otherwise), the records hanging off it, its change history and its files.
// Every save goes to the registry service of the entity; a refusal names the field and nothing
// is written, so the form keeps what was typed and shows the message beside the field.
import { errorText, esc, fmtTime, header, whoami, KIND_LABELS } from "./common.js";

const params = new URLSearchParams(location.search);
const TYPE = params.get("type");
const KEY = params.get("key") || "";

const opt = (pairs) => pairs.map(([v, l]) => [v, l ?? v]);
const WATER = ["surface_water_section", "drinking_water_source"];
const SPECS = {
  region: {
    api: "regions", label: "行政区划",
    fields: [
      ["code", "区划代码", { ro: true }], ["name", "区划名称"],
      ["level", "级别", { options: opt([["", "（按代码判断）"], ["province", "省级"], ["city", "地级"], ["county", "县级"], ["township", "乡级"]]) }],
      ["parent_code", "上级区划代码"],
    ],
  },
  org_unit: {
    api: "units", label: "责任单位",
    fields: [
      ["code", "单位代码", { ro: true }], ["name", "单位名称"],
      ["kind", "单位类别", { options: opt([["department", "部门"], ["township", "乡镇（街道）"], ["park", "园区"], ["county", "县（区）"]]) }],
      ["region_code", "所属区划代码"], ["parent_code", "上级单位代码"], ["contact", "联系人"], ["phone", "联系电话"],
    ],
  },
  enterprise: {
    api: "enterprises", label: "企业（一企一档）",
    fields: [
      ["credit_code", "统一社会信用代码", { ro: true }], ["name", "企业名称"], ["region_code", "所在区划代码"],
      ["industry_code", "行业代码（GB/T 4754）"], ["industry", "行业类别"],
      ["control_level", "重点源级别", { options: opt([[""], ["国控"], ["省控"], ["市控"], ["区控"], ["县控"]]) }],
      ["permit_class", "排污许可管理类别", { options: opt([[""], ["重点管理"], ["简化管理"], ["登记管理"]]) }],
      ["key_discharger", "重点排污单位", { bool: true }],
      ["longitude", "经度（WGS-84）"], ["latitude", "纬度（WGS-84）"], ["address", "地址"],
      ["legal_representative", "法定代表人"], ["env_contact", "环保负责人"], ["contact_phone", "联系电话"],
    ],
  },
  site: {
    api: "sites", label: "点位",
    fields: [
      ["code", "点位编码", { ro: true }], ["name", "点位名称"],
      ["kind", "点位类型", { options: Object.entries(KIND_LABELS) }],
      ["region_code", "所在区划代码"], ["longitude", "经度（WGS-84）"], ["latitude", "纬度（WGS-84）"],
      ["control_level", "控制级别"],
      ["water_body", "水体类型", { kinds: WATER, options: opt([[""], ["river", "河流"], ["lake_reservoir", "湖库"]]) }],
      ["water_body_name", "所在水体", { kinds: WATER }],
      ["target_class", "水质目标", { kinds: [...WATER, "groundwater_point"], options: opt([[""], ["I", "Ⅰ类"], ["II", "Ⅱ类"], ["III", "Ⅲ类"], ["IV", "Ⅳ类"], ["V", "Ⅴ类"]]) }],
      ["source_level", "水源地级别", { kinds: ["drinking_water_source"] }],
      ["source_type", "水源类型", { kinds: ["drinking_water_source"], options: opt([[""], ["surface", "地表水"], ["groundwater", "地下水"]]) }],
      ["noise_zone", "声环境功能区", { kinds: ["noise_station"], options: opt([[""], ["0"], ["1"], ["2"], ["3"], ["4a"], ["4b"]]) }],
      ["enterprise", "所属企业统一社会信用代码", { kinds: ["enterprise_outlet"] }],
      ["outlet_medium", "排放口类别", { kinds: ["enterprise_outlet"], options: opt([[""], ["gas", "废气"], ["water", "废水"]]) }],
    ],
  },
  permit: {
    api: "permits", label: "排污许可证",
    fields: [
      ["number", "许可证编号", { ro: true }], ["enterprise", "持证企业统一社会信用代码", { ro: true }],
      ["management_class", "管理类别", { options: opt([["重点管理"], ["简化管理"], ["登记管理"]]) }],
      ["valid_from", "有效期起", { date: true }], ["valid_to", "有效期止（空为长期）", { date: true }], ["note", "备注"],
    ],
  },
  device: {
    api: "devices", label: "设备", readonly: true,
    fields: [
      ["mn", "设备编号（MN）", { ro: true }], ["st", "系统编码（ST）", { ro: true }], ["edition", "协议版本", { ro: true }],
      ["encoding", "字符编码", { ro: true }], ["site", "点位编码", { ro: true }], ["group", "设备组", { ro: true }],
      ["minute_interval", "分钟数据间隔", { ro: true }], ["report_interval", "数据上报间隔（分钟）", { ro: true }],
      ["active", "在用", { ro: true, bool: true }],
      ["sm4_key_set", "已设置 SM4 密钥", { ro: true, bool: true }],
    ],
  },
};
const LIMIT_COLS = [["outlet", "排放口编码"], ["pollutant", "污染物代码"], ["limit", "限值"], ["lower", "下限"], ["unit", "单位"],
  ["basis", "均值类型"], ["o2_ref", "基准含氧量（%）"], ["standard", "执行标准"], ["source_table", "标准条款"]];
const AMOUNT_COLS = [["pollutant", "污染物代码"], ["year", "年度"], ["amount", "许可排放量"], ["unit", "单位"]];
const TARGET_COLS = [["indicator", "指标代码"], ["year_from", "起始年度"], ["year_to", "截止年度"], ["value", "目标值"],
  ["unit", "单位"], ["comparison", "比较方式"], ["source", "依据"]];
const COMPARE = { at_least: "不低于", at_most: "不高于" };

const spec = SPECS[TYPE];
const m = await header("registry");
let current = null;

const link = (type, key, text) => `<a href="registry-item?type=${type}&key=${encodeURIComponent(key)}">${esc(text ?? key)}</a>`;

async function call(method, path, body, raw) {
  const me = await whoami();
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = me.csrf_token || "";
  let payload;
  if (raw) { headers["Content-Type"] = raw.type; payload = raw.data; }
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const r = await fetch("api/v1/" + path, { method, headers, credentials: "same-origin", body: payload });
  const data = r.status === 204 ? null : await r.json();
  return { ok: r.ok, status: r.status, data };
}

function detailMessage(data) {
  const d = data && data.detail;
  if (!d) return "请求失败";
  if (typeof d === "object" && typeof d.message === "string") return d.message;
  return errorText(422, d);
}

function input(name, label, o, value, editable) {
  const dis = o.ro || !editable ? "disabled" : "";
  let control;
  if (o.bool) control = `<input type="checkbox" id="f-${name}" ${value ? "checked" : ""} ${dis}>`;
  else if (o.options) {
    const opts = o.options.map(([v, l]) => `<option value="${esc(v)}" ${String(value ?? "") === v ? "selected" : ""}>${esc(l || "（空）")}</option>`).join("");
    control = `<select id="f-${name}" ${dis}>${opts}</select>`;
  } else control = `<input id="f-${name}" ${o.date ? 'type="date"' : ""} value="${esc(value ?? "")}" ${dis}>`;
  const kinds = o.kinds ? ` data-kinds="${o.kinds.join(" ")}"` : "";
  return `<label id="l-${name}"${kinds}>${esc(label)}${control}<span class="field-error" id="e-${name}"></span></label>`;
}

function showKinds() {
  const kind = document.getElementById("f-kind");
  if (!kind || TYPE !== "site") return;
  document.querySelectorAll("#fields label[data-kinds]").forEach((l) => {
    l.hidden = !l.dataset.kinds.split(" ").includes(kind.value);
  });
}

function formBody() {
  const out = {};
  for (const [name, , o = {}] of spec.fields) {
    if (o.ro) continue;
    const el = document.getElementById("f-" + name);
    if (o.kinds && document.getElementById("l-" + name).hidden) { out[name] = null; continue; }
    out[name] = o.bool ? el.checked : (el.value.trim() === "" ? null : el.value.trim());
  }
  return out;
}

function clearErrors() {
  for (const id of ["edit-error", "edit-done", "attach-error"]) document.getElementById(id).textContent = "";
  document.querySelectorAll(".field-error").forEach((e) => { e.textContent = ""; });
  document.querySelectorAll("label.bad-field").forEach((l) => l.classList.remove("bad-field"));
}

function showRefusal(data) {
  const msg = detailMessage(data);
  document.getElementById("edit-error").textContent = msg;
  const field = data && data.detail && data.detail.field;
  const slot = field && document.getElementById("e-" + field);
  if (slot) { slot.textContent = msg; document.getElementById("l-" + field).classList.add("bad-field"); }
}

// Field names in the change history, in Chinese: the page's own labels, then the parts and
// internal fields a record's events carry.
const LABELS = {
  ...Object.fromEntries(Object.values(SPECS).flatMap((x) => x.fields.map(([n, l]) => [n, l]))),
  ...Object.fromEntries([...LIMIT_COLS, ...TARGET_COLS]),
  enterprise_id: "所属企业", site_id: "点位", group_id: "设备组", pw: "访问密码", sm4_key: "SM4密钥",
  geometry_sha256: "边界摘要（SHA-256）", geometry_chars: "边界字符数", source: "来源",
  limits: "许可限值", amounts: "年许可排放量",
};

function change(before, after) {
  const keys = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])];
  const fmt = (v) => (v === null || v === undefined || v === "" ? "（空）" : typeof v === "object" ? JSON.stringify(v) : String(v));
  // a new record lists only the fields it was given; a change, every field that changed
  return keys.filter((k) => JSON.stringify((before || {})[k]) !== JSON.stringify((after || {})[k]))
    .filter((k) => before || !["", null, undefined].includes((after || {})[k]))
    .map((k) => [LABELS[k] || k, k])
    .map(([l, k]) => (before ? `${l}：${fmt(before[k])} → ${fmt((after || {})[k])}` : `${l}：${fmt((after || {})[k])}`)).join("；");
}

function table(id, title, cols, rows, extra = "") {
  const head = cols.map(([, l]) => `<th>${esc(l)}</th>`).join("");
  const body = rows.map((r) => `<tr>${cols.map(([k]) => `<td>${r[k] ?? "—"}</td>`).join("")}</tr>`).join("")
    || `<tr><td colspan="${cols.length}" class="muted">（无）</td></tr>`;
  return `<section class="panel mt"><h2>${esc(title)}</h2><div class="scroll"><table id="${id}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>${extra}</section>`;
}

// An editable table (a permit's limits and amounts): one row per record, add and remove rows.
function editTable(id, cols, rows, editable) {
  const cell = (k, v) => `<td><input data-col="${k}" value="${esc(v ?? "")}" ${editable ? "" : "disabled"}></td>`;
  const row = (r) => `<tr>${cols.map(([k]) => cell(k, r[k])).join("")}${editable ? '<td><button type="button" class="del-row">删除</button></td>' : ""}</tr>`;
  const head = cols.map(([, l]) => `<th>${esc(l)}</th>`).join("") + (editable ? "<th></th>" : "");
  return `<div class="scroll"><table class="edit" id="${id}" data-blank='${esc(JSON.stringify(Object.fromEntries(cols.map(([k]) => [k, ""]))))}'>
    <thead><tr>${head}</tr></thead><tbody>${rows.map(row).join("")}</tbody></table></div>
    ${editable ? `<button type="button" class="add-row" data-table="${id}">添加一行</button>` : ""}`;
}

function tableRows(id, numeric = []) {
  return [...document.querySelectorAll(`#${id} tbody tr`)].map((tr) => {
    const out = {};
    tr.querySelectorAll("input[data-col]").forEach((el) => {
      const v = el.value.trim();
      out[el.dataset.col] = numeric.includes(el.dataset.col) ? (v === "" ? null : Number(v)) : (v === "" ? null : v);
    });
    return out;
  });
}

function renderRelated(d) {
  const rel = d.related;
  const editable = d.editable;
  let html = "";
  if (TYPE === "region") {
    const r = d.record;
    html += `<section class="panel mt"><h2>区划边界</h2><p id="outline-state">${r.has_boundary
      ? `已登记（来源：${esc(r.boundary_source || "—")}，更新于 ${esc(fmtTime(r.boundary_updated_at + "Z"))}）· <a href="api/v1/registry/regions/${encodeURIComponent(KEY)}/boundary" download="${esc(KEY)}.geojson">下载 GeoJSON</a>`
      : "未登记边界"}${r.own ? " · 本级区划（驾驶舱、一张图显示此区划）" : ""}</p>
      ${editable ? `<form id="outline-form" class="form"><input type="file" id="outline-file" accept=".geojson,.json" required>
      <input id="outline-source" placeholder="来源、许可" maxlength="500"><button type="submit">上传并替换边界</button>
      <span class="muted">GeoJSON：Polygon 或 MultiPolygon，WGS-84 经纬度，须在中国境内。</span></form>` : ""}
      <div class="error" id="outline-error"></div><div class="done" id="outline-done"></div></section>`;
    html += table("children", "下级区划", [["code", "区划代码"], ["name", "名称"]],
      rel.children.map((c) => ({ code: link("region", c.code), name: esc(c.name) })));
    const targets = rel.targets.map((t) => ({ ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, esc(v ?? "—")])), comparison: COMPARE[t.comparison] || esc(t.comparison) }));
    const form = editable ? `<form id="target-form" class="form mt">
      <input id="t-indicator" placeholder="指标代码，如 good_day_ratio"><input id="t-year_from" type="number" placeholder="起始年度">
      <input id="t-year_to" type="number" placeholder="截止年度"><input id="t-value" placeholder="目标值"><input id="t-unit" placeholder="单位">
      <select id="t-comparison"><option value="at_least">不低于</option><option value="at_most">不高于</option></select>
      <input id="t-source" placeholder="依据（规划、考核文件）"><button type="submit">保存考核目标</button></form>
      <div class="error" id="target-error"></div>` : "";
    html += table("targets", "考核目标", TARGET_COLS, targets, form);
  } else if (TYPE === "org_unit") {
    html += table("children", "下级单位", [["code", "单位代码"], ["name", "名称"]],
      rel.children.map((c) => ({ code: link("org_unit", c.code), name: esc(c.name) })));
  } else if (TYPE === "enterprise") {
    html += table("outlets", "排放口", [["code", "点位编码"], ["name", "名称"], ["medium", "类别"], ["control_level", "控制级别"]],
      rel.outlets.map((o) => ({ code: link("site", o.code), name: esc(o.name), medium: { gas: "废气", water: "废水" }[o.outlet_medium] || "—", control_level: esc(o.control_level ?? "—") })));
    html += table("permits", "排污许可证", [["number", "许可证编号"], ["management_class", "管理类别"], ["valid_from", "有效期起"], ["valid_to", "有效期止"]],
      rel.permits.map((p) => ({ number: link("permit", p.number), management_class: esc(p.management_class), valid_from: esc(p.valid_from), valid_to: esc(p.valid_to ?? "长期") })));
  } else if (TYPE === "site") {
    if (d.record.enterprise) html += `<section class="panel mt"><h2>所属企业</h2>${link("enterprise", d.record.enterprise, `${d.record.enterprise_name}（${d.record.enterprise}）`)}</section>`;
    html += table("devices", "设备", [["mn", "设备编号（MN）"], ["st", "系统编码"], ["edition", "协议版本"], ["active", "状态"]],
      rel.devices.map((x) => ({ mn: link("device", x.mn), st: esc(x.st), edition: esc(x.edition), active: x.active ? "在用" : "停用" })));
  } else if (TYPE === "permit") {
    html += `<section class="panel mt"><h2>持证企业</h2>${link("enterprise", d.record.enterprise, `${d.record.enterprise_name}（${d.record.enterprise}）`)}</section>`;
    html += `<section class="panel mt"><h2>许可限值（按排放口和污染物）</h2>${editTable("limits", LIMIT_COLS, rel.limits, editable)}</section>`;
    html += `<section class="panel mt"><h2>年许可排放量</h2>${editTable("amounts", AMOUNT_COLS, rel.amounts, editable)}
      ${editable ? '<p class="muted">限值和排放量随“保存修改”一并保存（整表替换）。</p>' : ""}</section>`;
  } else if (TYPE === "device") {
    html += `<section class="panel mt"><h2>设备管理</h2>${d.editable ? '<a href="devices">在设备管理页修改访问密码、密钥、点位和状态</a>' : "设备由系统管理员在设备管理页维护。"}</section>`;
  }
  document.getElementById("related").innerHTML = html;
  wireRelated(d);
}

function wireRelated(d) {
  document.querySelectorAll(".add-row").forEach((b) => b.addEventListener("click", () => {
    const t = document.getElementById(b.dataset.table);
    const blank = JSON.parse(t.dataset.blank);
    const tr = document.createElement("tr");
    tr.innerHTML = Object.keys(blank).map((k) => `<td><input data-col="${k}" value=""></td>`).join("") + '<td><button type="button" class="del-row">删除</button></td>';
    t.querySelector("tbody").append(tr);
  }));
  const outline = document.getElementById("outline-form");
  if (outline) outline.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("outline-error");
    err.textContent = "";
    const file = document.getElementById("outline-file").files[0];
    if (!file) return;
    const q = new URLSearchParams({ file_name: file.name });
    const src = document.getElementById("outline-source").value.trim();
    if (src) q.set("source", src);
    const r = await call("PUT", `registry/regions/${encodeURIComponent(KEY)}/boundary?${q}`, undefined, { type: "application/geo+json", data: file });
    if (!r.ok) { err.textContent = detailMessage(r.data); return; }
    render(r.data.detail);
    document.getElementById("outline-done").textContent = r.data.outcome === "unchanged" ? "边界未变化。" : "边界已替换。";
  });
  const target = document.getElementById("target-form");
  if (target) target.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (k) => document.getElementById("t-" + k).value.trim();
    const body = { indicator: v("indicator"), year_from: Number(v("year_from")) || 0, year_to: v("year_to") ? Number(v("year_to")) : null,
      value: v("value"), unit: v("unit"), comparison: v("comparison"), source: v("source") };
    const r = await call("PUT", `registry/regions/${encodeURIComponent(KEY)}/targets`, body);
    if (!r.ok) { document.getElementById("target-error").textContent = detailMessage(r.data); return; }
    render(r.data.detail);
  });
}

function render(d) {
  current = d;
  document.getElementById("record-panel").hidden = false;
  const title = d.record.name ? `${d.record.name}（${d.key}）` : d.key;
  document.getElementById("title").textContent = `${spec.label}：${title}`;
  document.title = `${spec.label} ${title} - 青山生态环境监管平台`;
  const editable = d.editable && !spec.readonly;
  document.getElementById("fields").innerHTML = spec.fields.map(([n, l, o = {}]) => input(n, l, o, d.record[n], editable)).join("");
  document.getElementById("save").hidden = !editable;
  document.getElementById("readonly-note").hidden = editable || spec.readonly;
  const kind = document.getElementById("f-kind");
  if (kind) kind.addEventListener("change", showKinds);
  showKinds();
  renderRelated({ ...d, editable });
  const tl = document.getElementById("timeline-panel");
  tl.hidden = d.timeline === null;
  document.querySelector("#timeline tbody").innerHTML = (d.timeline || []).slice().reverse().map((e) =>
    `<tr><td>${esc(fmtTime(e.at + "Z"))}</td><td>${esc(e.actor ?? "—")}</td><td>${esc(e.summary ?? e.action)}</td><td class="wrap">${esc(change(e.before, e.after))}</td></tr>`).join("");
  document.querySelector("#files tbody").innerHTML = d.attachments.map((a) =>
    `<tr><td><a href="api/v1/attachments/${a.id}/content">${esc(a.file_name)}</a></td><td>${esc(a.kind)}${a.evidence ? `（${esc(a.evidence)}）` : ""}</td>
     <td>${(a.size / 1024).toFixed(1)} KB</td><td>${esc(a.linked_by ?? "—")}</td><td>${esc(fmtTime(a.linked_at + "Z"))}</td></tr>`).join("");
  document.getElementById("attach").hidden = !editable;
}

if (m) {
  document.getElementById("related").addEventListener("click", (ev) => {
    if (ev.target.classList && ev.target.classList.contains("del-row")) ev.target.closest("tr").remove();
  });
  if (!spec || !KEY) {
    document.getElementById("load-error").textContent = "地址缺少登记类型或编号";
  } else {
    const r = await call("GET", `registry/${spec.api}/${encodeURIComponent(KEY).replace(/%2F/g, "/")}`);
    if (!r.ok) document.getElementById("load-error").textContent = r.status === 404 ? `没有找到该${spec.label}，或无权查看` : detailMessage(r.data);
    else render(r.data);
  }
  document.getElementById("edit").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors();
    const body = formBody();
    if (TYPE === "permit") {
      body.limits = tableRows("limits");
      body.amounts = tableRows("amounts", ["year"]).map((a) => ({ ...a, unit: a.unit || "t/a" }));
    }
    const path = `registry/${spec.api}/${encodeURIComponent(KEY).replace(/%2F/g, "/")}`;
    const r = await call("PUT", path, body);
    if (!r.ok) { showRefusal(r.data); return; }
    render(r.data.detail);
    document.getElementById("edit-done").textContent = r.data.outcome === "unchanged" ? "没有变化，未记录。" : "已保存，并记入变更记录。";
  });
  document.getElementById("attach").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = document.getElementById("attach-file").files[0];
    if (!file || !current) return;
    const q = new URLSearchParams({ file_name: file.name, entity_type: TYPE, entity_id: current.key });
    const r = await call("POST", `attachments?${q}`, undefined, { type: "application/octet-stream", data: file });
    if (!r.ok) { document.getElementById("attach-error").textContent = detailMessage(r.data); return; }
    const again = await call("GET", `registry/${spec.api}/${encodeURIComponent(KEY).replace(/%2F/g, "/")}`);
    if (again.ok) render(again.data);
  });
}
