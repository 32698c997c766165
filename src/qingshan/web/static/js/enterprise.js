// 一企一档: registry data, outlets with the month's rates, permit and limits, episodes.
import { api, esc, header } from "./common.js";

const m = await header("sources");
const pct = (x) => (x === null || x === undefined ? "不考核" : (x * 100).toFixed(2) + "%");
const t = (iso) => (iso ? esc(iso.slice(0, 16).replace("T", " ")) : "—");

async function load() {
  const code = new URLSearchParams(location.search).get("code") || "";
  let d;
  try {
    d = await api("sources/enterprises/" + encodeURIComponent(code));
  } catch (e) {
    document.getElementById("load-error").textContent = e.status === 404 ? "没有这家企业，或无权查看。" : e.message;
    return;
  }
  document.getElementById("dossier").hidden = false;
  const e = d.enterprise;
  document.getElementById("ent-name").textContent = e.name;
  const info = [["统一社会信用代码", e.credit_code], ["所在区划", e.region], ["行业", `${e.industry ?? ""} ${e.industry_code ?? ""}`],
    ["重点源级别", e.control_level], ["排污许可管理类别", e.permit_class], ["重点排污单位", e.key_discharger ? "是" : "否"],
    ["地址", e.address], ["法定代表人", e.legal_representative], ["环保负责人", e.env_contact], ["联系电话", e.phone]];
  document.querySelector("#ent-info tbody").innerHTML = info.map(([k, v]) => `<tr><th>${k}</th><td>${esc(v ?? "—")}</td></tr>`).join("");
  document.getElementById("period").textContent = `${d.from} 起`;
  const outlets = d.stats ? d.stats.outlets : [];
  document.querySelector("#outlets tbody").innerHTML = outlets.map((o) => `<tr><td>${esc(o.code)} ${esc(o.name)}</td>
    <td>${o.medium === "gas" ? "废气" : "废水"}</td><td>${esc(o.mns.join(", "))}</td><td>${esc(o.pollutants.join(", "))}</td>
    <td>${pct(o.transmission_rate)}</td><td>${pct(o.validity_rate)}</td><td>${pct(o.effective_transmission_rate)}</td>
    <td>${o.medium === "gas" ? o.exceedance_hours + " 小时" : o.exceedance_days + " 天"}</td></tr>`).join("");
  document.querySelector("#limits tbody").innerHTML = d.permits.flatMap((p) => p.limits.map((l) => `<tr><td>${esc(p.number)}</td>
    <td>${esc(p.valid_from)} – ${esc(p.valid_to ?? "长期")}</td><td>${esc(l.pollutant)}</td><td>${esc(l.lower ? l.lower + "–" : "")}${esc(l.limit)}</td>
    <td>${esc(l.unit)}</td><td>${esc(l.basis)}</td><td>${esc(l.o2_ref ?? "—")}</td><td>${esc(l.standard)}</td></tr>`)).join("");
  const share = (x) => (x === null ? "—" : (Number(x) * 100).toFixed(2) + "%");
  document.getElementById("em-year").textContent = d.emissions.year;
  document.querySelector("#emissions tbody").innerHTML = d.emissions.pollutants.length ? d.emissions.pollutants.map((u) => `<tr class="${u.over ? "over" : ""}">
    <td>${esc(u.pollutant)}</td><td>${esc(u.month_t ?? "—")}</td><td>${esc(u.emitted_t)}</td><td>${esc(u.permitted_t ?? "未核定")}</td>
    <td>${share(u.share)}</td><td>${esc(u.projected_t ?? "—")}</td><td>${share(u.projected_share)}${u.over ? "（预计超许可）" : ""}</td>
    <td>${u.missing_hours}</td></tr>`).join("") : `<tr><td colspan="8" class="muted">无</td></tr>`;
  document.querySelector("#episodes tbody").innerHTML = d.episodes.length ? d.episodes.map((x) => `<tr><td>${x.id}</td><td>${esc(x.outlet)}</td>
    <td>${esc(x.kind_label)}</td><td>${esc(x.pollutant ?? "")}</td><td>${t(x.start)}</td><td>${t(x.end)}</td><td>${esc(x.peak ?? "")}</td>
    <td>${esc(x.limit ?? "")}</td><td>${esc(x.status_label)}</td></tr>`).join("") : `<tr><td colspan="9" class="muted">无</td></tr>`;
}

if (m) await load();
