// The warning board (应急减排): for the active warning (or a chosen past one), the enterprises
// that must act, their measure and expected reduction, and what their online data show.
// Enterprise users see their own row only (the API scopes it).
import { api, esc, header } from "./common.js";

const m = await header("warnings");
const t = (iso) => (iso ? esc(iso.slice(0, 16).replace("T", " ")) : "—");
const BASIS = { emission: "排放量", flow: "烟气流量", "": "—" };
const VERDICT_CLASS = { done: "ok", no_drop: "bad", no_data: "muted" };

async function show(id) {
  const b = await api(`sources/warnings/${id}`);
  const link = document.getElementById("export");
  link.href = `api/v1/sources/warnings/${encodeURIComponent(id)}/export`;
  link.hidden = false;
  const w = b.warning;
  const c = b.counts;
  document.getElementById("summary").innerHTML = `<strong>${esc(w.level_label)}预警</strong> ${esc(w.region_name ?? w.region)}，
    ${t(w.start)} 起${w.end ? `，${t(w.end)} 解除` : "，持续中"}（${esc(w.document)}）。
    应采取措施企业 ${b.enterprises.length} 家：已落实 ${c.done}，未见下降 ${c.no_drop}，无数据 ${c.no_data}。`;
  document.getElementById("baseline").textContent = `基准期：${b.baseline.from ? b.baseline.from.slice(0, 16).replace("T", " ") : "—"} 至 ${b.baseline.to.slice(0, 16).replace("T", " ")} 的同时段（${b.baseline.hours} 小时）；预警期已有 ${b.warning_hours} 个整点小时，数据截止 ${b.cutoff.slice(0, 16).replace("T", " ")}（北京时间）。`;
  const rows = b.enterprises.map((e) => `<tr data-code="${esc(e.credit_code ?? "")}">
    <td><a href="enterprise?code=${encodeURIComponent(e.credit_code ?? "")}">${esc(e.name)}</a></td>
    <td>${esc(e.grade_label ?? "—")}</td><td>${esc(e.measure)}</td><td>${esc(e.expected_pct)}%</td>
    <td>${e.reduction_pct === null ? "—" : esc(e.reduction_pct) + "%"}</td><td>${BASIS[e.basis] ?? esc(e.basis)}</td>
    <td>${e.indicators.map((i) => `${esc(i.code)}：${i.baseline_hours} / ${i.during_hours}`).join("<br>")}</td>
    <td class="verdict ${VERDICT_CLASS[e.verdict]}">${esc(e.verdict_label)}</td></tr>`);
  document.querySelector("#board tbody").innerHTML = rows.length ? rows.join("") : `<tr><td colspan="8" class="muted">无</td></tr>`;
}

if (m) {
  const list = await api("sources/warnings");
  const sel = document.getElementById("warning");
  if (!list.length) {
    document.getElementById("summary").textContent = "尚无预警记录。";
    sel.disabled = true;
  } else {
    sel.innerHTML = list.map((w) => `<option value="${w.id}">${esc(w.level_label)}预警 ${t(w.start)}${w.active ? "（生效中）" : ""} ${esc(w.document)}</option>`).join("");
    const params = new URLSearchParams(location.search);
    const chosen = params.get("id") ?? String((list.find((w) => w.active) ?? list[0]).id);
    sel.value = chosen;
    sel.addEventListener("change", () => show(sel.value));
    await show(sel.value);
  }
}
