// 规划指标: the plan board (status colours), a unit's reporting with evidence, the review queue.
import { api, ApiError, esc, header, whoami } from "./common.js";

let status = null;

function cell(text) { return `<td>${esc(text ?? "—")}</td>`; }

async function loadBoard() {
  const plan = document.getElementById("plan").value;
  const year = document.getElementById("year").value;
  const err = document.getElementById("board-error");
  err.textContent = "";
  if (!plan) { err.textContent = "尚未载入规划（qingshan plan load）。"; return; }
  try {
    status = await api(`plans/${encodeURIComponent(plan)}/status` + (year ? `?year=${year}` : ""));
  } catch (e) { err.textContent = e.message; return; }
  document.getElementById("through").textContent = status.through ? `统计至 ${status.through}` : "本年尚未开始";
  document.querySelector("#board tbody").innerHTML = status.indicators.map((i) => `<tr data-no="${esc(i.no)}">
    ${cell(i.no)}${cell(i.category)}${cell(i.name)}${cell(i.unit)}${cell(i.attribute)}
    ${cell(i.baseline ? i.baseline.text : null)}${cell(i.target ? i.target.text : null)}
    ${cell(i.actual ? i.actual.value : null)}
    <td><span class="tag st-${esc(i.status)}">${esc(i.status_label)}</span></td>${cell(i.reason)}</tr>`).join("");
  const reportable = status.indicators.filter((i) => !i.binding || (i.actual === null && i.reason.includes("填报")));
  document.getElementById("indicator").innerHTML = reportable
    .map((i) => `<option value="${esc(i.no)}">${esc(i.no)} ${esc(i.name)}${i.unit ? `（${esc(i.unit)}）` : ""}</option>`).join("");
}

let canComplete = false;

async function loadTasks() {
  const plan = document.getElementById("plan").value;
  if (!plan) return;
  const rows = await api(`plans/${encodeURIComponent(plan)}/tasks`);
  document.getElementById("ics").href = `api/v1/plans/${encodeURIComponent(plan)}/tasks.ics`;
  const year = document.getElementById("year").value;
  document.getElementById("xlsx").href = `api/v1/plans/${encodeURIComponent(plan)}/export.xlsx` + (year ? `?year=${year}` : "");
  document.querySelector("#tasks tbody").innerHTML = rows.map((t) => `<tr data-no="${esc(t.no)}">
    ${cell(t.no)}${cell(t.text)}${cell(t.deadline_text || t.deadline)}
    <td>${t.completed_on ? `已完成（${esc(t.completed_on)}）` : t.overdue
      ? `<span class="tag st-off_track">逾期${esc(t.days_overdue)}天</span>` : (t.deadline ? "未到期" : "—")}</td>
    ${cell(t.units.map((u) => `${u.name}（${u.role_label}）`).join("、"))}
    <td>${canComplete && !t.completed_on ? `<button class="done" data-no="${esc(t.no)}">记录完成</button>` : ""}</td></tr>`).join("");
}

async function loadReports(m) {
  if (["unit", "staff", "admin"].includes(m.role)) {
    const mine = await api("plans/reports");
    document.querySelector("#my-reports tbody").innerHTML = mine.map((r) => `<tr>${cell(r.id)}${cell(r.indicator)}
      ${cell(r.year)}${cell(r.value)}${cell(r.evidence)}<td class="state">${esc(r.state_label)}</td>${cell(r.reason)}</tr>`).join("");
  }
  if (["staff", "admin"].includes(m.role)) {
    const queue = await api("plans/reports?state=submitted");
    document.querySelector("#queue tbody").innerHTML = queue.map((r) => `<tr data-id="${r.id}">${cell(r.id)}
      ${cell(r.plan_title)}${cell(r.indicator_no + " " + r.indicator)}${cell(r.year)}${cell(r.value + (r.unit ? " " + r.unit : ""))}
      ${cell(r.unit_code)}<td><a href="#" class="files" data-id="${r.id}">${esc(r.evidence)} 份</a></td>
      <td><button class="accept" data-id="${r.id}">采纳</button>
      <input class="reason" data-id="${r.id}" placeholder="退回原因" maxlength="500">
      <button class="return" data-id="${r.id}">退回</button></td></tr>`).join("");
  }
}

async function uploadEvidence(reportId, file) {
  const m = await whoami();
  const q = `entity_type=plan_report&entity_id=${reportId}&evidence=evidence&file_name=${encodeURIComponent(file.name)}`;
  const r = await fetch("api/v1/attachments?" + q, {
    method: "POST", credentials: "same-origin", body: file,
    headers: { Accept: "application/json", "Content-Type": "application/octet-stream", "X-CSRF-Token": m.csrf_token || "" },
  });
  if (r.status !== 201) {
    const d = await r.json().catch(() => ({}));
    throw new ApiError(r.status, d.detail);
  }
}

async function main() {
  const m = await header("plans");
  if (!m) return;
  const plans = await api("plans");
  document.getElementById("plan").innerHTML = plans
    .map((p) => `<option value="${p.id}">${esc(p.title)}（${esc(p.period)}）</option>`).join("");
  document.getElementById("year").value = new Date().getFullYear();
  document.getElementById("plan").addEventListener("change", () => { loadBoard(); loadTasks(); });
  document.getElementById("year").addEventListener("change", () => { loadBoard(); loadTasks(); });
  document.getElementById("report-panel").hidden = !["unit", "staff", "admin"].includes(m.role);
  canComplete = ["staff", "admin"].includes(m.role);
  document.getElementById("tasks").addEventListener("click", async (ev) => {
    const no = ev.target.dataset ? ev.target.dataset.no : null;
    if (!no || !ev.target.classList.contains("done")) return;
    const err = document.getElementById("task-error");
    err.textContent = "";
    const d = new Date();
    const on = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    const plan = document.getElementById("plan").value;
    try {
      await api(`plans/${encodeURIComponent(plan)}/tasks/${encodeURIComponent(no)}/complete`, { method: "POST", body: { on } });
    } catch (e) { err.textContent = e.message; }
    await loadTasks();
  });
  document.getElementById("review-panel").hidden = !["staff", "admin"].includes(m.role);
  await loadBoard();
  await loadTasks();
  await loadReports(m);

  document.getElementById("report-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("report-error");
    const out = document.getElementById("report-result");
    err.textContent = ""; out.textContent = "";
    const file = document.getElementById("evidence").files[0];
    const plan = document.getElementById("plan").value;
    try {
      const rep = await api(`plans/${encodeURIComponent(plan)}/reports`, { method: "POST", body: {
        indicator_no: document.getElementById("indicator").value,
        year: Number(document.getElementById("year").value),
        value: document.getElementById("value").value.trim(),
        note: document.getElementById("note").value.trim() || null,
      } });
      await uploadEvidence(rep.id, file);
      const done = await api(`plans/reports/${rep.id}/submit`, { method: "POST", body: {} });
      out.textContent = `已报送：${done.indicator} ${done.value}（编号 ${done.id}），等待审核。`;
    } catch (e) { err.textContent = e.message; }
    await loadReports(m);
  });

  document.getElementById("queue").addEventListener("click", async (ev) => {
    const t = ev.target;
    const id = t.dataset ? t.dataset.id : null;
    if (!id || !(t.classList.contains("accept") || t.classList.contains("return"))) return;
    const err = document.getElementById("review-error");
    err.textContent = "";
    const accept = t.classList.contains("accept");
    const reason = document.querySelector(`input.reason[data-id="${id}"]`).value.trim();
    try {
      await api(`plans/reports/${id}/review`, { method: "POST", body: { accept, reason: reason || null } });
    } catch (e) { err.textContent = e.message; }
    await Promise.all([loadReports(m), loadBoard()]);
  });
}

main();
