import { api, esc, fmtTime, header } from "./common.js";

// Poll interval: 15 s (?poll=N seconds, at least 2, for wall screens and tests).
const POLL_MS = Math.max(2, +(new URLSearchParams(location.search).get("poll") || 15)) * 1000;
const charts = {};
function chart(id) { return (charts[id] ||= echarts.init(document.getElementById(id), "dark")); }
const BASE = { backgroundColor: "transparent", animation: false };  // live data: no re-animation
window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));
const LABELS = { PM2_5: "PM₂.₅", PM10: "PM₁₀", SO2: "SO₂", NO2: "NO₂", O3: "O₃", O3_1H: "O₃", O3_8H: "O₃_8h", CO: "CO" };
const prim = (ps) => (ps || []).map((p) => LABELS[p] || p).join("、");
const short = (name) => name.replace("（示意名称）", "").replace("（模拟）", "");
// Dark text on light AQI colours (优 green, 良 yellow), white on dark ones.
function ink(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  if (!m) return "#111";
  const [r, g, b] = m.slice(1).map((x) => parseInt(x, 16) / 255);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 ? "#111" : "#fff";
}
function paint(root) {
  root.querySelectorAll("[data-colour]").forEach((el) => {
    if (!el.dataset.colour) return;
    el.style.background = el.dataset.colour;
    el.style.color = ink(el.dataset.colour);
  });
}

function renderNow(d) {
  const el = document.getElementById("now");
  el.innerHTML = d.district_now.length ? d.district_now.map((r) => `
    <div class="region-now" data-region="${esc(r.region_code)}">
      <div class="sub">${esc(r.region_name)}</div>
      <div class="num">${r.aqi ?? "—"}</div>
      <div class="sub"><span class="lvl" data-colour="${esc(r.colour || "")}">${esc(r.category || "无数据")}</span>
      ${r.primary_pollutants.length ? "首要污染物 " + esc(prim(r.primary_pollutants)) : ""}</div>
      <div class="muted">${r.time ? esc(r.time.replace("T", " ").slice(0, 16)) + "（北京时间）" : ""}</div></div>`).join("")
    : '<div class="muted">未设置本区域，无区域结果</div>';
  paint(el);
  const y = d.yesterday;
  const ye = document.getElementById("yesterday");
  ye.innerHTML = !y ? '<div class="muted">未设置本区域</div>' : `
    <div class="sub">${esc(y.day)}</div>
    <div class="num">${y.valid ? y.aqi : "—"}</div>
    <div class="sub">${y.valid ? `<span class="lvl" data-colour="${esc(y.colour || "")}">${esc(y.level || "")} ${esc(y.category || "")}</span>
      ${y.primary_pollutants.length ? "首要污染物 " + esc(prim(y.primary_pollutants)) : ""}` : `无效天：${esc(y.reason || "数据不足")}`}</div>`;
  paint(ye);
}

function status(ind) {
  return `<span class="st st-${esc(ind.status)}">${esc(ind.status_label)}</span>`;
}

function renderYear(d) {
  const y = d.year;
  const g = document.getElementById("good");
  const p = document.getElementById("pm25");
  if (!y) { g.innerHTML = p.innerHTML = '<div class="muted">未设置本区域</div>'; return; }
  const r = y.good_day_ratio;
  const span = y.through ? `${y.first.slice(5)} 至 ${y.through.slice(5)}` : "本年尚未开始";
  let gap = "";
  if (r.target != null && y.non_good_days_allowed != null) {
    gap = y.non_good_days_allowed >= 0
      ? `全年目标 ${esc(r.target)}%：余下 ${y.remaining_days} 天中最多还可有 <b id="allowed">${y.non_good_days_allowed}</b> 个非优良天`
      : `全年目标 ${esc(r.target)}%：即使余下 ${y.remaining_days} 天全部优良也无法达到`;
  } else if (r.target == null) {
    gap = "本年没有优良天数比率目标";
  }
  g.innerHTML = `<div class="num" id="ratio">${r.value == null ? "—" : esc(r.value) + "%"}</div>
    <div class="sub">优良 ${y.good_days} 天 / 有效 ${y.valid_days} 天（非优良 ${y.non_good_days} 天，${esc(span)}）</div>
    <div class="gap">${gap}</div><div class="gap">${status(r)} <span class="muted">${esc(r.reason)}</span></div>`;
  const q = y.pm2_5;
  p.innerHTML = `<div class="num" id="pm25-value">${q.value == null ? "—" : esc(q.value)}<span class="sub"> μg/m³</span></div>
    <div class="sub">${y.pm2_5_days} 个有效日均值（${esc(span)}）</div>
    <div class="gap">${q.target == null ? "本年没有PM₂.₅浓度目标" : `全年目标 ≤ ${esc(q.target)} μg/m³`}</div>
    <div class="gap">${status(q)} <span class="muted">${esc(q.reason)}</span></div>`;
}

function renderLists(d) {
  document.getElementById("exceeding").innerHTML = d.exceeding.length ? d.exceeding.map((x) => `
    <li data-episode="${x.episode_id}"><a href="sources">${esc(x.enterprise)} · ${esc(x.outlet_name)}</a>
    <span class="muted">${esc(x.pollutant_name || x.pollutant || "")} 峰值 ${esc(x.peak ?? "—")}${esc(x.unit || "")}（限值 ${esc(x.limit ?? "—")}）· 自 ${esc((x.since || "").replace("T", " ").slice(0, 16))}</span></li>`).join("")
    : '<li class="empty">目前没有持续中的超标报警</li>';
  document.getElementById("offline").innerHTML = d.offline.length ? d.offline.map((x) => `
    <li data-site="${x.site_id ?? ""}">${x.site_id ? `<a href="site?id=${x.site_id}">${esc(x.enterprise ? x.enterprise + " · " : "")}${esc(x.name)}</a>` : esc(x.name)}
    <span class="muted">${esc(x.kind_label || "未关联点位的设备")}${x.episode_id ? " · 离线报警持续中" : ""} · 最后数据 ${x.last_report ? esc(x.last_report.replace("T", " ").slice(0, 16)) : "从未上报"}</span></li>`).join("")
    : '<li class="empty">目前没有离线的点位或设备</li>';
}

function renderStations(d) {
  const st = [...d.air.stations].sort((a, b) => (b.aqi ?? -1) - (a.aqi ?? -1));
  const official = st.filter((s) => s.official);
  const micro = st.filter((s) => !s.official);
  document.getElementById("aqi-cards").innerHTML = official.map((s) => `
    <div class="card aqi-card" data-site="${s.site_id}" data-colour="${esc(s.colour || "#bbb")}">
      <div>${esc(short(s.name))}</div>
      <div class="v">${s.aqi ?? "—"}</div>
      <div>${esc(s.category || "无数据")}${s.primary_pollutants.length ? " · " + esc(prim(s.primary_pollutants)) : ""}</div>
    </div>`).join("") || '<div class="muted">没有参加评价的站点</div>';
  paint(document.getElementById("aqi-cards"));
  document.querySelectorAll(".aqi-card").forEach((el) => {
    el.addEventListener("click", () => { location.href = "site?id=" + el.dataset.site; });
  });
  const bars = (list) => ({
    ...BASE, grid: { left: 40, right: 10, top: 20, bottom: 60 }, tooltip: {},
    xAxis: { type: "category", data: list.map((s) => short(s.name)), axisLabel: { rotate: 40, fontSize: 10 } },
    dataZoom: list.length > 20 ? [{ type: "inside" }] : [],
    yAxis: { type: "value", name: "AQI" },
    series: [{ type: "bar", name: "AQI", data: list.map((s) => ({ value: s.aqi, itemStyle: { color: s.colour || "#bbb" } })) }],
  });
  chart("aqi-chart").setOption(bars(official), true);
  chart("micro-chart").setOption(bars(micro), true);
  document.getElementById("micro-note").textContent = micro.length
    ? `${micro.length} 个微站，仅供网格化管理参考，不参加区域空气质量评价` : "没有微站";
}

function render(d) {
  document.getElementById("updated").textContent = `${d.region_name ? d.region_name + " · " : ""}数据更新于 ${fmtTime(d.generated_at)}（每${POLL_MS / 1000}秒自动刷新）`;
  renderNow(d);
  renderYear(d);
  renderLists(d);
  renderStations(d);
  document.querySelector("#water tbody").innerHTML = d.water.sections.map((s) => `<tr>
    <td>${esc(s.name)}</td><td><span class="tag" data-c="${esc(s.colour || "")}">${esc(s.class ? s.class + "类" : "无数据")}</span></td>
    <td>${esc(s.target_class ? s.target_class + "类" : "—")}</td>
    <td>${s.meets_target == null ? "—" : s.meets_target ? '<span class="tag ok">达标</span>' : '<span class="tag bad">不达标</span>'}</td></tr>`).join("");
  document.querySelectorAll("#water .tag[data-c]").forEach((el) => { if (el.dataset.c) { el.style.background = el.dataset.c; el.style.color = ink(el.dataset.c); } else el.classList.add("off"); });
  document.getElementById("water-note").textContent = `达标断面 ${d.water.meeting_target} / 已评价 ${d.water.assessed}`;
  const o = d.outlets;
  chart("outlet-chart").setOption({
    ...BASE, tooltip: {}, legend: { bottom: 0, textStyle: { color: "#ccc" } },
    series: [{ type: "pie", radius: ["40%", "68%"], label: { formatter: "{b}\n{c}" }, data: [
      { name: "在线", value: o.online - o.exceeding, itemStyle: { color: "#1E88E5" } },
      { name: "超标", value: o.exceeding, itemStyle: { color: "#E60012" } },
      { name: "离线", value: o.offline, itemStyle: { color: "#999" } }] }],
  });
  const kinds = Object.entries(d.sites_by_kind).map(([k, n]) => `<div><div class="big">${n}</div><div class="muted">${esc(k)}</div></div>`).join("");
  document.getElementById("counts").innerHTML = `
    <div><div class="big" id="dev-online">${d.devices_online}/${d.devices_total}</div><div class="muted">设备在线</div></div>
    <div><div class="big">${d.rejects_24h}</div><div class="muted">24小时拒收报文</div></div>${kinds}`;
  document.getElementById("notes").innerHTML = (d.notes.length ? d.notes : ["各项数据来自统计模块"]).map((n) => `<li>${esc(n)}</li>`).join("");
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
