const form = document.getElementById("login-form");
const err = document.getElementById("error");
if (new URLSearchParams(location.search).get("changed")) {
  err.insertAdjacentHTML("beforebegin", '<p class="done" id="changed">密码已修改，请用新密码登录。</p>');
}
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  err.textContent = "";
  const r = await fetch("api/v1/auth/login", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: form.username.value, password: form.password.value }),
  });
  if (!r.ok) {
    const d = await r.json().catch(() => ({}));
    err.textContent = typeof d.detail === "string" ? d.detail : "登录失败";
    return;
  }
  const me = await r.json();
  const next = new URLSearchParams(location.search).get("next");
  // Only same-site relative targets (no open redirect).
  const safe = next && /^[a-z]*(\?[\w=&%.-]*)?$/.test(next) ? next : (me.role === "enterprise" ? "map" : "./");
  location.href = safe || "./";
});
