// 规划指标: the plan board (status colours), a unit's reporting with evidence, the review queue.
import { api, ApiError, esc, header, newestOnly, todayCst, whoami } from "./common.js";

let status = null;
const boardTurn = newestOnly();
const tasksTurn = newestOnly();
const assessmentTurn = newestOnly();

function cell(text) { return `<td>${esc(text ?? "—")}</td>`; }

async function loadBoard() {
  const plan = document.getElementById("plan").value;
  const year = document.getElementById("year").value;
  const err = document.getElementById("board-error");
  err.textContent = "";
  document.getElementById("drill").hidden = true;
  if (!plan) { err.textContent = "尚未载入规划（qingshan plan load）。"; return; }
  const current = boardTurn();
  let answer;
  try {
    answer = await api(`plans/${encodeURIComponent(plan)}/status` + (year ? `?year=${year}` : ""));
  } catch (e) { if (current()) err.textContent = e.message; return; }
  if (!current()) return;
  status = answer;
  document.getElementById("through").textContent = status.through ? `统计至 ${status.through}` : "本年尚未开始";
  document.querySelector("#board tbody").innerHTML = status.indicators.map((i) => `<tr data-no="${esc(i.no)}">
    ${cell(i.no)}${cell(i.category)}<td>${i.actual || i.projection
      ? `<a href="#" class="drill" data-no="${esc(i.no)}">${esc(i.name)}</a>` : esc(i.name)}</td>${cell(i.unit)}${cell(i.attribute)}
    ${cell(i.baseline ? i.baseline.text : null)}${cell(i.target ? i.target.text : null)}
    ${cell(i.actual ? i.actual.value : null)}
    <td><span class="tag st-${esc(i.status)}">${esc(i.status_label)}</span></td>${cell(i.reason)}</tr>`).join("");
  document.getElementById("assigned-indicator").innerHTML = status.indicators
    .filter((i) => i.target && i.target.comparator === "assigned")
    .map((i) => `<option value="${esc(i.no)}" data-year="${esc(i.target.year)}">${esc(i.no)} ${esc(i.name)}（${esc(i.target.year)}年目标）</option>`).join("");
  const reportable = status.indicators.filter((i) => !i.binding || (i.actual === null && i.reason.includes("填报")));
  document.getElementById("indicator").innerHTML = reportable
    .map((i) => `<option value="${esc(i.no)}">${esc(i.no)} ${esc(i.name)}${i.unit ? `（${esc(i.unit)}）` : ""}</option>`).join("");
}

// Drill-down: the data behind an indicator's value and its year-end projection.
const PROJECTION_LABELS = {
  basis: "推算依据", good_days: "优良天数", valid_days: "有效天数", remaining_days: "本年余下天数",
  ratio_so_far: "目前比率（%）", year_days: "全年天数", good_days_needed: "全年需优良天数",
  non_good_days_affordable: "还可容许的非优良天数", mean_so_far: "目前均值",
  remaining_mean_allowed: "余下日均上限", sections: "断面数", counted: "计入断面数",
  share_so_far: "目前比例（%）", share_year_end: "推算全年比例（%）", sections_needed: "需达标断面数",
  sections_allowed: "最多允许断面数", sections_affordable: "还可容许（负数为尚缺）断面数",
  sources: "水源地数", sources_needed: "需达标水源地数", sources_affordable: "还可容许（负数为尚缺）不达标水源地数",
};

function drill(no) {
  const i = status.indicators.find((x) => x.no === no);
  const box = document.getElementById("drill");
  if (!i) { box.hidden = true; return; }
  const a = i.actual || {};
  let data = "";
  if (Array.isArray(a.data) && a.data.length && "class" in a.data[0]) {
    data = `<table id="drill-data"><thead><tr><th>断面</th><th>年内均值类别</th><th>计入本指标</th><th>超Ⅲ类项目（倍数）</th></tr></thead><tbody>${
      a.data.map((d) => `<tr data-code="${esc(d.code)}"><td><a href="site?id=${esc(d.site_id)}">${esc(d.name)}（${esc(d.code)}）</a></td>
        ${cell(d.class)}${cell(d.counted ? "是" : "否")}${cell(Object.entries(d.over_iii).map(([k, v]) => `${k} ${v}`).join("、") || "—")}</tr>`).join("")}</tbody></table>`;
  } else if (Array.isArray(a.data) && a.data.length && "failing_items" in a.data[0]) {
    data = `<table id="drill-data"><thead><tr><th>饮用水水源地</th><th>达标</th><th>超标项目</th></tr></thead><tbody>${
      a.data.map((d) => `<tr data-code="${esc(d.code)}"><td><a href="site?id=${esc(d.site_id)}">${esc(d.name)}（${esc(d.code)}）</a></td>
        ${cell(d.counted ? "达标" : "不达标")}${cell(d.failing_items.join("、") || "—")}</tr>`).join("")}</tbody></table>`;
  } else if (Array.isArray(a.data) && a.data.length) {
    data = `<table id="drill-data"><thead><tr><th>参加评价的站点</th><th>有效天数</th><th>优良天数</th></tr></thead><tbody>${
      a.data.map((d) => `<tr data-code="${esc(d.code)}"><td>${d.site_id ? `<a href="site?id=${esc(d.site_id)}">${esc(d.name)}</a>` : esc(d.name)}</td>
        ${cell(d.valid_days)}${cell(d.good_days)}</tr>`).join("")}</tbody></table>`;
  } else if (a.source === "reported") {
    data = `<p>责任单位填报并经审核采纳：${esc(a.unit_code)}（填报编号 ${esc(a.report_id)}）</p>`;
  }
  const p = i.projection || {};
  const proj = Object.entries(p).filter(([k]) => k in PROJECTION_LABELS)
    .map(([k, v]) => `<tr><th>${esc(PROJECTION_LABELS[k])}</th>${cell(v)}</tr>`).join("");
  box.innerHTML = `<h3>${esc(i.no)} ${esc(i.name)}：${esc(a.value ?? "—")}${esc(i.unit || "")}</h3>
    <p class="muted">${esc(a.standard ? `依据 ${a.standard}` : "")}${a.start ? `，${esc(a.start)} 至 ${esc(a.end)}` : ""}</p>
    <p>${esc(i.status_label)}：${esc(i.reason)}</p>
    ${proj ? `<table id="drill-projection"><tbody>${proj}</tbody></table>` : ""}${data}`;
  box.hidden = false;
}

async function loadAssessment() {
  const plan = document.getElementById("plan").value;
  const year = document.getElementById("year").value;
  const err = document.getElementById("assessment-error");
  const body = document.querySelector("#assessment tbody");
  err.textContent = ""; body.innerHTML = "";
  document.getElementById("scheme-text").textContent = "";
  document.getElementById("assessment-info").textContent = "";
  document.getElementById("assessment-xlsx").hidden = true;
  if (!plan || !year) return;
  const current = assessmentTurn();
  let a;
  try {
    a = await api(`plans/${encodeURIComponent(plan)}/assessment?year=${year}`);
  } catch (e) { if (current()) err.textContent = e.message; return; }
  if (!current()) return;
  document.getElementById("scheme-text").textContent = a.scheme.text;
  document.getElementById("assessment-info").textContent =
    `${a.scheme.year}年度考核方案（${a.scheme.entered_by}于${a.scheme.entered_at}录入）`;
  const x = document.getElementById("assessment-xlsx");
  x.href = `api/v1/plans/${encodeURIComponent(plan)}/assessment.xlsx?year=${year}`;
  x.hidden = false;
  body.innerHTML = a.result.units.map((u) => `<tr data-code="${esc(u.code)}">${cell(u.name)}
    ${cell(u.score)}${cell(u.bonus)}${cell(u.total)}
    <td class="grade">${esc(u.grade)}</td>${cell(u.vetoed_by.join("、") || "无")}
    ${cell(u.lines.map((l) => `${l.item}：${l.score}/${l.points}（${l.reason}）`).join("；"))}</tr>`).join("");
}

let canComplete = false;

async function loadTasks() {
  const plan = document.getElementById("plan").value;
  if (!plan) return;
  const current = tasksTurn();
  const rows = await api(`plans/${encodeURIComponent(plan)}/tasks`);
  if (!current()) return;
  document.getElementById("ics").href = `api/v1/plans/${encodeURIComponent(plan)}/tasks.ics`;
  const year = document.getElementById("year").value;
  document.getElementById("xlsx").href = `api/v1/plans/${encodeURIComponent(plan)}/export.xlsx` + (year ? `?year=${year}` : "");
  document.querySelector("#tasks tbody").innerHTML = rows.map((t) => `<tr data-no="${esc(t.no)}">
    ${cell(t.no)}${cell(t.text)}${cell(t.deadline_text || t.deadline)}
    <td>${t.completed_on ? `已完成（${esc(t.completed_on)}）` : t.overdue
      ? `<span class="tag st-off_track">逾期${esc(t.days_overdue)}天</span>` : (t.deadline ? "未到期" : "—")}</td>
    ${cell(t.units.map((u) => `${u.name}（${u.role_label}）`).join("、"))}
    ${cell(t.progress.map((p) => `${p.unit_code} ${p.percent}%：${p.text}（${p.reported_at}）`).join("；") || "—")}
    <td>${canComplete && !t.completed_on ? `<button class="done" data-no="${esc(t.no)}">记录完成</button>` : ""}</td></tr>`).join("");
}

async function loadProgress(m) {
  if (!["unit", "staff", "admin"].includes(m.role)) return;
  const plan = document.getElementById("plan").value;
  if (plan) {
    const rows = await api(`plans/${encodeURIComponent(plan)}/tasks` + (m.role === "unit" && m.unit ? `?unit=${encodeURIComponent(m.unit)}` : ""));
    document.getElementById("progress-task").innerHTML = rows
      .map((t) => `<option value="${esc(t.no)}">${esc(t.no)} ${esc(t.text.slice(0, 40))}</option>`).join("");
  }
  const review = ["staff", "admin"].includes(m.role);
  const list = await api("plans/progress");
  document.querySelector("#progress-reports tbody").innerHTML = list.map((r) => `<tr data-id="${r.id}">${cell(r.id)}
    ${cell(r.task_no + " " + r.task.slice(0, 30))}${cell(r.percent + "%")}${cell(r.text)}${cell(r.unit_code)}${cell(r.evidence + " 份")}
    <td class="state">${esc(r.state_label)}</td>${cell(r.reason)}
    <td>${review && r.state === "submitted" ? `<button class="p-accept" data-id="${r.id}">采纳</button>
      <input class="p-reason" data-id="${r.id}" placeholder="退回原因" maxlength="500">
      <button class="p-return" data-id="${r.id}">退回</button>` : ""}</td></tr>`).join("");
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

async function uploadEvidence(reportId, file, entity = "plan_report") {
  const m = await whoami();
  const q = `entity_type=${entity}&entity_id=${reportId}&evidence=evidence&file_name=${encodeURIComponent(file.name)}`;
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
  document.getElementById("year").value = todayCst().slice(0, 4);
  document.getElementById("plan").addEventListener("change", () => { loadBoard(); loadTasks(); });
  document.getElementById("year").addEventListener("change", () => { loadBoard(); loadTasks(); });
  document.getElementById("report-panel").hidden = !["unit", "staff", "admin"].includes(m.role);
  canComplete = ["staff", "admin"].includes(m.role);
  document.getElementById("tasks").addEventListener("click", async (ev) => {
    const no = ev.target.dataset ? ev.target.dataset.no : null;
    if (!no || !ev.target.classList.contains("done")) return;
    const err = document.getElementById("task-error");
    err.textContent = "";
    const on = todayCst();
    const plan = document.getElementById("plan").value;
    try {
      await api(`plans/${encodeURIComponent(plan)}/tasks/${encodeURIComponent(no)}/complete`, { method: "POST", body: { on } });
    } catch (e) { err.textContent = e.message; }
    await loadTasks();
  });
  document.getElementById("board").addEventListener("click", (ev) => {
    if (!ev.target.classList || !ev.target.classList.contains("drill")) return;
    ev.preventDefault();
    drill(ev.target.dataset.no);
  });
  document.getElementById("review-panel").hidden = !["staff", "admin"].includes(m.role);
  const editor = ["staff", "admin"].includes(m.role);
  document.getElementById("assessment-panel").hidden = !editor;
  if (editor) {
    document.getElementById("plan").addEventListener("change", loadAssessment);
    document.getElementById("year").addEventListener("change", loadAssessment);
    document.getElementById("scheme-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = document.getElementById("assessment-error");
      err.textContent = "";
      const plan = document.getElementById("plan").value;
      try {
        await api(`plans/${encodeURIComponent(plan)}/assessment/scheme`, { method: "POST",
          body: { text: document.getElementById("scheme-input").value } });
      } catch (e) { err.textContent = e.message; return; }
      await loadAssessment();
    });
    await loadAssessment();
  }
  document.getElementById("progress-panel").hidden = !["unit", "staff", "admin"].includes(m.role);
  document.getElementById("plan").addEventListener("change", () => loadProgress(m));
  document.getElementById("progress-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("progress-error");
    const out = document.getElementById("progress-result");
    err.textContent = ""; out.textContent = "";
    const plan = document.getElementById("plan").value;
    const no = document.getElementById("progress-task").value;
    try {
      const rep = await api(`plans/${encodeURIComponent(plan)}/tasks/${encodeURIComponent(no)}/progress`, { method: "POST", body: {
        percent: Number(document.getElementById("progress-percent").value),
        text: document.getElementById("progress-text").value.trim(),
      } });
      await uploadEvidence(rep.id, document.getElementById("progress-evidence").files[0], "plan_task_progress");
      const done = await api(`plans/progress/${rep.id}/submit`, { method: "POST", body: {} });
      out.textContent = `已报送：任务 ${done.task_no} 进度 ${done.percent}%（编号 ${done.id}），等待审核。`;
    } catch (e) { err.textContent = e.message; }
    await loadProgress(m);
  });
  document.getElementById("progress-reports").addEventListener("click", async (ev) => {
    const t = ev.target;
    const id = t.dataset ? t.dataset.id : null;
    if (!id || !(t.classList.contains("p-accept") || t.classList.contains("p-return"))) return;
    const err = document.getElementById("progress-error");
    err.textContent = "";
    const reason = document.querySelector(`input.p-reason[data-id="${id}"]`).value.trim();
    try {
      await api(`plans/progress/${id}/review`, { method: "POST", body: { accept: t.classList.contains("p-accept"), reason: reason || null } });
    } catch (e) { err.textContent = e.message; }
    await Promise.all([loadProgress(m), loadTasks()]);
  });
  await loadProgress(m);
  document.getElementById("assigned-panel").hidden = !["staff", "admin"].includes(m.role);
  document.getElementById("assigned-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("assigned-error");
    const out = document.getElementById("assigned-result");
    err.textContent = ""; out.textContent = "";
    const sel = document.getElementById("assigned-indicator");
    const opt = sel.options[sel.selectedIndex];
    const plan = document.getElementById("plan").value;
    try {
      if (!opt) throw new Error("本规划没有“完成上级下达目标”的指标");
      const a = await api(`plans/${encodeURIComponent(plan)}/assigned`, { method: "POST", body: {
        indicator_no: opt.value, year: Number(opt.dataset.year),
        text: document.getElementById("assigned-text").value.trim(),
        note: document.getElementById("assigned-note").value.trim() || null,
      } });
      await uploadEvidence(a.id, document.getElementById("assigned-evidence").files[0], "plan_assigned_target");
      out.textContent = `已录入：${a.text}（${a.entered_by}，${a.entered_at}）`;
    } catch (e) { err.textContent = e.message; }
    await loadBoard();
  });
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
