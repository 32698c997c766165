// Devices: status, last packet, reject log; registration (a retired MN is re-activated) and
// (de)activation by administrators.
import { api, esc, fmtAgo, fmtInterval, fmtTime, header, newestOnly } from "./common.js";

const m = await header("devices");

const devicesTurn = newestOnly();

async function loadDevices() {
  const st = document.getElementById("status").value;
  const current = devicesTurn();
  const devs = await api("devices" + (st ? "?status=" + st : ""));
  if (!current()) return;
  document.querySelector("#devices tbody").innerHTML = devs.map((d) => `<tr>
    <td>${esc(d.mn)}</td><td>${d.site_id ? `<a href="site?id=${d.site_id}">${esc(d.site_name)}</a>` : "—"}</td>
    <td><span class="tag ${d.status === "online" ? "ok" : "off"}">${esc(d.status_label)}</span>${d.active ? "" : "（已停用）"}</td>
    <td>${esc(fmtAgo(d.last_report, { prefix: "" }))}${!d.last_report && d.last_seen_at ? `（最后通信 ${fmtTime(d.last_seen_at + "Z")}）` : ""}</td>
    <td>每${fmtInterval(d.interval_minutes)}</td><td>HJ 212-${esc(d.edition)}</td>
    <td>${m.role === "admin" ? `<button data-mn="${esc(d.mn)}" data-active="${d.active}">${d.active ? "停用" : "启用"}</button>` : ""}</td></tr>`).join("");
}

async function loadRejects() {
  const rows = await api("rejects?limit=100");
  document.querySelector("#rejects tbody").innerHTML = rows.map((r) => `<tr><td>${fmtTime(r.received_at + "Z")}</td>
    <td>${esc(r.peer || "")}</td><td>${esc(r.mn || "未知")}</td><td>${esc(r.reason)}${r.detail ? "：" + esc(r.detail) : ""}</td>
    <td><code>${esc(r.preview.slice(0, 80))}</code></td></tr>`).join("");
}

if (m) {
  document.getElementById("status").addEventListener("change", loadDevices);
  if (m.role === "admin") {
    document.getElementById("admin-panel").hidden = false;
    document.getElementById("devices").addEventListener("click", async (ev) => {
      const b = ev.target.closest("button[data-mn]");
      if (!b) return;
      await api("devices/" + b.dataset.mn, { method: "PATCH", body: { active: b.dataset.active !== "true" } });
      loadDevices();
    });
    document.getElementById("add-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = document.getElementById("add-error");
      err.textContent = "";
      const v = (k) => document.getElementById(k).value.trim();
      try {
        await api("devices", { method: "POST", body: { mn: v("mn"), pw: v("pw"), st: v("st"), site_code: v("site_code") || null, edition: v("edition"), group: v("group") || null, sm4_key: v("sm4_key") || null, report_interval: v("report_interval") ? Number(v("report_interval")) : null } });
        ev.target.reset();
        loadDevices();
      } catch (e) { err.textContent = e.message; }
    });
  }
  await loadDevices();
  await loadRejects();
}
