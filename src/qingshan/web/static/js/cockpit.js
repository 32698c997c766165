import { api, esc, fmtTime, header } from "./common.js";

// Poll interval: 15 s (?poll=N seconds, at least 2, for wall screens and tests).
const POLL_MS = Math.max(2, +(new URLSearchParams(location.search).get("poll") || 15)) * 1000;
const charts = {};
function chart(id) { return (charts[id] ||= echarts.init(document.getElementById(id), "dark")); }
const BASE = { backgroundColor: "transparent", animation: false };  // live data: no re-animation
window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));

function render(d) {
  document.getElementById("updated").textContent = `数据更新于 ${fmtTime(d.generated_at)}（每${POLL_MS / 1000}秒自动刷新）`;
  // Cards for the stations that count (国控/省控…); micro-stations only in the chart.
  const st = [...d.air.stations].sort((a, b) => (b.aqi ?? -1) - (a.aqi ?? -1));
  const main = st.filter((s) => s.kind !== "micro");
  document.getElementById("aqi-cards").innerHTML = (main.length ? main : st.slice(0, 8)).map((s) => `
    <div class="card aqi-card" data-site="${s.site_id}" data-colour="${esc(s.colour || "#bbb")}">
      <div>${esc(s.name)}</div>
      <div class="v">${s.aqi ?? "—"}</div>
      <div>${esc(s.category || "无数据")}${s.primary_pollutants.length ? " · 首要污染物 " + esc(s.primary_pollutants.join("、")) : ""}</div>
    </div>`).join("");
  document.querySelectorAll(".aqi-card").forEach((el) => {
    el.style.background = el.dataset.colour;
    el.addEventListener("click", () => { location.href = "site?id=" + el.dataset.site; });
  });
  chart("aqi-chart").setOption({
    ...BASE, grid: { left: 40, right: 10, top: 20, bottom: 60 }, tooltip: {},
    xAxis: { type: "category", data: st.map((s) => s.name.replace("（示意名称）", "").replace("（模拟）", "")), axisLabel: { rotate: 40, fontSize: 10 } },
    dataZoom: st.length > 20 ? [{ type: "inside" }] : [],
    yAxis: { type: "value", name: "AQI" },
    series: [{ type: "bar", data: st.map((s) => ({ value: s.aqi, itemStyle: { color: s.colour || "#bbb" } })) }],
  });
  const ratio = d.air.good_day_ratio;
  const target = d.air.target_ratio;
  chart("good-chart").setOption({
    ...BASE,
    series: [{ type: "gauge", min: 0, max: 100, progress: { show: true },
      detail: { formatter: ratio == null ? "暂无" : "{value}%", fontSize: 22, offsetCenter: [0, "35%"] },
      title: { offsetCenter: [0, "75%"], color: "#bfe3ff" },
      data: [{ value: ratio == null ? 0 : ratio, name: target ? `目标 ${target}%` : "" }] }],
  });
  document.getElementById("good-note").textContent = ratio == null
    ? "本年度暂无有效日数据"
    : `优良天数 ${d.air.good_days} 天 / 有效天数 ${d.air.valid_days} 天；${d.air.meets_target == null ? "无目标，不作判断" : d.air.meets_target ? "达到目标" : "未达到目标"}`;
  document.querySelector("#water tbody").innerHTML = d.water.sections.map((s) => `<tr>
    <td>${esc(s.name)}</td><td><span class="tag" data-c="${esc(s.colour || "")}">${esc(s.class ? s.class + "类" : "无数据")}</span></td>
    <td>${esc(s.target_class ? s.target_class + "类" : "—")}</td>
    <td>${s.meets_target == null ? "—" : s.meets_target ? '<span class="tag ok">达标</span>' : '<span class="tag bad">不达标</span>'}</td></tr>`).join("");
  document.querySelectorAll("#water .tag[data-c]").forEach((el) => { if (el.dataset.c) el.style.background = el.dataset.c; else el.classList.add("off"); });
  document.getElementById("water-note").textContent = `达标断面 ${d.water.meeting_target} / 已评价 ${d.water.assessed}`;
  const o = d.outlets;
  chart("outlet-chart").setOption({
    ...BASE, tooltip: {}, legend: { bottom: 0, textStyle: { color: "#ccc" } },
    series: [{ type: "pie", radius: ["40%", "68%"], label: { formatter: "{b}\n{c}" }, data: [
      { name: "在线", value: o.online - o.exceeding, itemStyle: { color: "#00A651" } },
      { name: "超标", value: o.exceeding, itemStyle: { color: "#E60012" } },
      { name: "离线", value: o.offline, itemStyle: { color: "#999" } }] }],
  });
  const kinds = Object.entries(d.sites_by_kind).map(([k, n]) => `<div><div class="big">${n}</div><div class="muted">${esc(k)}</div></div>`).join("");
  document.getElementById("counts").innerHTML = `
    <div><div class="big" id="dev-online">${d.devices_online}/${d.devices_total}</div><div class="muted">设备在线</div></div>
    <div><div class="big">${d.rejects_24h}</div><div class="muted">24小时拒收报文</div></div>${kinds}`;
  document.getElementById("notes").innerHTML = (d.notes.length ? d.notes : ["各项数据来自统计模块"]).map((n) => `<li>${esc(n)}</li>`).join("")
    + "<li>开放告警与案件办理情况待相关模块上线后显示</li>";
}

async function refresh() {
  try { render(await api("cockpit")); } catch (e) {
    document.getElementById("updated").textContent = "加载失败：" + e.message;
  }
}

const m = await header("cockpit");
if (m) {
  if (m.role === "enterprise") location.href = "map";
  await refresh();
  setInterval(refresh, POLL_MS);
}
