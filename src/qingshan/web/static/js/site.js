// Site detail: latest values, a time-series chart per resolution with flags, completeness.
import { api, esc, fmtTime, header } from "./common.js";

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
    const series = d.series.map((s) => ({
      name: `${s.name || s.code}${s.unit ? "（" + s.unit + "）" : ""}`, type: "line", showSymbol: false,
      data: s.times.map((t, i) => [t, s.values[i], s.flags[i]]),
      markPoint: {
        symbol: "pin", symbolSize: 28,
        data: s.times.map((t, i) => [t, s.values[i], s.flags[i]]).filter((p) => p[2] && p[2] !== "N")
          .slice(0, 200).map((p) => ({ coord: [p[0], p[1]], value: p[2], itemStyle: { color: "#e60012" } })),
      },
    }));
    chart.setOption({
      backgroundColor: "transparent", animation: false, legend: { type: "scroll", top: 0 }, grid: { left: 50, right: 20, top: 40, bottom: 60 },
      tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "—" : v) ,
        formatter: (ps) => `${fmtTime(ps[0].value[0])}<br>` + ps.map((p) => `${p.marker}${esc(p.seriesName)}：${p.value[1] ?? "—"}${p.value[2] && p.value[2] !== "N" ? "（" + esc(d.flag_labels[p.value[2]] || p.value[2]) + "）" : ""}`).join("<br>") },
      xAxis: { type: "time" }, yAxis: { type: "value", scale: true },
      dataZoom: [{ type: "inside" }, { type: "slider", bottom: 10 }], series,
    }, true);
    const flagged = d.series.reduce((n, s) => n + s.flags.filter((f) => f && f !== "N").length, 0);
    note.textContent = `${d.resolution_label}${d.resolution_rule ? "（自动：" + d.resolution_rule + "）" : ""}，${d.series.length} 个因子；红色标注为非正常数据标记（${flagged} 个）：`
      + Object.entries(d.flag_labels).map(([k, v]) => `${k}=${v}`).join("，");
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
    <td>${esc(v.value ?? "—")}</td><td>${esc(v.unit || "")}</td><td>${esc(v.flag || "")}</td></tr>`).join("")}</table>`).join("") || "<p class='muted'>暂无数据</p>";
  document.getElementById("resolution").addEventListener("change", drawSeries);
  document.getElementById("days").addEventListener("change", drawSeries);
  await drawSeries();
}
