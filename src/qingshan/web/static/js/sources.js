// The supervision board: exceeding now, offline now, hints, episodes to confirm, the month's
// validity ranking. Enterprise users see their own enterprise only (the API scopes it).
import { api, esc, header } from "./common.js";

const m = await header("sources");
const pct = (x) => (x === null || x === undefined ? "不考核" : (x * 100).toFixed(2) + "%");
const t = (iso) => (iso ? esc(iso.slice(0, 16).replace("T", " ")) : "—");
const ent = (e) => `<a href="enterprise?code=${encodeURIComponent(e.credit_code ?? "")}">${esc(e.enterprise ?? e.name)}</a>`;

async function load() {
  const b = await api("sources/board");
  document.getElementById("period").textContent = `统计期：${b.from} 起，数据截止 ${b.cutoff.slice(0, 16).replace("T", " ")}（北京时间）`;
  const fill = (id, rows, row) => {
    document.querySelector(`#${id} tbody`).innerHTML = rows.length ? rows.map(row).join("") : `<tr><td colspan="9" class="muted">无</td></tr>`;
  };
  fill("exceeding", b.exceeding, (e) => `<tr><td>${esc(e.enterprise)}</td><td>${esc(e.outlet)}</td><td>${esc(e.pollutant)}</td><td>${t(e.start)}</td><td>${e.periods}</td><td>${esc(e.peak)}</td><td>${esc(e.limit)} ${esc(e.unit)}</td></tr>`);
  fill("offline", b.offline, (e) => `<tr><td>${esc(e.enterprise)}</td><td>${esc(e.outlet)}</td><td>${t(e.start)}</td><td>${e.periods}</td></tr>`);
  fill("suspicious", b.suspicious, (e) => `<tr><td>${esc(e.enterprise)}</td><td>${esc(e.outlet)}</td><td>${esc(e.kind_label)}</td><td>${esc(e.pollutant)}</td><td>${t(e.start)}</td><td>${e.periods}</td><td>${esc(e.peak)}</td></tr>`);
  const canConfirm = ["admin", "staff"].includes(m.role);
  fill("to-confirm", b.to_confirm, (e) => `<tr><td>${e.id}</td><td>${esc(e.enterprise)}</td><td>${esc(e.outlet)}</td><td>${esc(e.kind_label)}</td><td>${t(e.start)}</td><td>${t(e.end)}</td>
    <td>${canConfirm ? `<input data-note="${e.id}" placeholder="核实情况"><button data-confirm="${e.id}">确认关闭</button>` : ""}</td></tr>`);
  fill("ranking", b.ranking, (r) => `<tr><td>${ent(r)}</td><td>${pct(r.transmission_rate)}</td><td>${pct(r.validity_rate)}</td><td>${pct(r.effective_transmission_rate)}</td><td>${r.exceedance_hours}</td><td>${r.exceedance_days}</td></tr>`);
}

async function loadEmissions() {
  const share = (x) => (x === null ? "—" : (Number(x) * 100).toFixed(2) + "%");
  const status = document.getElementById("em-status");
  try {
    const e = await api("sources/emissions");
    document.getElementById("em-year").textContent = e.year;
    status.textContent = `本年 1 月 1 日至 ${e.cutoff.slice(0, 16).replace("T", " ")}（北京时间）；已用比例只计有许可排放量的企业。`;
    document.querySelector("#regions tbody").innerHTML = e.regions.length ? e.regions.map((r) => `<tr>
      <td>${esc(r.region_name ?? r.region ?? "—")}</td><td>${esc(r.pollutant)}</td><td>${r.enterprises}</td><td>${esc(r.emitted_t)}</td>
      <td>${esc(r.permitted_t ?? "未核定")}</td><td>${share(r.share)}</td><td>${esc(r.projected_t ?? "—")}</td><td>${r.over}</td></tr>`).join("")
      : `<tr><td colspan="8" class="muted">无</td></tr>`;
  } catch (err) { status.textContent = err.message; }
}

if (m) {
  loadEmissions();
  document.getElementById("to-confirm").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-confirm]");
    if (!b) return;
    const err = document.getElementById("confirm-error");
    err.textContent = "";
    const note = document.querySelector(`input[data-note="${b.dataset.confirm}"]`).value.trim();
    try {
      await api(`sources/alarms/${b.dataset.confirm}/confirm`, { method: "POST", body: { note } });
      await load();
    } catch (e) { err.textContent = note ? e.message : "请填写核实情况"; }
  });
  await load();
}
