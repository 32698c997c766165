import { api, esc, fmtTime, header, whoami } from "./common.js";

// 信息公开: what the national release pages show, for anyone. Anonymous visitors get a plain
// banner and no links into the platform; a signed-in user keeps the platform's navigation.
const POLLUTANT_LABELS = { PM2_5: "PM₂.₅", PM10: "PM₁₀", SO2: "SO₂", NO2: "NO₂", O3: "O₃", O3_1H: "O₃", CO: "CO", O3_8H: "O₃_8h" };
const SIX = ["PM2_5", "PM10", "SO2", "NO2", "O3", "CO"];

// Text on an AQI colour: dark on light colours (优 green, 良 yellow, 轻度 orange), white on dark.
function ink(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  if (!m) return "#111";
  const [r, g, b] = m.slice(1).map((x) => parseInt(x, 16) / 255);
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 0.45 ? "#111" : "#fff";
}

const m = await whoami();
if (m.authenticated) {
  await header("public", { requireLogin: false });
} else {
  const h = document.createElement("header");
  h.className = "pub";
  h.textContent = "生态环境质量信息公开";
  document.body.prepend(h);
}
const air = await api("public/air");
const times = air.stations.map((s) => s.time).filter(Boolean).sort();
document.getElementById("air-when").textContent = times.length
  ? `发布时间：${fmtTime(times[times.length - 1])}（北京时间，小时值）` : "暂无实时数据";
document.querySelector("#air tbody").innerHTML = air.stations.map((s) => {
  const c = s.concentrations || {};
  const prim = s.primary_pollutants.length ? s.primary_pollutants.map((p) => POLLUTANT_LABELS[p] || p).join("、") : "—";
  return `<tr data-site="${esc(s.site_code)}"><td>${esc(s.name)}</td>
    <td class="aqi" data-c="${esc(s.colour || "")}">${s.aqi ?? "—"}</td><td>${esc(s.level || "—")}</td><td>${esc(s.category || "无数据")}</td>
    <td class="prim">${esc(prim)}</td>${SIX.map((k) => `<td class="num" data-p="${k}">${c[k] ?? "—"}</td>`).join("")}</tr>`;
}).join("") || `<tr><td colspan="11" class="muted">暂无参加评价的监测点位数据</td></tr>`;
document.querySelectorAll("#air td.aqi[data-c]").forEach((el) => {
  if (!el.dataset.c) return;
  el.style.background = el.dataset.c;
  el.style.color = ink(el.dataset.c);
});
document.getElementById("air-notice").textContent = air.notice + " 仅发布参加环境空气质量评价的监测点位（不含微型监测站）。";
const w = await api("public/water");
document.querySelector("#water tbody").innerHTML = w.sections.map((s) => `<tr><td>${esc(s.name)}</td>
  <td>${esc(s.class ? s.class + "类" : "无数据")}</td><td>${esc(s.target_class ? s.target_class + "类" : "—")}</td>
  <td>${s.meets_target == null ? "—" : s.meets_target ? "达标" : "不达标"}</td>
  <td>${esc((s.main_pollutants || []).join("、") || "—")}</td></tr>`).join("")
  || `<tr><td colspan="5" class="muted">暂无断面评价结果</td></tr>`;
document.getElementById("water-notice").textContent = w.notice;
