// 用户管理 (administrators): list, create, edit (name, role, unit, enterprise), disable and
// enable accounts, reset a password (a generated one is shown once). Everything goes through
// /api/v1/users, i.e. services/accounts.py, and is audited there.
import { api, errorMessage, esc, fmtTime, header } from "./common.js";

const $ = (id) => document.getElementById(id);
const m = await header("users");
let users = [];
let roles = [];
let units = [];
let enterprises = [];
let editing = null; // the user being edited, or null for a new one

function binding(u) {
  if (u.unit) return units.find((x) => x.code === u.unit)?.name ?? u.unit;
  if (u.enterprise_id) return enterprises.find((x) => x.id === u.enterprise_id)?.name ?? `企业 ${u.enterprise_id}`;
  return "—";
}

function render() {
  const all = $("show-disabled").checked;
  $("users").querySelector("tbody").innerHTML = users.filter((u) => all || u.active).map((u) => `<tr data-id="${u.id}" class="${u.active ? "" : "inactive"}">
    <td>${esc(u.username)}</td><td>${esc(u.display_name ?? "—")}</td><td>${esc(u.role_label)}</td>
    <td class="wrap">${esc(binding(u))}</td>
    <td><span class="tag ${u.active ? "ok" : "off"}">${u.active ? "正常" : "已停用"}</span></td>
    <td>${u.last_login_at ? fmtTime(u.last_login_at + "Z") : "从未登录"}</td>
    <td class="actions"><button type="button" data-act="edit">编辑</button>
    ${u.username === m.username ? "" : `<button type="button" data-act="${u.active ? "disable" : "enable"}">${u.active ? "停用" : "启用"}</button>`}
    <button type="button" data-act="reset">重置密码</button></td></tr>`).join("");
}

async function load() {
  users = await api("users");
  render();
}

function showBinding() {
  const role = $("u-role").value;
  $("u-unit-label").hidden = role !== "unit";
  $("u-ent-label").hidden = role !== "enterprise";
}

function openEditor(u) {
  editing = u;
  $("edit-error").textContent = "";
  $("editor").hidden = false;
  $("editor-title").textContent = u ? `编辑用户 ${u.username}` : "新建用户";
  $("u-username").value = u ? u.username : "";
  $("u-username").disabled = Boolean(u);
  $("u-display").value = u?.display_name ?? "";
  $("u-role").value = u ? u.role : "staff";
  $("u-unit").value = u?.unit ?? "";
  $("u-enterprise").value = u?.enterprise_id ? String(u.enterprise_id) : "";
  $("u-password").value = "";
  $("u-password-label").hidden = Boolean(u);
  $("u-policy").hidden = Boolean(u);
  showBinding();
  $("editor").scrollIntoView({ block: "start" });
  (u ? $("u-display") : $("u-username")).focus();
}

async function save() {
  $("edit-error").textContent = "";
  const role = $("u-role").value;
  const unit = role === "unit" ? $("u-unit").value || null : null;
  const ent = role === "enterprise" && $("u-enterprise").value ? Number($("u-enterprise").value) : null;
  try {
    if (editing) {
      await api(`users/${editing.id}`, { method: "PATCH", body: { display_name: $("u-display").value, role, unit, enterprise_id: ent } });
      $("list-done").textContent = `已保存用户 ${editing.username}。`;
    } else {
      const u = await api("users", { method: "POST", body: {
        username: $("u-username").value.trim(), password: $("u-password").value, role, unit, enterprise_id: ent,
        display_name: $("u-display").value.trim() || null,
      } });
      $("list-done").textContent = `已新建用户 ${u.username}。`;
    }
    $("editor").hidden = true;
    await load();
  } catch (e) { $("edit-error").textContent = errorMessage(e); }
}

async function act(u, what) {
  $("list-error").textContent = "";
  $("list-done").textContent = "";
  $("one-time").hidden = true;
  try {
    if (what === "edit") { openEditor(u); return; }
    if (what === "disable" || what === "enable") {
      if (what === "disable" && !confirm(`停用用户 ${u.username}？其登录会话立即结束，API 令牌停止使用。`)) return;
      await api(`users/${u.id}`, { method: "PATCH", body: { active: what === "enable" } });
      await load();
      $("list-done").textContent = `${what === "disable" ? "已停用" : "已启用"}用户 ${u.username}。`;
      return;
    } else if (what === "reset") {
      if (!confirm(`重置用户 ${u.username} 的密码？将生成一个临时密码，其登录会话结束，API 令牌全部吊销。`)) return;
      const r = await api(`users/${u.id}/reset-password`, { method: "POST", body: {} });
      const box = $("one-time");
      box.innerHTML = `用户 <b>${esc(u.username)}</b> 的临时密码：<code id="one-time-password">${esc(r.password)}</code>
        <span class="muted">只显示这一次。请当面或电话告知本人，并请其登录后在“账户设置”中修改。</span>`;
      box.hidden = false;
    }
    await load();
  } catch (e) { $("list-error").textContent = errorMessage(e); }
}

if (m) {
  try {
    [roles, units, enterprises] = await Promise.all([
      api("users/roles"), api("registry/units").catch(() => []), api("registry/enterprises").catch(() => []),
    ]);
    $("u-role").innerHTML = roles.map((r) => `<option value="${r.role}">${esc(r.label)}</option>`).join("");
    $("u-unit").insertAdjacentHTML("beforeend", units.map((u) => `<option value="${esc(u.code)}">${esc(u.name)}</option>`).join(""));
    $("u-enterprise").insertAdjacentHTML("beforeend", enterprises.map((e) => `<option value="${e.id}">${esc(e.name)}</option>`).join(""));
    await load();
  } catch (e) { $("list-error").textContent = errorMessage(e); }
  $("show-disabled").addEventListener("change", render);
  $("new-user").addEventListener("click", () => openEditor(null));
  $("u-role").addEventListener("change", showBinding);
  $("u-save").addEventListener("click", save);
  $("u-cancel").addEventListener("click", () => { $("editor").hidden = true; });
  $("users").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-act]");
    if (!b) return;
    const u = users.find((x) => x.id === Number(b.closest("tr").dataset.id));
    if (u) act(u, b.dataset.act);
  });
}
