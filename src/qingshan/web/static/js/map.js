// 一张图: offline vector boundaries + site markers (Leaflet); optional tile layer from settings.
import { api, esc, header, KIND_LABELS } from "./common.js";

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
  for (const f of sites.features) {
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const marker = L.circleMarker([lat, lon], {
      radius: p.kind === "air_station" && p.control_level !== "微站" ? 9 : 7,
      color: "#222", weight: 1, fillColor: p.colour, fillOpacity: 0.95,
    });
    marker.bindPopup(`<b>${esc(p.name)}</b><br>${esc(p.kind_label)}${p.enterprise ? "<br>" + esc(p.enterprise) : ""}
      <br>状态：${esc(p.status_label)}<br><a href="site?id=${p.id}">查看详情</a>`);
    marker.on("click", () => marker.openPopup());
    marker.getElement?.()?.setAttribute("data-code", p.code);
    (groups[p.kind] ||= L.layerGroup()).addLayer(marker);
  }
  const points = sites.features.map((f) => [f.geometry.coordinates[1], f.geometry.coordinates[0]]);
  const view = (own || outline)?.getBounds() || (points.length ? L.latLngBounds(points) : null);
  if (view) map.fitBounds(view, { maxZoom: 13 }); else map.setView([35.0, 104.0], 4);  // China
  const box = document.getElementById("layers");
  box.innerHTML = Object.keys(KIND_LABELS).filter((k) => groups[k]).map((k) =>
    `<label><input type="checkbox" data-kind="${k}" checked> ${KIND_LABELS[k]}（${groups[k].getLayers().length}）</label><br>`).join("")
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
  window.qingshanMap = { map, count: sites.features.length };
  document.getElementById("map").dataset.count = String(sites.features.length);  // ready marker
}
