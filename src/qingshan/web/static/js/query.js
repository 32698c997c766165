// Data query across sites and factors, paginated by cursor; CSV/Excel export.
import { api, errorMessage, esc, fmtTime, header, isoLocal, withOffset } from "./common.js";

const m = await header("query");
let cursor = null;
let shown = 0;

function params() {
  const p = new URLSearchParams({
    site_id: document.getElementById("site").value,
    resolution: document.getElementById("resolution").value,
    start: withOffset(document.getElementById("start").value),
    end: withOffset(document.getElementById("end").value),
  });
  const codes = document.getElementById("codes").value.trim();
  if (codes) p.set("codes", codes);
  return p;
}

async function load(append) {
  const err = document.getElementById("error");
  err.textContent = "";
  const p = params();
  p.set("limit", "500");
  if (append && cursor) p.set("cursor", cursor);
  try {
    const page = await api("observations?" + p);
    const body = document.querySelector("#results tbody");
    if (!append) { body.innerHTML = ""; shown = 0; }
    body.insertAdjacentHTML("beforeend", page.items.map((r) => `<tr><td>${fmtTime(r.time)}</td><td>${esc(r.device_mn)}</td>
      <td>${esc(r.code)}</td><td>${esc(r.value ?? "")}</td><td>${esc(r.zs ?? "")}</td><td>${esc(r.flag ?? "")}</td></tr>`).join(""));
    shown += page.items.length;
    cursor = page.next_cursor;
    document.getElementById("more").hidden = !cursor;
    document.getElementById("count").textContent = `已显示 ${shown} 条${cursor ? "，还有更多" : ""}`;
  } catch (e) { err.textContent = errorMessage(e); }
}

if (m) {
  const sites = await api("sites?limit=1000");
  document.getElementById("site").innerHTML = sites.items.map((s) => `<option value="${s.id}">${esc(s.name)}（${esc(s.kind_label)}）</option>`).join("");
  const end = new Date();
  document.getElementById("end").value = isoLocal(end);
  document.getElementById("start").value = isoLocal(new Date(end.getTime() - 86400000));
  document.getElementById("query-form").addEventListener("submit", (ev) => { ev.preventDefault(); cursor = null; load(false); });
  document.getElementById("more").addEventListener("click", () => load(true));
  for (const fmt of ["csv", "xlsx"]) {
    document.getElementById(fmt).addEventListener("click", () => {
      const p = params(); p.set("format", fmt);
      location.href = "api/v1/export?" + p;
    });
  }
}
