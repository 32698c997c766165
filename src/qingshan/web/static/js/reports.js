// 报告: pick a report kind and period, edit 问题与建议 (the bureau's staff), record 审核 and
// 签发 (leaders), download Word or Excel built from the stored figures.
import { api, ApiError, errorMessage, esc, header } from "./common.js";

const $ = (id) => document.getElementById(id);
let kinds = [];
let issue = null;

// The default period: the last month (or year, day …) that is over, in 北京时间.
function defaultPeriod(hint) {
  const now = new Date(Date.now() + 8 * 3600 * 1000); // 北京时间 read through the UTC fields
  const y = now.getUTCFullYear(), m = now.getUTCMonth() + 1;
  const pad = (n) => String(n).padStart(2, "0");
  if (hint === "YYYY") return String(y - 1);
  if (hint === "YYYY-MM") return m === 1 ? `${y - 1}-12` : `${y}-${pad(m - 1)}`;
  // a week is named by its Monday: last week's; a day: yesterday
  const back = hint.includes("周一") ? ((now.getUTCDay() + 6) % 7) + 7 : 1;
  const d = new Date(now.getTime() - back * 86400 * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function query() {
  return `kind=${encodeURIComponent($("kind").value)}&period=${encodeURIComponent($("period").value.trim())}`;
}

function showKind() {
  const k = kinds.find((x) => x.code === $("kind").value);
  if (!k) return;
  $("period-name").textContent = k.period_name;
  $("period").placeholder = k.period_hint;
  $("period-hint").textContent = `${k.period_name}按 ${k.period_hint} 填写`;
}

function render() {
  const i = issue;
  $("issue").hidden = false;
  $("issue-title").textContent = `${i.period_label}${i.kind_name}`;
  const st = $("status");
  st.textContent = i.status_label;
  st.className = "tag " + (i.status === "issued" ? "ok" : i.status === "reviewed" ? "st-on_track" : "off");
  st.dataset.status = i.status;
  $("updated").textContent = i.updated_at ? `最后修改 ${i.updated_at.slice(0, 16).replace("T", " ")}（北京时间）` : "尚无编辑记录";
  $("advice").value = i.advice;
  const editable = i.may_edit && i.status !== "issued";
  $("advice").readOnly = !editable;
  $("save").hidden = !editable;
  $("signoff").innerHTML = i.signoff.map((line) => `<p>${esc(line)}</p>`).join("");
  $("approve").hidden = !i.may_approve || i.status === "issued";
  $("review").hidden = i.status !== "draft";
  $("sign").hidden = i.status !== "reviewed";
}

async function load() {
  for (const id of ["pick-error", "advice-error", "approve-error", "download-error", "saved", "download-status"]) $(id).textContent = "";
  try {
    issue = await api("reports/issue?" + query());
  } catch (e) {
    $("issue").hidden = true;
    $("pick-error").textContent = errorMessage(e);
    return;
  }
  history.replaceState(null, "", `reports?${query()}`);
  render();
}

async function step(path, body, errorId) {
  $(errorId).textContent = "";
  $("saved").textContent = "";
  try {
    issue = await api(`reports/issue${path}?${query()}`, { method: path ? "POST" : "PUT", body });
    render();
    return true;
  } catch (e) {
    $(errorId).textContent = errorMessage(e);
    return false;
  }
}

// The file is fetched (not navigated to), so a refusal shows as a message on this page.
async function download(format) {
  $("download-error").textContent = "";
  $("download-status").textContent = "正在生成报告，请稍候……";
  for (const b of ["docx", "xlsx"]) $(b).disabled = true;
  try {
    const r = await fetch(`api/v1/reports/download?${query()}&format=${format}`, { credentials: "same-origin" });
    if (!r.ok) {
      let detail = null;
      try { detail = (await r.json()).detail; } catch { /* not JSON */ }
      throw new ApiError(r.status, detail);
    }
    const cd = r.headers.get("Content-Disposition") || "";
    const m = /filename\*=UTF-8''([^;]+)/i.exec(cd);
    const name = m ? decodeURIComponent(m[1]) : `report.${format}`;
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    $("download-status").textContent = `已生成：${name}`;
  } catch (e) {
    $("download-status").textContent = "";
    $("download-error").textContent = errorMessage(e);
  } finally {
    for (const b of ["docx", "xlsx"]) $(b).disabled = false;
  }
}

const m = await header("reports");
if (m) {
  try {
    kinds = await api("reports/kinds");
  } catch (e) {
    $("pick-error").textContent = errorMessage(e);
  }
  $("kind").innerHTML = kinds.map((k) => `<option value="${esc(k.code)}">${esc(k.short)}（${esc(k.name)}）</option>`).join("");
  const params = new URLSearchParams(location.search);
  if (params.get("kind") && kinds.some((k) => k.code === params.get("kind"))) $("kind").value = params.get("kind");
  showKind();
  const k = kinds.find((x) => x.code === $("kind").value);
  $("period").value = params.get("period") || (k ? defaultPeriod(k.period_hint) : "");
  $("kind").addEventListener("change", () => {
    showKind();
    const kk = kinds.find((x) => x.code === $("kind").value);
    $("period").value = defaultPeriod(kk.period_hint);
    $("issue").hidden = true;
  });
  $("pick").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  $("advice-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (await step("", { advice: $("advice").value, version: issue.version }, "advice-error")) $("saved").textContent = "已保存";
  });
  const approve = (path) => step(path, { name: $("approver").value.trim() || null, version: issue.version }, "approve-error");
  $("approve").addEventListener("submit", (ev) => ev.preventDefault()); // Enter in the name field
  $("review").addEventListener("click", () => approve("/review"));
  $("sign").addEventListener("click", () => approve("/sign"));
  $("docx").addEventListener("click", () => download("docx"));
  $("xlsx").addEventListener("click", () => download("xlsx"));
  if (kinds.length) load();
}
