// 数据查询: one site's data as a time × factor table (factors picked by name, header
// "名称 (单位)"), values at their display precision with the stored value one click away,
// flags marked in the cell, paging by time; CSV/Excel export of the same selection.
import { api, ApiError, errorMessage, esc, fmtTime, header, isoLocal, newestOnly, valueHtml, withOffset } from "./common.js";

const FIELD_NAMES = {
  site_id: "点位", start: "开始时间", end: "结束时间", resolution: "数据类型", codes: "监测因子",
  limit: "每页行数", cursor: "分页标记", format: "导出格式",
};
const m = await header("query");
let cursors = [null]; // cursors[i]: the cursor that opens page i
let pageNo = 0;

// A refused request as a specific Chinese sentence: the services' own messages are Chinese;
// FastAPI's validation list (English) is read field by field.
function queryError(e) {
  if (e instanceof ApiError && e.status === 422 && Array.isArray(e.detail)) {
    return e.detail.map((d) => {
      const field = FIELD_NAMES[Array.isArray(d.loc) ? d.loc[d.loc.length - 1] : ""] || "输入";
      const t = String(d.type || "");
      if (t === "missing") return `请填写${field}`;
      if (t.startsWith("datetime") || t.startsWith("date")) return `${field}格式不正确，应为年-月-日 时:分`;
      if (t.startsWith("int") || t.startsWith("greater") || t.startsWith("less")) return `${field}超出允许范围`;
      if (t === "literal_error") return `${field}不在可选范围内`;
      if (t.startsWith("string_too_long")) return `${field}过长`;
      return `${field}有误，请检查`;
    }).join("；");
  }
  return errorMessage(e);
}

function chosenCodes() {
  return [...document.querySelectorAll("#factor-list input:checked")].map((i) => i.value);
}

// The form as query parameters, or a Chinese message when it cannot be sent.
function params() {
  const start = document.getElementById("start").value;
  const end = document.getElementById("end").value;
  if (!document.getElementById("site").value) return [null, "请选择点位"];
  if (!start || !end) return [null, "请填写开始时间和结束时间（北京时间）"];
  if (end < start) return [null, "结束时间不能早于开始时间"];
  const codes = chosenCodes();
  if (!codes.length) return [null, "请至少选择一个监测因子"];
  const p = new URLSearchParams({
    site_id: document.getElementById("site").value,
    resolution: document.getElementById("resolution").value,
    start: withOffset(start),
    end: withOffset(end),
    codes: codes.join(","),
  });
  return [p, null];
}

function cellHtml(c, flags) {
  if (!c) return '<td class="num empty">—</td>';
  const flagged = c.flag && c.flag !== "N";
  const meaning = flagged ? (flags[c.flag] || c.flag) : "";
  const mark = flagged ? `<abbr class="flag-mark" title="${esc(meaning)}">${esc(c.flag)}</abbr>` : "";
  const zs = c.zs !== null && c.zs !== undefined ? `<span class="zs">${valueHtml(c.zs_display, c.zs, "折算 ")}</span>` : "";
  return `<td class="num${flagged ? " flagged" : ""}">${valueHtml(c.display, c.value)}${mark}${zs}</td>`;
}

function render(t) {
  const table = document.getElementById("results");
  table.querySelector("thead").innerHTML = `<tr><th>时间（北京时间）</th>${t.columns.map((c) => `<th title="${esc(c.code)}${c.mn ? " · " + esc(c.mn) : ""}">${esc(c.header)}</th>`).join("")}</tr>`;
  table.querySelector("tbody").innerHTML = t.rows.length
    ? t.rows.map((r) => `<tr><td class="time">${fmtTime(r.time)}</td>${r.cells.map((c) => cellHtml(c, t.flag_labels)).join("")}</tr>`).join("")
    : `<tr><td colspan="${t.columns.length + 1}" class="muted">该时段没有数据</td></tr>`;
  const seen = new Set(t.rows.flatMap((r) => r.cells.filter((c) => c && c.flag && c.flag !== "N").map((c) => c.flag)));
  document.getElementById("flags-legend").textContent = seen.size
    ? "数据标记：" + [...seen].sort().map((f) => `${f} ${t.flag_labels[f] || ""}`).join("，") : "";
}

async function load(page) {
  const err = document.getElementById("error");
  err.textContent = "";
  const [p, problem] = params();
  if (!p) { err.textContent = problem; return; }
  p.set("limit", document.getElementById("rows").value);
  if (cursors[page]) p.set("cursor", cursors[page]);
  try {
    const t = await api("observations/table?" + p);
    render(t);
    pageNo = page;
    cursors = cursors.slice(0, page + 1);
    if (t.next_cursor) cursors.push(t.next_cursor);
    document.getElementById("prev").hidden = page === 0;
    document.getElementById("more").hidden = !t.next_cursor;
    document.getElementById("count").textContent = `第 ${page + 1} 页，本页 ${t.rows.length} 个时间${t.next_cursor ? "，还有更多" : ""}`;
  } catch (e) { err.textContent = queryError(e); }
}

const factorsTurn = newestOnly();

async function loadFactors() {
  const list = document.getElementById("factor-list");
  list.innerHTML = '<span class="muted">正在读取因子…</span>';
  const current = factorsTurn();
  try {
    const f = await api(`sites/${document.getElementById("site").value}/factors`);
    if (!current()) return;
    const seen = new Set();
    const items = f.factors.filter((x) => !seen.has(x.code) && seen.add(x.code));
    list.innerHTML = items.length
      ? items.map((x) => `<label class="factor" title="${esc(x.code)}"><input type="checkbox" value="${esc(x.code)}" checked> ${esc(x.header)}</label>`).join("")
      : '<span class="muted">该点位暂无监测因子</span>';
  } catch (e) { if (current()) list.innerHTML = `<span class="error">${esc(queryError(e))}</span>`; }
}

if (m) {
  const sites = await api("sites?limit=1000");
  document.getElementById("site").innerHTML = sites.items.map((s) => `<option value="${s.id}">${esc(s.name)}（${esc(s.kind_label)}）</option>`).join("");
  const end = new Date();
  document.getElementById("end").value = isoLocal(end);
  document.getElementById("start").value = isoLocal(new Date(end.getTime() - 86400000));
  document.getElementById("site").addEventListener("change", loadFactors);
  await loadFactors();
  document.getElementById("query-form").addEventListener("submit", (ev) => { ev.preventDefault(); cursors = [null]; load(0); });
  document.getElementById("more").addEventListener("click", () => load(pageNo + 1));
  document.getElementById("prev").addEventListener("click", () => load(pageNo - 1));
  for (const [id, on] of [["all", true], ["none", false]]) {
    document.getElementById(id).addEventListener("click", () => {
      document.querySelectorAll("#factor-list input").forEach((i) => { i.checked = on; });
    });
  }
  for (const fmt of ["csv", "xlsx"]) {
    document.getElementById(fmt).addEventListener("click", async () => {
      const err = document.getElementById("error");
      err.textContent = "";
      const [p, problem] = params();
      if (!p) { err.textContent = problem; return; }
      // The same checks as the export, answered in Chinese on the page before the download.
      try { await api("observations/table?" + p + "&limit=1"); } catch (e) { err.textContent = queryError(e); return; }
      p.set("format", fmt);
      location.href = "api/v1/export?" + p;
    });
  }
}
