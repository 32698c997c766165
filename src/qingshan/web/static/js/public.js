import { api, esc, fmtTime, header } from "./common.js";

await header("public", { requireLogin: false });
const air = await api("public/air");
document.getElementById("aqi-cards").innerHTML = air.stations.map((s) => `<div class="card" data-c="${esc(s.colour || "#bbb")}">
  <div>${esc(s.name)}</div><div class="v">${s.aqi ?? "—"}</div><div>${esc(s.category || "无数据")}</div><div class="muted">${fmtTime(s.time)}</div></div>`).join("");
document.querySelectorAll(".card[data-c]").forEach((el) => { el.style.background = el.dataset.c; });
document.getElementById("air-notice").textContent = air.notice;
const w = await api("public/water");
document.querySelector("#water tbody").innerHTML = w.sections.map((s) => `<tr><td>${esc(s.name)}</td>
  <td>${esc(s.class ? s.class + "类" : "无数据")}</td><td>${esc(s.target_class ? s.target_class + "类" : "—")}</td>
  <td>${s.meets_target == null ? "—" : s.meets_target ? "达标" : "不达标"}</td></tr>`).join("");
document.getElementById("water-notice").textContent = w.notice;
