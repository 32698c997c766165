// 一张图: offline vector boundaries, the deployment's reference layers (rivers, roads, place
// names) and site markers (Leaflet); optional tiles (天地图 or another service) through the
// server's proxy. Markers carry two channels: the fill says what the values are worth (AQI
// category, water class, 超标/正常), the outline whether the site reports now (solid 在线,
// dashed 离线, dotted 无在线设备); a red ring marks 超标/不达标. The shape says the layer.
import { api, esc, fmtTime, header, KIND_LABELS, valueHtml } from "./common.js";

const RES_ORDER = ["hour", "day", "minute", "realtime"];
const RES_LABELS = { hour: "小时数据", day: "日数据", minute: "分钟数据", realtime: "实时数据" };

// A popup's latest values: the latest record of the coarsest-but-hourly resolution first
// (hour, else day, minute, real-time), every factor by name with its unit; flagged values
// (not N) are marked with the flag's meaning.
function latestHtml(detail) {
  const recs = [...detail.latest].sort((a, b) => RES_ORDER.indexOf(a.resolution) - RES_ORDER.indexOf(b.resolution));
  const r = recs[0];
  if (!r) return '<div class="pop-latest">暂无数据</div>';
  const when = fmtTime(r.time) + "（北京时间）"; // never the browser's own zone
  const rows = r.values.slice(0, 12).map((v) => {
    const flag = v.flag && v.flag !== "N" ? `（${esc(detail.flag_labels[v.flag] || v.flag)}）` : "";
    return `<tr><td>${esc(v.name || v.code)}</td><td>${valueHtml(v.display, v.value)} ${esc(v.unit || "")}${flag}</td></tr>`;
  }).join("");
  return `<div class="pop-latest"><div class="muted">${RES_LABELS[r.resolution] || ""} ${when}</div><table>${rows}</table></div>`;
}

// Search by site or enterprise name or code: up to 10 matches; a click flies to the marker
// (showing its layer if hidden) and opens its popup.
function setupSearch(map, groups) {
  const input = document.getElementById("map-search");
  const list = document.getElementById("map-hits");
  if (!input || !list) return;
  input.addEventListener("input", () => {
    const q = input.value.trim().toLowerCase();
    const hits = q ? window.qingshanMapIndex.filter((x) => x.text.includes(q)).slice(0, 10) : [];
    list.innerHTML = hits.map((x, i) => `<li><button type="button" data-i="${i}">${esc(x.p.name)}<span class="muted"> ${esc(x.p.enterprise || x.p.kind_label)}</span></button></li>`).join("")
      + (q && !hits.length ? '<li class="muted">没有匹配的点位或企业</li>' : "");
    list.querySelectorAll("button[data-i]").forEach((b) => b.addEventListener("click", () => {
      const x = hits[+b.dataset.i];
      const g = groups[x.p.kind];
      if (g && !map.hasLayer(g)) {
        g.addTo(map);
        const cb = document.querySelector(`#layers input[data-kind="${x.p.kind}"]`);
        if (cb) cb.checked = true;
      }
      map.setView(x.marker.getLatLng(), Math.max(map.getZoom(), 14));
      x.marker.openPopup();
    }));
  });
}

// One shape per layer, as SVG path data in a 24 × 24 box.
const SHAPES = {
  air_station: '<circle cx="12" cy="12" r="8.5"/>',
  surface_water_section: '<rect x="4" y="4" width="16" height="16"/>',
  drinking_water_source: '<polygon points="12,2.5 21.5,12 12,21.5 2.5,12"/>',
  groundwater_point: '<polygon points="12,3 20,7.5 20,16.5 12,21 4,16.5 4,7.5"/>',
  noise_station: '<polygon points="12,2.5 14.6,9 21.5,9.3 16.1,13.6 18,20.5 12,16.6 6,20.5 7.9,13.6 2.5,9.3 9.4,9"/>',
  enterprise_outlet: '<polygon points="12,3 21.5,20 2.5,20"/>',
  enterprise_layer: '<polygon points="3.5,21 3.5,10 12,3.5 20.5,10 20.5,21"/>',
};
const OUTLINE = {  // the online channel: stroke colour, dash pattern
  true: ["#1b1b1b", ""], false: ["#444", "3 2"], null: ["#666", "1 2"],
};
const NO_DATA = "#BBBBBB";

// An inline SVG marker (attributes only: the CSP refuses style attributes).
function shapeSvg(kind, fill, online, alert, size, extra = "") {
  const [stroke, dash] = OUTLINE[online === true ? "true" : online === false ? "false" : "null"];
  const shape = (SHAPES[kind] || SHAPES.air_station).replace(/\/>$/,
    ` fill="${esc(fill || NO_DATA)}" stroke="${stroke}" stroke-width="1.6"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
  const ring = alert ? '<circle cx="12" cy="12" r="11.2" fill="none" stroke="#E60012" stroke-width="1.6"/>' : "";
  return `<svg viewBox="0 0 24 24" width="${size}" height="${size}" aria-hidden="true"${extra}>${ring}${shape}</svg>`;
}

function siteIcon(p) {
  const big = p.kind === "air_station" && p.control_level !== "微站";
  const size = (p.kind === "air_station" && !big ? 14 : 20) + (p.alert ? 4 : 0);
  const data = ` data-code="${esc(p.code)}" data-status="${esc(p.status)}"`;
  return L.divIcon({
    className: "mk", html: shapeSvg(p.kind, p.colour, p.online, p.alert, size, data),
    iconSize: [size, size], iconAnchor: [size / 2, size / 2], popupAnchor: [0, -size / 2],
  });
}

// The legend explains the three channels: shape = layer, fill = value, outline = online.
function legendHtml(kinds) {
  const sw = (c) => `<svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true"><rect x="2" y="2" width="20" height="20" fill="${c}" stroke="#333" stroke-width="1"/></svg>`;
  const row = (icon, text) => `<div class="legend-row">${icon}<span>${esc(text)}</span></div>`;
  const shapes = kinds.map(([k, label]) => row(shapeSvg(k, "#ffffff", true, false, 16), label)).join("");
  const aqi = [["#00E400", "优"], ["#FFFF00", "良"], ["#FF7E00", "轻度污染"], ["#FF0000", "中度污染"], ["#99004C", "重度污染"], ["#7E0023", "严重污染"]];
  const water = [["#3A8EE6", "Ⅰ–Ⅱ类"], ["#00E400", "Ⅲ类"], ["#FFFF00", "Ⅳ类"], ["#FF7E00", "Ⅴ类"], ["#FF0000", "劣Ⅴ类"]];
  const outlet = [["#E60012", "超标"], ["#1E88E5", "正常（在线、未超标）"], ["#999999", "离线"]];
  const block = (title, items) => `<div class="legend-title">${title}</div>` + items.map(([c, t]) => row(sw(c), t)).join("");
  const line = (stroke, dash, text) => row(`<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><circle cx="12" cy="12" r="8" fill="${NO_DATA}" stroke="${stroke}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/></svg>`, text);
  return '<div class="legend-title">形状：图层</div>' + shapes
    + block("填色：空气质量指数类别（HJ 633）", aqi)
    + block("填色：水质类别（地表水 GB 3838，地下水 GB/T 14848）", water)
    + block("填色：排放口、污染源企业", outlet)
    + block("填色：无评价结果", [[NO_DATA, "暂无数据"]])
    + '<div class="legend-title">边框：在线状态</div>'
    + line("#1b1b1b", "", "实线：在线") + line("#444", "3 2", "虚线：离线") + line("#666", "1 2", "点线：无在线设备（手工监测）")
    + row('<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><circle cx="12" cy="12" r="10" fill="none" stroke="#E60012" stroke-width="2"/><circle cx="12" cy="12" r="6" fill="#fff" stroke="#333"/></svg>', "红圈：超标、不达标或劣于目标")
    + '<div class="legend-title">底图图层</div>'
    + row('<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M2 16 C8 8 14 20 22 8" fill="none" stroke="#3b82c4" stroke-width="3"/></svg>', "河流")
    + row('<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path d="M2 12 H22" stroke="#8d8d8d" stroke-width="3"/></svg>', "道路");
}

const REF_LABELS = { river: "河流", road: "道路", place: "地名" };

// The reference layers under the markers: rivers blue lines (water areas light blue), roads
// grey (wider by rank), place names as text labels; SVG in their own panes.
function referenceLayers(map, fc) {
  map.createPane("refs").style.zIndex = 420;  // above the boundary fill, below the markers
  map.createPane("places").style.zIndex = 450;
  const renderer = L.svg({ pane: "refs" });
  const out = {};
  for (const kind of ["river", "road"]) {
    const feats = fc.features.filter((f) => f.properties.kind === kind);
    if (!feats.length) continue;
    out[kind] = L.geoJSON({ type: "FeatureCollection", features: feats }, {
      pane: "refs", renderer,
      style: (f) => kind === "river"
        ? { color: "#3b82c4", weight: 2 + Math.min(f.properties.rank || 1, 3), opacity: 0.9, fillColor: "#9cc7ec", fillOpacity: 0.7, className: "ref-river" }
        : { color: "#8d8d8d", weight: 1.5 + Math.min(f.properties.rank || 1, 3), opacity: 0.9, className: "ref-road" },
      onEachFeature: (f, layer) => { if (f.properties.name) layer.bindTooltip(esc(f.properties.name), { sticky: true }); },
    });
  }
  const places = fc.features.filter((f) => f.properties.kind === "place");
  if (places.length) {
    const g = L.layerGroup();
    for (const f of places) {
      const [lon, lat] = f.geometry.coordinates;
      const rank = Math.max(1, Math.min(f.properties.rank || 1, 3));
      const mk = L.marker([lat, lon], {
        pane: "places", interactive: false, keyboard: false,
        icon: L.divIcon({ className: `map-place rank-${rank}`, html: `<span>${esc(f.properties.name)}</span>`, iconSize: null }),
      });
      mk.placeName = f.properties.name;  // for the search
      g.addLayer(mk);
    }
    out.place = g;
  }
  return out;
}

const m = await header("map");
if (m) {
  const cfg = await api("map/config");
  // Coordinates are drawn in the tiles' datum (GCJ-02 for AMap-style tiles, else WGS-84).
  const datum = cfg.tile_datum === "gcj02" ? "gcj02" : "wgs84";
  const map = L.map("map", { zoomControl: true, attributionControl: false, preferCanvas: true });
  if (cfg.tile_url) {
    // Tiles come through the server's proxy (relative URLs): the tile key stays there.
    L.tileLayer(cfg.tile_url, { maxZoom: 18, minZoom: 1 }).addTo(map);
    if (cfg.label_url) L.tileLayer(cfg.label_url, { maxZoom: 18, minZoom: 1, className: "tile-labels" }).addTo(map);
    document.getElementById("tiles-note").textContent = `底图：${cfg.tile_source || "已配置的瓦片服务"}`;
  }
  // The deployment's recorded outlines: its own region highlighted, others (neighbours) dashed;
  // none recorded: no boundary layer, the view fits the markers.
  const [bounds, refs] = await Promise.all([api("map/boundaries?datum=" + datum), api("map/layers?datum=" + datum)]);
  const outline = bounds.features.length ? L.geoJSON(bounds, {
    style: (f) => f.properties.own
      ? { color: "#1565c0", weight: 3, fillColor: "#eef4f9", fillOpacity: cfg.tile_url ? 0.15 : 0.6 }
      : { color: "#78909c", weight: 1, dashArray: "4 3", fillColor: "#f4f6f8", fillOpacity: cfg.tile_url ? 0.1 : 0.4 },
    onEachFeature: (f, layer) => layer.bindTooltip(esc(f.properties.name), { sticky: true }),
  }).addTo(map) : null;
  const own = outline?.getLayers().find((l) => l.feature.properties.own);
  const refLayers = referenceLayers(map, refs);
  if (!cfg.tile_url) {
    const what = [outline ? "行政区划边界" : "", ...Object.keys(refLayers).map((k) => REF_LABELS[k])].filter(Boolean);
    document.getElementById("tiles-note").textContent = what.length
      ? `离线模式：显示本系统登记的${what.join("、")}矢量图层（未配置天地图瓦片）`
      : "离线模式：本系统未登记行政区划边界，仅显示点位（未配置天地图瓦片）";
  }

  const sites = await api("map/sites?datum=" + datum);
  const groups = {};
  const index = [];
  for (const f of sites.features) {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const marker = L.marker([lat, lon], { icon: siteIcon(p), title: p.name, riseOnHover: true });
    const head = `<b>${esc(p.name)}</b><br>${esc(p.kind_label)}${p.enterprise ? "<br>" + esc(p.enterprise) : ""}
      <br>状态：${esc(p.status_label)}${p.online === false && !/离线/.test(p.status_label) ? "（离线）" : ""}`;
    const link = `<br><a href="site?id=${p.id}">查看详情</a>`;
    marker.bindPopup(head + '<div class="pop-latest muted">正在读取最新数据…</div>' + link);
    // The latest values are read when the popup opens (one request per opened marker).
    marker.on("popupopen", async () => {
      try {
        marker.setPopupContent(head + latestHtml(await api("sites/" + p.id)) + link);
      } catch (e) {
        marker.setPopupContent(head + `<div class="pop-latest">最新数据读取失败：${esc(e.message)}</div>` + link);
      }
    });
    (groups[p.kind] ||= L.layerGroup()).addLayer(marker);
    index.push({ p, marker, text: [p.name, p.code, p.enterprise || ""].join(" ").toLowerCase() });
  }
  // the enterprise layer (污染源企业): one marker per enterprise, 超标 / 离线 / 正常 now
  const ents = await api("sources/map?datum=" + datum);
  const entLayer = L.layerGroup();
  for (const f of ents.features) {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const size = p.status === "exceeding" ? 26 : 22;
    const html = shapeSvg("enterprise_layer", p.colour, p.status !== "offline", p.status === "exceeding", size,
      ` data-enterprise="${esc(p.credit_code ?? "")}" data-status="${esc(p.status)}"`);
    const marker = L.marker([lat, lon], {
      title: p.name,
      icon: L.divIcon({ className: "mk", html, iconSize: [size, size], iconAnchor: [size / 2, size / 2], popupAnchor: [0, -size / 2] }),
    });
    marker.bindPopup(`<b>${esc(p.name)}</b><br>污染源企业<br>状态：${esc(p.status_label)}
      <br><a href="enterprise?code=${encodeURIComponent(p.credit_code ?? "")}">一企一档</a>`);
    entLayer.addLayer(marker);
    index.push({ p: { ...p, kind: "enterprise_layer", kind_label: "污染源企业" }, marker, text: [p.name, p.credit_code || ""].join(" ").toLowerCase() });
  }
  if (ents.features.length) groups.enterprise_layer = entLayer;
  // reference layers are toggled like the others (key ref_<kind>); place names are searchable
  for (const [k, layer] of Object.entries(refLayers)) groups["ref_" + k] = layer;
  if (refLayers.place) {
    for (const mk of refLayers.place.getLayers()) {
      const name = mk.placeName;
      index.push({ p: { name, kind: "ref_place", kind_label: "地名" }, marker: mk, text: name.toLowerCase() });
    }
  }
  window.qingshanMapIndex = index;
  setupSearch(map, groups);
  const points = sites.features.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]);
  const view = (own || outline)?.getBounds() || (points.length ? L.latLngBounds(points) : null);
  if (view) map.fitBounds(view, { maxZoom: 13 }); else map.setView([35.0, 104.0], 4);  // China
  const box = document.getElementById("layers");
  const LAYER_LABELS = { ...KIND_LABELS, enterprise_layer: "污染源企业" };
  const REF_KEYS = { ref_river: "河流", ref_road: "道路", ref_place: "地名" };
  const count = (k) => groups[k].getLayers().length;
  box.innerHTML = Object.keys(LAYER_LABELS).filter((k) => groups[k]).map((k) =>
    `<label><input type="checkbox" data-kind="${k}" checked> ${LAYER_LABELS[k]}（${count(k)}）</label><br>`).join("")
    + Object.keys(REF_KEYS).filter((k) => groups[k]).map((k) =>
      `<label><input type="checkbox" data-kind="${k}" ${cfg.tile_url ? "" : "checked"}> ${REF_KEYS[k]}（${count(k)}）</label><br>`).join("")
    + (outline ? `<label><input type="checkbox" id="boundary-toggle" checked> 行政区划边界</label>` : "");
  // with tiles the base map has its own rivers, roads and names: ours start hidden
  for (const [k, g] of Object.entries(groups)) if (!(k in REF_KEYS && cfg.tile_url)) g.addTo(map);
  box.addEventListener("change", (ev) => {
    const t = ev.target;
    if (t.id === "boundary-toggle") { t.checked ? outline.addTo(map) : map.removeLayer(outline); return; }
    const g = groups[t.dataset.kind];
    if (g) t.checked ? g.addTo(map) : map.removeLayer(g);
  });
  const shown = Object.keys(KIND_LABELS).filter((k) => groups[k]).map((k) => [k, KIND_LABELS[k]]);
  if (groups.enterprise_layer) shown.push(["enterprise_layer", "污染源企业"]);
  document.getElementById("legend").innerHTML = legendHtml(shown);
  const entStatus = {};
  for (const f of ents.features) entStatus[f.properties.name] = f.properties.status;
  window.qingshanMap = { map, count: sites.features.length, enterprises: entStatus, groups };
  document.getElementById("map").dataset.count = String(sites.features.length);  // ready marker
}
