// The case desk: the cases the user may see (a unit user's list is the unit's inbox of cases),
// overdue first, with filters; and the statistics per origin, round and kind.
import { api, esc, header } from "./common.js";

const ORIGINS = {
  central_inspection: "中央生态环境保护督察", provincial_inspection: "省级生态环境保护督察",
  warning_film: "警示片披露问题", hotline: "12369 / 信访举报", grid_patrol: "网格巡查",
  river_patrol: "河湖长巡河", enforcement: "执法检查", automatic_alarm: "自动监控报警",
};
const WARN = { blue: "蓝单", yellow: "黄单", red: "红单" };

const m = await header("cases");
const sel = document.getElementById("f-origin");
sel.innerHTML += Object.entries(ORIGINS).map(([k, v]) => `<option value="${k}">${esc(v)}</option>`).join("");
if (m && m.role === "unit") document.getElementById("desk-title").textContent = "本单位案件";

async function load() {
  const params = new URLSearchParams();
  for (const [id, key] of [["f-origin", "origin"], ["f-kind", "kind"], ["f-q", "q"]]) {
    const v = document.getElementById(id).value.trim();
    if (v) params.set(key, v);
  }
  if (document.getElementById("f-open").checked) params.set("open", "true");
  if (document.getElementById("f-overdue").checked) params.set("overdue", "true");
  const err = document.getElementById("desk-error");
  err.textContent = "";
  try {
    const rows = await api("cases?" + params.toString());
    document.querySelector("#cases tbody").innerHTML = rows.map((c) => `<tr class="${c.overdue ? "overdue" : ""}">
      <td><a href="case?code=${encodeURIComponent(c.code)}">${esc(c.code)}</a></td><td>${esc(c.origin_label)}</td>
      <td>${esc(c.round ?? "—")}</td><td>${esc(c.kind_label)}</td><td>${esc(c.title)}</td><td>${esc(c.lead_unit ?? "—")}</td>
      <td>${esc(c.state_label)}</td><td>${esc(c.due_on ?? "—")}</td>
      <td>${c.days_left === null ? "—" : c.overdue ? `逾期 ${-c.days_left} 天` : esc(c.days_left)}</td>
      <td>${esc(WARN[c.warning] ?? "")}${c.supervised_on ? " 挂牌督办" : ""}</td></tr>`).join("");
    document.getElementById("count").textContent = `共 ${rows.length} 件`;
  } catch (e) { err.textContent = e.message; }
  const stats = await api("cases/stats");
  const pct = (v) => (v === null ? "—" : v.toFixed(1));
  document.querySelector("#stats tbody").innerHTML = stats.map((r) => `<tr><td>${esc(r.origin_label)}</td>
    <td>${esc(r.round ?? "—")}</td><td>${esc(r.kind_label)}</td><td>${r.total}</td><td>${r.rectified}</td>
    <td>${r.signed_off}</td><td>${r.closed}</td><td>${r.in_progress}</td><td>${r.overdue}</td>
    <td>${pct(r.closure_rate)}</td><td>${pct(r.on_time_rate)}</td><td>${pct(r.average_handling_days)}</td></tr>`).join("");
}

if (m) {
  document.getElementById("filters").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  await load();
}
