// Shared helpers of every page: API calls (with the CSRF header), the page header, formatting.
let me = null;

export async function whoami() {
  if (me) return me;
  const r = await fetch("api/v1/auth/me", { credentials: "same-origin" });
  me = await r.json();
  return me;
}

export class ApiError extends Error {
  constructor(status, detail) { super(typeof detail === "string" ? detail : JSON.stringify(detail)); this.status = status; }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    const m = await whoami();
    if (m.csrf_token) headers["X-CSRF-Token"] = m.csrf_token;
    headers["Content-Type"] = "application/json";
  }
  const r = await fetch("api/v1/" + path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401 && !location.pathname.endsWith("/login")) {
    location.href = "login?next=" + encodeURIComponent(location.pathname.split("/").pop() + location.search);
    throw new ApiError(401, "需要登录");
  }
  if (r.status === 204) return null;
  const data = await r.json();
  if (!r.ok) throw new ApiError(r.status, data.detail);
  return data;
}

export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

const NAV = [
  ["./", "驾驶舱", "cockpit"], ["map", "一张图", "map"], ["query", "数据查询", "query"],
  ["devices", "设备管理", "devices"], ["sources", "污染源监管", "sources"],
  ["warnings", "重污染预警", "warnings"], ["cases", "案件督办", "cases"],
  ["plans", "规划指标", "plans"], ["registry", "登记管理", "registry"],
  ["public", "信息公开", "public"],
];
// Pages only some roles may use (the registry is the bureau's: administrators and staff edit,
// leaders read).
const NAV_ROLES = {
  registry: ["admin", "staff", "leader"],
  plans: ["admin", "staff", "unit", "grid", "leader"],
  cases: ["admin", "staff", "unit", "grid", "leader", "enterprise"],
};

export async function header(active, { requireLogin = true } = {}) {
  const m = await whoami();
  if (requireLogin && !m.authenticated) {
    location.href = "login?next=" + encodeURIComponent(location.pathname.split("/").pop() + location.search);
    return null;
  }
  const el = document.createElement("header");
  el.className = "top";
  const links = NAV.filter(([, , key]) => m.role !== "enterprise" || key !== "cockpit")
    .filter(([, , key]) => !NAV_ROLES[key] || NAV_ROLES[key].includes(m.role))
    .map(([href, label, key]) => `<a href="${href}" class="${key === active ? "active" : ""}">${label}</a>`).join("");
  const inbox = m.authenticated
    ? `<a href="inbox" id="nav-inbox" class="${active === "inbox" ? "active" : ""}">消息<span class="badge" id="unread" hidden></span></a>` : "";
  el.innerHTML = `<div class="brand">青山 · 生态环境监管平台</div><nav>${links}${inbox}</nav>
    <div class="user">${m.authenticated ? `<span id="who">${esc(m.username)}（${esc(m.role_label)}）</span>
    <button id="logout">退出</button>` : `<a href="login">登录</a>`}</div>`;
  document.body.prepend(el);
  const btn = el.querySelector("#logout");
  if (btn) btn.addEventListener("click", async () => { await api("auth/logout", { method: "POST" }); location.href = "login"; });
  if (m.authenticated && active !== "inbox") {
    api("inbox?unread_only=true&limit=1").then((d) => refreshUnread(d.unread)).catch(() => {});
  }
  return m;
}

// The header's unread-message count (hidden at zero).
export function refreshUnread(n) {
  const b = document.getElementById("unread");
  if (!b) return;
  b.textContent = String(n);
  b.hidden = !n;
}

export function isoLocal(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// Browser-local datetime-local value → ISO 8601 with the browser's offset.
export function withOffset(local) {
  const d = new Date(local);
  return d.toISOString();
}

export const KIND_LABELS = {
  air_station: "环境空气质量监测站", surface_water_section: "地表水监测断面",
  drinking_water_source: "集中式饮用水水源地", groundwater_point: "地下水监测点",
  noise_station: "声环境质量监测点", enterprise_outlet: "排放口",
};
