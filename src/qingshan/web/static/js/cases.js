// The case desk: the cases the user may see (a unit user's list is the unit's inbox of cases,
// an enterprise user's its own enterprise's), overdue first, with filters, and the same cases
// on a map coloured by warning; opening a case (the bureau); the unit answering for automatic
// alarms (administrators set it); the statistics per origin, round and kind, and year on year.
import { api, esc, header, todayCst } from "./common.js";

const ORIGINS = {
  central_inspection: "中央生态环境保护督察", provincial_inspection: "省级生态环境保护督察",
  warning_film: "警示片披露问题", hotline: "12369 / 信访举报", grid_patrol: "网格巡查",
  river_patrol: "河湖长巡河", enforcement: "执法检查", automatic_alarm: "自动监控报警",
};
// the kinds an origin's cases may be (the first is the default); automatic alarms are opened
// only by their episodes
const ORIGIN_KINDS = {
  central_inspection: ["problem", "complaint"], provincial_inspection: ["problem", "complaint"],
  warning_film: ["problem"], hotline: ["complaint"], grid_patrol: ["patrol"], river_patrol: ["patrol"],
  enforcement: ["problem"],
};
const KINDS = { problem: "问题", complaint: "信访件", patrol: "巡查问题", alarm: "报警" };
const WARN = { blue: "蓝单", yellow: "黄单", red: "红单" };
const COLOURS = { red: "#e53935", yellow: "#f9a825", blue: "#1e88e5", overdue: "#6d4c41", ok: "#43a047", closed: "#9e9e9e" };

const m = await header("cases");
const sel = document.getElementById("f-origin");
sel.innerHTML += Object.entries(ORIGINS).map(([k, v]) => `<option value="${k}">${esc(v)}</option>`).join("");
const manager = m && ["admin", "staff"].includes(m.role);
if (m && m.role === "unit") document.getElementById("desk-title").textContent = "本单位案件";
if (m && m.role === "enterprise") document.getElementById("desk-title").textContent = "本企业案件";
if (m && !["admin", "staff", "grid"].includes(m.role)) document.getElementById("report-link").hidden = true;

let map = null;
let layer = null;
async function setupMap() {
  const cfg = await api("map/config");
  const datum = cfg.tile_datum === "gcj02" ? "gcj02" : "wgs84";
  map = L.map("case-map", { attributionControl: false });  // SVG: one element per case
  if (cfg.tile_url) L.tileLayer(cfg.tile_url, { maxZoom: 18 }).addTo(map);
  const bounds = await api("map/boundaries?datum=" + datum).catch(() => ({ features: [] }));
  const outline = bounds.features.length ? L.geoJSON(bounds, {
    style: (f) => f.properties.own
      ? { color: "#1565c0", weight: 2, fillColor: "#cfe3f7", fillOpacity: 0.3 }
      : { color: "#78909c", weight: 1, dashArray: "4 3", fillOpacity: 0.1 },
  }).addTo(map) : null;
  layer = L.layerGroup().addTo(map);
  map.setView([35.0, 104.0], 4);
  return { datum, outline };
}

function colour(c) {
  if (c.closed) return "closed";
  if (c.warning) return c.warning;
  return c.overdue ? "overdue" : "ok";
}

function drawMap(rows, outline) {
  layer.clearLayers();
  const pts = [];
  for (const c of rows) {
    if (!c.point) continue;
    const [lon, lat] = c.point;
    const key = colour(c);
    const mk = L.circleMarker([lat, lon], { radius: 7, color: "#222", weight: 1, fillColor: COLOURS[key], fillOpacity: 0.95 });
    mk.bindPopup(`<b><a href="case?code=${encodeURIComponent(c.code)}">${esc(c.code)}</a></b><br>${esc(c.title)}<br>${esc(c.state_label)}`
      + (c.warning ? `<br>${esc(WARN[c.warning])}` : c.overdue ? "<br>已逾期" : ""));
    layer.addLayer(mk);
    mk.getElement?.()?.setAttribute("data-code", c.code);
    pts.push([lat, lon]);
  }
  const shown = document.getElementById("case-map");
  shown.dataset.markers = JSON.stringify(rows.filter((c) => c.point).map((c) => ({ code: c.code, colour: colour(c) })));
  document.getElementById("map-note").textContent = `地图上 ${pts.length} 件（有坐标、点位或企业位置的案件；其余 ${rows.length - pts.length} 件无位置）`;
  const view = pts.length ? L.latLngBounds(pts) : outline?.getBounds();
  if (view) map.fitBounds(view, { maxZoom: 13, padding: [20, 20] });
}

let mapInfo = null;
async function load() {
  const params = new URLSearchParams();
  for (const [id, key] of [["f-origin", "origin"], ["f-kind", "kind"], ["f-q", "q"]]) {
    const v = document.getElementById(id).value.trim();
    if (v) params.set(key, v);
  }
  if (document.getElementById("f-open").checked) params.set("open", "true");
  if (document.getElementById("f-overdue").checked) params.set("overdue", "true");
  if (mapInfo) params.set("datum", mapInfo.datum);
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
    if (map) drawMap(rows, mapInfo.outline);
  } catch (e) { err.textContent = e.message; }
  const stats = await api("cases/stats");
  const pct = (v) => (v === null ? "—" : v.toFixed(1));
  document.querySelector("#stats tbody").innerHTML = stats.map((r) => `<tr><td>${esc(r.origin_label)}</td>
    <td>${esc(r.round ?? "—")}</td><td>${esc(r.kind_label)}</td><td>${r.total}</td><td>${r.rectified}</td>
    <td>${r.signed_off}</td><td>${r.closed}</td><td>${r.in_progress}</td><td>${r.overdue}</td>
    <td>${pct(r.closure_rate)}</td><td>${pct(r.on_time_rate)}</td><td>${pct(r.average_handling_days)}</td></tr>`).join("");
}

async function loadYoy() {
  const year = document.getElementById("yoy-year").value;
  const rows = await api(`cases/stats/yoy?year=${encodeURIComponent(year)}`);
  const pct = (v) => (v === null ? "—" : (v > 0 ? "+" : "") + v.toFixed(1));
  const sign = (v) => (v > 0 ? `+${v}` : String(v));
  document.querySelector("#yoy thead tr").cells[2].textContent = `${year}年受理`;
  document.querySelector("#yoy thead tr").cells[3].textContent = `${year - 1}年受理`;
  document.querySelector("#yoy thead tr").cells[6].textContent = `${year}年办结`;
  document.querySelector("#yoy thead tr").cells[7].textContent = `${year - 1}年办结`;
  document.querySelector("#yoy tbody").innerHTML = rows.map((r) => `<tr><td>${esc(r.origin_label)}</td><td>${esc(r.kind_label)}</td>
    <td>${r.received}</td><td>${r.received_previous}</td><td>${sign(r.received_change)}</td><td>${pct(r.received_change_rate)}</td>
    <td>${r.closed}</td><td>${r.closed_previous}</td><td>${sign(r.closed_change)}</td><td>${pct(r.closed_change_rate)}</td></tr>`).join("")
    || `<tr><td colspan="10">${year}年和${year - 1}年都没有案件</td></tr>`;
}

// ---------------------------------------------------------------- opening a case (the bureau)

function kindChoices() {
  const origin = document.getElementById("n-origin").value;
  document.getElementById("n-kind").innerHTML = (ORIGIN_KINDS[origin] || []).map((k) => `<option value="${k}">${KINDS[k]}</option>`).join("");
  fieldsShown();
}

function fieldsShown() {
  const origin = document.getElementById("n-origin").value;
  const kind = document.getElementById("n-kind").value;
  const form = document.getElementById("new-form");
  for (const el of form.querySelectorAll(".insp")) el.hidden = !["central_inspection", "provincial_inspection"].includes(origin);
  for (const el of form.querySelectorAll(".compl")) el.hidden = kind !== "complaint";
  for (const el of form.querySelectorAll(".river")) el.hidden = origin !== "river_patrol";
  const mode = document.getElementById("n-deadline_mode").value;
  document.getElementById("n-due-box").hidden = mode !== "date";
  document.getElementById("n-days-box").hidden = !["calendar", "working"].includes(mode);
}

function val(id) {
  const el = document.getElementById(id);
  if (!el || el.closest("label")?.hidden) return null;
  const v = el.value.trim();
  return v === "" ? null : v;
}

function caseBody(prefix) {
  const body = {};
  for (const k of ["origin", "kind", "code", "batch", "item_no", "national_id", "channel", "river", "reach", "title",
    "description", "category", "region", "enterprise", "site", "address", "lead_unit", "acceptance_unit", "received_on"]) {
    const v = val(prefix + k);
    if (v !== null) body[k] = v;
  }
  const round = val(prefix + "round");
  if (round !== null) body.round = Number(round);
  const lon = val(prefix + "longitude");
  const lat = val(prefix + "latitude");
  if (lon !== null) body.longitude = Number(lon);
  if (lat !== null) body.latitude = Number(lat);
  body.supporting_units = [...document.getElementById(prefix + "supporting_units").selectedOptions].map((o) => o.value);
  const mode = document.getElementById(prefix + "deadline_mode").value;
  if (mode === "date" && val(prefix + "due_on")) body.due_on = val(prefix + "due_on");
  if (["calendar", "working"].includes(mode) && val(prefix + "deadline_days")) {
    body.deadline_days = Number(val(prefix + "deadline_days"));
    body.deadline_unit = mode;
  }
  return body;
}

async function setupOpening() {
  document.getElementById("new-toggle").hidden = false;
  const origin = document.getElementById("n-origin");
  origin.innerHTML = Object.entries(ORIGIN_KINDS).map(([k]) => `<option value="${k}">${esc(ORIGINS[k])}</option>`).join("");
  origin.addEventListener("change", kindChoices);
  document.getElementById("n-kind").addEventListener("change", fieldsShown);
  document.getElementById("n-deadline_mode").addEventListener("change", fieldsShown);
  document.getElementById("n-received_on").value = todayCst();
  kindChoices();
  document.getElementById("new-toggle").addEventListener("click", () => {
    const f = document.getElementById("new-form");
    f.hidden = !f.hidden;
  });
  document.getElementById("new-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = document.getElementById("new-error");
    err.textContent = "";
    try {
      const c = await api("cases", { method: "POST", body: caseBody("n-") });
      location.href = `case?code=${encodeURIComponent(c.code)}`;
    } catch (e) { err.textContent = e.message; }
  });
}

async function fillRegistryChoices() {
  const [units, regions] = await Promise.all([api("registry/units"), api("registry/regions")]);
  const unitOpts = units.map((u) => `<option value="${esc(u.code)}">${esc(u.name)}（${esc(u.code)}）</option>`).join("");
  for (const s of document.querySelectorAll("select.units")) s.innerHTML += unitOpts;
  const regionOpts = regions.map((r) => `<option value="${esc(r.code)}">${esc(r.name)}（${esc(r.code)}）</option>`).join("");
  document.getElementById("n-region").innerHTML += regionOpts;
  document.getElementById("al-region").innerHTML += regionOpts;
}

// ---------------------------------------------------------------- the alarm cases' lead unit

async function loadAlarmLeads() {
  const rows = await api("cases/settings/alarm-leads");
  document.querySelector("#alarm-leads tbody").innerHTML = rows.map((r) =>
    `<tr data-region="${esc(r.region_code ?? "")}"><td>${esc(r.region_name ?? "全部区划")}</td><td>${esc(r.unit_name)}（${esc(r.unit_code)}）</td></tr>`).join("")
    || `<tr><td colspan="2" class="warn" id="alarm-leads-none">未设置：自动监控报警案件生成时没有牵头单位</td></tr>`;
}

if (m) {
  document.getElementById("yoy-year").value = todayCst().slice(0, 4);
  if (manager) {
    document.getElementById("alarm-leads-panel").hidden = false;
    await fillRegistryChoices();
    await setupOpening();
    await loadAlarmLeads();
    if (m.role === "admin") {
      document.getElementById("alarm-lead-form").hidden = false;
      document.getElementById("alarm-lead-form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const err = document.getElementById("alarm-lead-error");
        err.textContent = "";
        try {
          await api("cases/settings/alarm-leads", { method: "PUT", body: {
            region: document.getElementById("al-region").value || null,
            unit: document.getElementById("al-unit").value || null } });
          await loadAlarmLeads();
        } catch (e) { err.textContent = e.message; }
      });
    }
  }
  try { mapInfo = await setupMap(); } catch (e) { document.getElementById("map-note").textContent = "地图不可用：" + e.message; }
  document.getElementById("filters").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  document.getElementById("yoy-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadYoy(); });
  await load();
  await loadYoy();
  document.body.dataset.ready = "1";
}
