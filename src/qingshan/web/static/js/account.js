// 账户设置: who one is, and changing one's own password (old + new, the policy is checked by
// the server: services/accounts.password_problem).
import { api, errorMessage, esc, header } from "./common.js";

const $ = (id) => document.getElementById(id);
const m = await header("account");
if (m) {
  const rows = [["用户名", m.username], ["角色", m.role_label]];
  if (m.unit) rows.push(["所属单位", m.unit]);
  if (m.enterprise_id) rows.push(["所属企业", `编号 ${m.enterprise_id}`]);
  $("me").querySelector("tbody").innerHTML = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("");
  $("password-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("p-error").textContent = "";
    if ($("p-new").value !== $("p-repeat").value) { $("p-error").textContent = "两次输入的新密码不一致"; return; }
    try {
      await api("auth/password", { method: "POST", body: { current: $("p-current").value, new: $("p-new").value } });
      location.href = "login?changed=1";
    } catch (e) { $("p-error").textContent = errorMessage(e); }
  });
}
