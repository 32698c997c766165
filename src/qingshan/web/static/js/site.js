// Site detail: latest values, a time-series chart per resolution with flags, completeness.
import { api, esc, fmtAgo, fmtInterval, fmtTime, header, newestOnly, valueHtml } from "./common.js";

const id = new URLSearchParams(location.search).get("id");
const m = await header("map");
let chart = null;
window.addEventListener("resize", () => chart && chart.resize());

function range() {
  const days = +document.getElementById("days").value;
  const end = new Date();
  const start = new Date(end.getTime() - days * 86400000);
  return { start: start.toISOString(), end: end.toISOString() };
}

// One y-axis per unit (mg/m³, μg/m³, flow … never share a scale); each factor's normal
// values (flag N or none) are its line, named "名称（单位）"; values with another flag (C 校准,
// M 维护, D 故障, F 停运 …) are never on the line: on ranges up to 7 days a separate scatter
// series per factor on the same axis, on longer ranges one bar series per flag counting the
// flagged values of each day (Beijing time) on an axis of their own — no pin per value. Both
// are hidden unless 显示标记数据 is ticked.
const LONG_RANGE_MS = 7 * 86400000;
let showFlags = false;
let flagSeries = [];
const normal = (f) => !f || f === "N";

function flagCountsByDay(series) {
  const counts = {};  // flag → day → n
  for (const s of series) {
    s.times.forEach((t, i) => {
      const f = s.flags[i];
      if (normal(f)) return;
      const day = String(t).slice(0, 10);  // times carry +08:00: the Beijing day
      (counts[f] ||= {})[day] = (counts[f][day] || 0) + 1;
    });
  }
  return counts;
}

function seriesOption(d) {
  const long = new Date(d.end) - new Date(d.start) > LONG_RANGE_MS;
  const units = [...new Set(d.series.map((s) => s.unit || ""))];
  const yAxis = units.map((u, i) => ({
    type: "value", scale: true, name: u || "（无单位）", position: i % 2 ? "right" : "left",
    offset: Math.floor(i / 2) * 56, alignTicks: false, splitLine: { show: i === 0 },
  }));
  const series = [];
  const selected = {};
  flagSeries = [];
  for (const s of d.series) {
    const name = `${s.name || s.code}${s.unit ? "（" + s.unit + "）" : ""}`;
    const axis = units.indexOf(s.unit || "");
    series.push({
      name, type: "line", showSymbol: false, yAxisIndex: axis, connectNulls: false,
      data: s.times.map((t, i) => [t, normal(s.flags[i]) ? s.values[i] : null, s.flags[i]]),
    });
    if (long) continue;
    const flagged = s.times.map((t, i) => [t, s.values[i], s.flags[i]]).filter((p) => !normal(p[2]) && p[1] != null);
    if (flagged.length) {
      const fname = `${name} 标记数据`;
      series.push({ name: fname, type: "scatter", yAxisIndex: axis, symbol: "diamond", symbolSize: 6,
        itemStyle: { color: "#ff9800" }, data: flagged });
      flagSeries.push(fname);
    }
  }
  if (long) {
    const counts = flagCountsByDay(d.series);
    const flags = Object.keys(counts).sort();
    if (flags.length) {
      yAxis.push({ type: "value", name: "标记数（个/日）", position: units.length % 2 ? "right" : "left",
        offset: Math.floor(units.length / 2) * 56, minInterval: 1, splitLine: { show: false } });
      for (const f of flags) {
        const fname = `标记 ${f} ${d.flag_labels[f] || ""}（个/日）`;
        series.push({ name: fname, type: "bar", stack: "flags", yAxisIndex: yAxis.length - 1, barMaxWidth: 8,
          data: Object.entries(counts[f]).sort().map(([day, n]) => [`${day}T12:00:00+08:00`, n, f]) });
        flagSeries.push(fname);
      }
    }
  }
  for (const n of flagSeries) selected[n] = showFlags;
  const nAxes = yAxis.length;
  const left = Math.ceil(nAxes / 2), right = Math.floor(nAxes / 2);
  return {
    backgroundColor: "transparent", animation: false, legend: { type: "scroll", top: 0, selected },
    grid: { left: 50 + (left - 1) * 56, right: right ? 50 + (right - 1) * 56 + 10 : 20, top: 50, bottom: 60 },
    tooltip: { trigger: "axis",
      formatter: (ps) => `${fmtTime(ps[0].value[0])}<br>` + ps.map((p) => `${p.marker}${esc(p.seriesName)}：${p.value[1] ?? "—"}${p.seriesType !== "bar" && p.value[2] && p.value[2] !== "N" ? "（" + esc(d.flag_labels[p.value[2]] || p.value[2]) + "）" : ""}`).join("<br>") },
    xAxis: { type: "time" }, yAxis,
    dataZoom: [{ type: "inside" }, { type: "slider", bottom: 10 }], series,
  };
}

const seriesTurn = newestOnly();

async function drawSeries() {
  const res = document.getElementById("resolution");
  const daysSel = document.getElementById("days");
  if (res.value === "minute" && +daysSel.value > 7) daysSel.value = "7";  // API bound: 7 days of minutes
  const { start, end } = range();
  const q = new URLSearchParams({ resolution: res.value, start, end });
  const note = document.getElementById("series-note");
  const exportLinks = (resolution) => {
    for (const [fmt, el] of [["csv", "export-csv"], ["xlsx", "export-xlsx"]]) {
      document.getElementById(el).href = `api/v1/export?${new URLSearchParams({ site_id: id, resolution, start, end, format: fmt })}`;
    }
  };
  exportLinks(res.value === "auto" ? "hour" : res.value);
  const current = seriesTurn();
  try {
    const d = await api(`sites/${id}/series?${q}`);
    if (!current()) return;
    exportLinks(d.resolution);  // auto: export what the chart shows
    chart ||= echarts.init(document.getElementById("series-chart"), "dark");
    chart.setOption(seriesOption(d), true);
    // Flag markers summarised (no pin per value): counts by flag, with the flag's meaning.
    const counts = {};
    for (const s of d.series) for (const f of s.flags) if (f && f !== "N") counts[f] = (counts[f] || 0) + 1;
    const summary = Object.entries(counts).map(([k, n]) => `${esc(d.flag_labels[k] || k)}（${k}）${n} 个`).join("，");
    const long = new Date(d.end) - new Date(d.start) > LONG_RANGE_MS;
    note.textContent = `${d.resolution_label}${d.resolution_rule ? "（自动：" + d.resolution_rule + "）" : ""}，${d.series.length} 个因子，每个单位一个纵轴；`
      + (summary ? `非正常标记数据：${summary}，不画在数据线上（勾选“显示标记数据”${long ? "按日汇总各标记的个数" : "单独显示"}）` : "没有非正常标记数据");
  } catch (e) { if (current()) note.textContent = "无法加载：" + e.message; }
  if (res.value === "hour" || res.value === "day") {
    const c = await api(`sites/${id}/completeness?${q}`);
    document.querySelector("#completeness tbody").innerHTML = c.factors.map((f) => `<tr><td>${esc(f.name || f.code)}</td>
      <td>${res.value === "day" ? "每日" : "每" + fmtInterval(f.interval_minutes)}</td>
      <td>${f.expected}</td><td>${f.received}</td><td>${f.valid}</td><td>${(f.ratio * 100).toFixed(1)}%</td></tr>`).join("");
  } else {
    document.querySelector("#completeness tbody").innerHTML = `<tr><td colspan="6" class="muted">完整率按小时数据或日数据统计</td></tr>`;
  }
}

// A section's 水质类别 (GB 3838-2002, single-factor method on the exact means): the latest day
// and its month, each factor with its class; 达标 against the target class.
const WQ = { "Ⅰ": "wq1", "Ⅱ": "wq2", "Ⅲ": "wq3", "Ⅳ": "wq4", "Ⅴ": "wq5", "劣Ⅴ": "wq6" };
const classTag = (c) => c ? `<span class="tag ${WQ[c] || "off"}">${esc(c)}类</span>` : `<span class="tag off">无类别</span>`;
function periodHtml(title, p) {
  if (!p) return `<div><h3>${title}</h3><p class="muted">暂无有效样品</p></div>`;
  const verdict = p.meets_target === null ? "" : p.meets_target ? `<span class="tag ok">达标</span>` : `<span class="tag bad">超标</span>`;
  const span = p.period === "month" ? `${esc(p.first)} 至 ${esc(p.last)}` : esc(p.label);
  return `<div><h3>${title}：${span}（${p.samples} 个样品）</h3>
    <p class="wq-line" data-period="${p.period}">水质类别 ${classTag(p.water_class)} ${esc(p.status || "")}
    ${p.target_class ? ` · 目标 ${esc(p.target_class)}类 ${verdict}` : ""}
    ${p.main_pollutants.length ? ` · 主要污染指标：${p.main_pollutants.map(esc).join("、")}` : ""}</p>
    <table class="wq-factors"><thead><tr><th>因子</th><th>均值</th><th>样品数</th><th>类别</th></tr></thead><tbody>
    ${p.factors.map((f) => `<tr><td>${esc(f.name)}${f.unit && f.unit !== "无量纲" ? "（" + esc(f.unit) + "）" : ""}</td><td>${esc(f.mean)}</td>
      <td>${f.samples}</td><td>${classTag(f.water_class)}${f.counted ? "" : " <span class=\"muted\">参考，不参与评价</span>"}</td></tr>`).join("")}</tbody></table></div>`;
}
function drawWater(w) {
  document.getElementById("water-panel").hidden = false;
  document.getElementById("water-class").innerHTML = `<div class="grid cols-1-1">${periodHtml("最新一日", w.day) + periodHtml("本月累计", w.month)}</div>`
    + `<p class="muted">GB 3838-2002 单因子评价：各因子取时段内有效样品的算术平均值（精确计算）定类，断面类别取最差因子类别；均值按样品的小数位数修约显示（GB/T 8170）。</p>`;
}

let d = null;
if (m) {
  try { d = await api(`sites/${id}`); } catch (e) {
    document.getElementById("site-title").textContent = e.status === 404 ? "点位不存在或无权查看" : "加载失败：" + e.message;
  }
}
if (d) {
  const s = d.site;
  document.getElementById("site-title").textContent = `${s.name}（${s.code}）`;
  document.title = s.name + " - 青山";
  document.getElementById("site-info").textContent = [s.kind_label, s.control_level, s.enterprise_name,
    s.water_body_name, s.target_class ? `水质目标 ${s.target_class}类` : null,
    `设备：${d.devices.map((x) => x.mn).join("、") || "无"}`].filter(Boolean).join(" · ");
  document.getElementById("site-devices").innerHTML = d.devices.map((x) => `<div>${esc(x.mn)}：${esc(fmtAgo(x.last_report))}，每${fmtInterval(x.interval_minutes)}上报${x.interval_source === "data" ? "（按数据推断）" : ""}</div>`).join("");
  if (d.water) drawWater(d.water);
  const labels = { realtime: "实时数据", minute: "分钟数据", hour: "小时数据", day: "日数据" };
  document.getElementById("latest").innerHTML = d.latest.map((r) => `<h3 class="muted">${labels[r.resolution]} · ${fmtTime(r.time)}</h3>
    <table><tr><th>因子</th><th>数值</th><th>单位</th><th>标记</th></tr>${r.values.map((v) => `<tr><td>${esc(v.name || v.code)}</td>
    <td>${valueHtml(v.display, v.value)}</td><td>${esc(v.unit || "")}</td><td>${esc(v.flag || "")}</td></tr>`).join("")}</table>`).join("") || "<p class='muted'>暂无数据</p>";
  document.getElementById("resolution").addEventListener("change", drawSeries);
  document.getElementById("show-flags").addEventListener("change", (ev) => {
    showFlags = ev.target.checked;
    if (!chart) return;
    for (const name of flagSeries) {
      chart.dispatchAction({ type: showFlags ? "legendSelect" : "legendUnSelect", name });
    }
  });
  document.getElementById("days").addEventListener("change", drawSeries);
  await drawSeries();
}
