// The caller's in-app inbox: newest first, mark one or all read; the header's unread count
// follows.
import { api, esc, fmtTime, header, refreshUnread } from "./common.js";

const PAGE = 50;
const REGISTRY_TYPES = ["region", "org_unit", "enterprise", "site", "permit", "device"];
const m = await header("inbox");
let oldest = null;

function related(msg) {
  if (!msg.entity_type) return "—";
  if (msg.entity_type === "registry_import") return '<a href="registry">登记表导入</a>';
  if (REGISTRY_TYPES.includes(msg.entity_type)) {
    return `<a href="registry-item?type=${msg.entity_type}&key=${encodeURIComponent(msg.entity_id)}">${esc(msg.entity_id)}</a>`;
  }
  return esc(`${msg.entity_type} ${msg.entity_id ?? ""}`);
}

function row(msg) {
  return `<tr data-id="${msg.id}" class="${msg.read ? "" : "unread"}"><td>${esc(fmtTime(msg.created_at + "Z"))}</td>
    <td>${esc(msg.subject)}</td><td class="wrap">${esc(msg.body)}</td><td>${related(msg)}</td>
    <td>${msg.read ? "已读" : '<button class="mark">标为已读</button>'}</td></tr>`;
}

async function load(more = false) {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (document.getElementById("unread-only").checked) q.set("unread_only", "true");
  if (more && oldest !== null) q.set("before_id", String(oldest));
  const data = await api("inbox?" + q);
  const body = document.querySelector("#messages tbody");
  const html = data.messages.map(row).join("");
  if (more) body.insertAdjacentHTML("beforeend", html); else body.innerHTML = html || '<tr><td colspan="5">没有消息</td></tr>';
  if (data.messages.length) oldest = data.messages[data.messages.length - 1].id;
  document.getElementById("more").hidden = data.messages.length < PAGE;
  document.getElementById("unread-line").textContent = `未读 ${data.unread} 条`;
  refreshUnread(data.unread);
}

if (m) {
  const err = document.getElementById("inbox-error");
  document.querySelector("#messages tbody").addEventListener("click", async (ev) => {
    if (!ev.target.classList.contains("mark")) return;
    const tr = ev.target.closest("tr");
    try {
      const msg = await api(`inbox/${tr.dataset.id}/read`, { method: "POST" });
      tr.outerHTML = row(msg);
      await load();
    } catch (e) { err.textContent = e.message; }
  });
  document.getElementById("read-all").addEventListener("click", async () => {
    try { await api("inbox/read-all", { method: "POST" }); await load(); } catch (e) { err.textContent = e.message; }
  });
  document.getElementById("unread-only").addEventListener("change", () => load());
  document.getElementById("more").addEventListener("click", () => load(true));
  await load();
}
