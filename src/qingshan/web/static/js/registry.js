// The registry: its lists, and the workbook import — upload, the validation report (nothing is
// written yet), then an administrator imports it (all or nothing) or it is rejected.
import { api, ApiError, errorMessage, esc, fmtTime, header, whoami } from "./common.js";

const m = await header("registry");
let current = null; // the import shown in the report panel

const cells = (row) => row.map((c) => (c && c.html ? `<td>${c.html}</td>` : `<td>${esc(c ?? "—")}</td>`)).join("");
function fill(id, rows) {
  document.querySelector(`#${id} tbody`).innerHTML = rows.map((r) => `<tr>${cells(r)}</tr>`).join("");
}
// The first cell of each list opens the record's detail page.
const item = (type, key) => (key ? { html: `<a href="registry-item?type=${type}&key=${encodeURIComponent(key)}">${esc(key)}</a>` } : null);
const EDITOR = ["admin", "staff"].includes(m && m.role);

async function loadLists() {
  const [regions, units, enterprises, sites] = await Promise.all(
    ["regions", "units", "enterprises", "sites"].map((w) => api("registry/" + w)));
  fill("regions", regions.map((r) => [item("region", r.code), r.name, r.level_label, r.parent_code, r.has_boundary ? "有" : "无"]));
  fill("units", units.map((u) => [item("org_unit", u.code), u.name, u.kind_label, u.region_code, u.contact]));
  fill("enterprises", enterprises.map((e) => [item("enterprise", e.credit_code), e.name, e.industry, e.control_level, e.permit_class]));
  fill("sites", sites.map((s) => [item("site", s.code), s.name, s.kind_label, s.region_code, s.control_level]));
}

async function loadImports() {
  const rows = await api("registry/imports");
  fill("imports", rows.map((i) => [i.id, i.file_name, i.state_label, i.rows_total, i.rows_written, fmtTime(i.updated_at + "Z")]));
}

function showReport(report, title) {
  document.getElementById("report").hidden = false;
  document.getElementById("report-title").textContent = title;
  fill("counts", Object.entries(report.counts).map(([sheet, c]) => [sheet, c.created, c.updated, c.unchanged]));
  const problems = document.getElementById("problems");
  problems.hidden = report.problems.length === 0;
  fill("problems", report.problems.map((p) => [p.sheet, p.row, p.column, p.message]));
}

function showImport(imp) {
  current = imp;
  const waiting = imp.state === "validated";
  document.getElementById("actions").hidden = !waiting;
  document.getElementById("do-import").hidden = !waiting || m.role !== "admin";
  const result = document.getElementById("import-result");
  if (imp.state === "imported") result.textContent = `已导入：写入 ${imp.rows_written} 行（共 ${imp.rows_total} 行）。`;
  else if (imp.state === "rejected") result.textContent = `已驳回：${imp.reason}`;
  else result.textContent = m.role === "admin" ? "" : "校验通过，等待管理员导入。";
}

async function upload(file) {
  const me = await whoami();
  const r = await fetch("api/v1/registry/imports?file_name=" + encodeURIComponent(file.name), {
    method: "POST", credentials: "same-origin", body: file,
    headers: { Accept: "application/json", "Content-Type": "application/octet-stream", "X-CSRF-Token": me.csrf_token || "" },
  });
  const data = await r.json();
  if (r.status === 201) return { imp: data };
  if (r.status === 422 && data.detail && data.detail.report) return { refused: data.detail };
  throw new ApiError(r.status, data.detail);
}

async function act(path, body) {
  const err = document.getElementById("upload-error");
  err.textContent = "";
  try {
    const imp = await api(`registry/imports/${current.id}/${path}`, { method: "POST", body });
    showImport(imp);
    if (imp.report) showReport(imp.report, imp.state === "imported" ? "导入结果" : "校验报告");
    await Promise.all([loadImports(), loadLists()]);
  } catch (e) {
    const d = e.detail;
    if (d && typeof d === "object" && d.report) showReport(d.report, d.message);
    err.textContent = errorMessage(e);
  }
}

if (m && !EDITOR) {
  // leaders read the registry; uploading and importing are the bureau's
  document.getElementById("upload-panel").hidden = true;
  document.getElementById("imports-panel").hidden = true;
  await loadLists();
} else if (m) {
  document.getElementById("upload-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("upload-error");
    err.textContent = "";
    document.getElementById("import-result").textContent = "";
    const file = document.getElementById("workbook").files[0];
    if (!file) return;
    try {
      const { imp, refused } = await upload(file);
      if (refused) {
        current = null;
        document.getElementById("actions").hidden = true;
        showReport(refused.report, "校验未通过");
        err.textContent = refused.message;
      } else {
        showReport(imp.report, `校验通过：共 ${imp.rows_total} 行，尚未写入`);
        showImport(imp);
      }
      await loadImports();
    } catch (e) { err.textContent = e.message; }
  });
  document.getElementById("do-import").addEventListener("click", () => act("import"));
  document.getElementById("do-reject").addEventListener("click", () => {
    const reason = document.getElementById("reason").value.trim();
    if (!reason) { document.getElementById("upload-error").textContent = "请填写驳回原因"; return; }
    act("reject", { reason });
  });
  await Promise.all([loadImports(), loadLists()]);
}
