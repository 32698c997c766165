// Site detail: latest values, a time-series chart per resolution with flags, completeness.
import { api, esc, fmtTime, header, valueHtml } from "./common.js";

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
// values (flag N or none) are its line; values with another flag (C 校准, M 维护, D 故障, F 停运 …)
// are a separate scatter series of the same axis, hidden unless 显示标记数据 is ticked.
let showFlags = false;
function seriesOption(d) {
  const units = [...new Set(d.series.map((s) => s.unit || ""))];
  const yAxis = units.map((u, i) => ({
    type: "value", scale: true, name: u || "（无单位）", position: i % 2 ? "right" : "left",
    offset: Math.floor(i / 2) * 56, alignTicks: false, splitLine: { show: i === 0 },
  }));
  const series = [];
  const selected = {};
  for (const s of d.series) {
    const name = `${s.name || s.code}${s.unit ? "（" + s.unit + "）" : ""}`;
    const axis = units.indexOf(s.unit || "");
    const normal = (f) => !f || f === "N";
    series.push({
      name, type: "line", showSymbol: false, yAxisIndex: axis, connectNulls: false,
      data: s.times.map((t, i) => [t, normal(s.flags[i]) ? s.values[i] : null, s.flags[i]]),
    });
    const flagged = s.times.map((t, i) => [t, s.values[i], s.flags[i]]).filter((p) => !normal(p[2]) && p[1] != null);
    if (flagged.length) {
      const fname = `${name} 标记数据`;
      series.push({ name: fname, type: "scatter", yAxisIndex: axis, symbol: "diamond", symbolSize: 6,
        itemStyle: { color: "#ff9800" }, data: flagged });
      selected[fname] = showFlags;
    }
  }
  const n = Math.ceil(units.length / 2);
  return {
    backgroundColor: "transparent", animation: false, legend: { type: "scroll", top: 0, selected },
    grid: { left: 50 + (n - 1) * 56, right: units.length > 1 ? 50 + (Math.floor(units.length / 2) - 1) * 56 + 10 : 20, top: 50, bottom: 60 },
    tooltip: { trigger: "axis",
      formatter: (ps) => `${fmtTime(ps[0].value[0])}<br>` + ps.map((p) => `${p.marker}${esc(p.seriesName)}：${p.value[1] ?? "—"}${p.value[2] && p.value[2] !== "N" ? "（" + esc(d.flag_labels[p.value[2]] || p.value[2]) + "）" : ""}`).join("<br>") },
    xAxis: { type: "time" }, yAxis,
    dataZoom: [{ type: "inside" }, { type: "slider", bottom: 10 }], series,
  };
}

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
  try {
    const d = await api(`sites/${id}/series?${q}`);
    exportLinks(d.resolution);  // auto: export what the chart shows
    chart ||= echarts.init(document.getElementById("series-chart"), "dark");
    chart.setOption(seriesOption(d), true);
    // Flag markers summarised (no pin per value): counts by flag, with the flag's meaning.
    const counts = {};
    for (const s of d.series) for (const f of s.flags) if (f && f !== "N") counts[f] = (counts[f] || 0) + 1;
    const summary = Object.entries(counts).map(([k, n]) => `${esc(d.flag_labels[k] || k)}（${k}）${n} 个`).join("，");
    note.textContent = `${d.resolution_label}${d.resolution_rule ? "（自动：" + d.resolution_rule + "）" : ""}，${d.series.length} 个因子；`
      + (summary ? `非正常标记数据：${summary}，默认不画在数据线上（勾选“显示标记数据”单独显示）` : "没有非正常标记数据");
  } catch (e) { note.textContent = "无法加载：" + e.message; }
  if (res.value === "hour" || res.value === "day") {
    const c = await api(`sites/${id}/completeness?${q}`);
    document.querySelector("#completeness tbody").innerHTML = c.factors.map((f) => `<tr><td>${esc(f.name || f.code)}</td>
      <td>${f.expected}</td><td>${f.received}</td><td>${f.valid}</td><td>${(f.ratio * 100).toFixed(1)}%</td></tr>`).join("");
  } else {
    document.querySelector("#completeness tbody").innerHTML = `<tr><td colspan="5" class="muted">完整率按小时数据或日数据统计</td></tr>`;
  }
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
  const labels = { realtime: "实时数据", minute: "分钟数据", hour: "小时数据", day: "日数据" };
  document.getElementById("latest").innerHTML = d.latest.map((r) => `<h3 class="muted">${labels[r.resolution]} · ${fmtTime(r.time)}</h3>
    <table><tr><th>因子</th><th>数值</th><th>单位</th><th>标记</th></tr>${r.values.map((v) => `<tr><td>${esc(v.name || v.code)}</td>
    <td>${valueHtml(v.display, v.value)}</td><td>${esc(v.unit || "")}</td><td>${esc(v.flag || "")}</td></tr>`).join("")}</table>`).join("") || "<p class='muted'>暂无数据</p>";
  document.getElementById("resolution").addEventListener("change", drawSeries);
  document.getElementById("show-flags").addEventListener("change", (ev) => {
    showFlags = ev.target.checked;
    if (!chart) return;
    for (const s of chart.getOption().series.filter((x) => x.type === "scatter")) {
      chart.dispatchAction({ type: showFlags ? "legendSelect" : "legendUnSelect", name: s.name });
    }
  });
  document.getElementById("days").addEventListener("change", drawSeries);
  await drawSeries();
}
