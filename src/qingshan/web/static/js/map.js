// 一张图: offline vector boundaries + site markers (Leaflet); optional tile layer from settings.
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

const m = await header("map");
if (m) {
  const cfg = await api("map/config");
  // Coordinates are drawn in the tiles' datum (GCJ-02 for AMap-style tiles, else WGS-84).
  const datum = cfg.tile_datum === "gcj02" ? "gcj02" : "wgs84";
  const map = L.map("map", { zoomControl: true, attributionControl: false, preferCanvas: true });
  if (cfg.tile_url) {
    // Tiles come through the server's proxy (a relative URL): the tile key stays there.
    L.tileLayer(cfg.tile_url, { maxZoom: 18 }).addTo(map);
    document.getElementById("tiles-note").textContent = "底图：已配置的瓦片服务";
  }
  // The deployment's recorded outlines: its own region highlighted, others (neighbours) dashed;
  // none recorded: no boundary layer, the view fits the markers.
  const bounds = await api("map/boundaries?datum=" + datum);
  const outline = bounds.features.length ? L.geoJSON(bounds, {
    style: (f) => f.properties.own
      ? { color: "#1565c0", weight: 3, fillColor: "#cfe3f7", fillOpacity: 0.45 }
      : { color: "#78909c", weight: 1, dashArray: "4 3", fillColor: "#eef2f5", fillOpacity: 0.3 },
    onEachFeature: (f, layer) => layer.bindTooltip(esc(f.properties.name), { sticky: true }),
  }).addTo(map) : null;
  const own = outline?.getLayers().find((l) => l.feature.properties.own);
  if (!cfg.tile_url) {
    document.getElementById("tiles-note").textContent = outline
      ? "离线模式：显示本系统登记的行政区划矢量边界（未配置天地图瓦片）"
      : "离线模式：本系统未登记行政区划边界，仅显示点位（未配置天地图瓦片）";
  }

  const sites = await api("map/sites?datum=" + datum);
  const groups = {};
  const index = [];
  for (const f of sites.features) {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const marker = L.circleMarker([lat, lon], {
      radius: p.kind === "air_station" && p.control_level !== "微站" ? 9 : 7,
      color: "#222", weight: 1, fillColor: p.colour, fillOpacity: 0.95,
    });
    const head = `<b>${esc(p.name)}</b><br>${esc(p.kind_label)}${p.enterprise ? "<br>" + esc(p.enterprise) : ""}
      <br>状态：${esc(p.status_label)}`;
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
    marker.on("click", () => marker.openPopup());
    marker.getElement?.()?.setAttribute("data-code", p.code);
    (groups[p.kind] ||= L.layerGroup()).addLayer(marker);
    index.push({ p, marker, text: [p.name, p.code, p.enterprise || ""].join(" ").toLowerCase() });
  }
  // the enterprise layer (污染源企业): one marker per enterprise, 超标 / 离线 / 正常 now
  const ents = await api("sources/map?datum=" + datum);
  const entLayer = L.layerGroup();
  for (const f of ents.features) {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const marker = L.circleMarker([lat, lon], { radius: 10, color: "#000", weight: 2, fillColor: p.colour, fillOpacity: 0.7 });
    marker.bindPopup(`<b>${esc(p.name)}</b><br>污染源企业<br>状态：${esc(p.status_label)}
      <br><a href="enterprise?code=${encodeURIComponent(p.credit_code ?? "")}">一企一档</a>`);
    entLayer.addLayer(marker);
  }
  if (ents.features.length) groups.enterprise_layer = entLayer;
  window.qingshanMapIndex = index;
  setupSearch(map, groups);
  const points = sites.features.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]);
  const view = (own || outline)?.getBounds() || (points.length ? L.latLngBounds(points) : null);
  if (view) map.fitBounds(view, { maxZoom: 13 }); else map.setView([35.0, 104.0], 4);  // China
  const box = document.getElementById("layers");
  const LAYER_LABELS = { ...KIND_LABELS, enterprise_layer: "污染源企业" };
  box.innerHTML = Object.keys(LAYER_LABELS).filter((k) => groups[k]).map((k) =>
    `<label><input type="checkbox" data-kind="${k}" checked> ${LAYER_LABELS[k]}（${groups[k].getLayers().length}）</label><br>`).join("")
    + (outline ? `<label><input type="checkbox" id="boundary-toggle" checked> 行政区划边界</label>` : "");
  for (const [k, g] of Object.entries(groups)) g.addTo(map);
  box.addEventListener("change", (ev) => {
    const t = ev.target;
    if (t.id === "boundary-toggle") { t.checked ? outline.addTo(map) : map.removeLayer(outline); return; }
    const g = groups[t.dataset.kind];
    if (g) t.checked ? g.addTo(map) : map.removeLayer(g);
  });
  document.getElementById("legend").innerHTML = [
    ["#1E88E5", "在线"], ["#E60012", "超标"], ["#999999", "离线"], ["#00E400", "空气：AQI 优（其余按AQI颜色）"], ["#4E8FD0", "水质：按类别颜色"],
  ].map(([c, t]) => `<div><span data-c="${c}"></span>${t}</div>`).join("");
  document.querySelectorAll("#legend span[data-c]").forEach((s) => { s.style.background = s.dataset.c; });
  const entStatus = {};
  for (const f of ents.features) entStatus[f.properties.name] = f.properties.status;
  window.qingshanMap = { map, count: sites.features.length, enterprises: entStatus };
  document.getElementById("map").dataset.count = String(sites.features.length);  // ready marker
}
