// Shared helpers of every page: API calls (with the CSRF header), the page header, formatting.
let me = null;

export async function whoami() {
  if (me) return me;
  const r = await fetch("api/v1/auth/me", { credentials: "same-origin" });
  me = await r.json();
  return me;
}

// What the user reads when a request fails: the server's message when it is Chinese (the
// services' messages are), else a Chinese sentence for the status; never a raw English or
// JSON error. The server's own text stays in .detail (for the console and tests).
const STATUS_TEXT = {
  0: "无法连接服务器，请检查网络后重试", 400: "请求有误", 401: "需要登录", 403: "没有权限进行此操作",
  404: "未找到所请求的内容", 409: "数据已被修改或有冲突，请刷新后重试", 413: "文件或请求过大",
  422: "输入有误，请检查后重试", 429: "操作过于频繁，请稍后再试", 500: "服务器内部错误，请稍后重试",
  502: "服务暂时不可用，请稍后重试", 503: "服务暂时不可用，请稍后重试", 504: "服务器响应超时，请稍后重试",
};
const CJK = /[\u3400-\u9fff]/;

export function errorText(status, detail) {
  if (typeof detail === "string" && CJK.test(detail)) return detail;
  if (detail && typeof detail.message === "string" && CJK.test(detail.message)) return detail.message;
  if (Array.isArray(detail)) {
    const own = detail.map((e) => e && e.msg).filter((t) => typeof t === "string" && CJK.test(t));
    if (own.length) return own.join("；");
    const fields = [...new Set(detail.map((e) => (e && Array.isArray(e.loc) ? e.loc[e.loc.length - 1] : null)).filter((f) => f !== null && f !== undefined))];
    return `输入有误${fields.length ? "（" + fields.join("、") + "）" : ""}，请检查后重试`;
  }
  return STATUS_TEXT[status] ?? (status >= 500 ? STATUS_TEXT[500] : `请求失败（${status}）`);
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(errorText(status, detail));
    this.status = status;
    this.detail = detail;
  }
}

// Any caught error as a Chinese sentence (ApiError, a failed fetch, a script error).
export function errorMessage(e) {
  if (e instanceof ApiError) return e.message;
  if (e && typeof e.message === "string" && CJK.test(e.message)) return e.message;
  return e instanceof TypeError ? STATUS_TEXT[0] : "操作失败，请稍后重试";
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    const m = await whoami();
    if (m.csrf_token) headers["X-CSRF-Token"] = m.csrf_token;
    headers["Content-Type"] = "application/json";
  }
  let r;
  try {
    r = await fetch("api/v1/" + path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, String(e));
  }
  if (r.status === 401 && !location.pathname.endsWith("/login")) {
    toLogin();
    throw new ApiError(401, "需要登录");
  }
  if (r.status === 204) return null;
  let data;
  try {
    data = await r.json();
  } catch {
    if (!r.ok) throw new ApiError(r.status, null);
    throw new ApiError(502, "服务器返回的数据无法读取");
  }
  if (!r.ok) throw new ApiError(r.status, data.detail);
  return data;
}

// A loader fired again before its last answer came (a control changed twice, a form saved
// while the board was still loading) may see the answers return out of order; only the most
// recent call may draw. Each call of the returned function takes a turn; `current()` says
// whether that turn is still the newest.
export function newestOnly() {
  let turn = 0;
  return () => { const mine = ++turn; return () => mine === turn; };
}

export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Times for people are 北京时间 (Asia/Shanghai, UTC+8, no daylight saving), whatever the
// browser's own zone. API times with an offset (or "Z") are converted; times without one are
// China Standard Time already (as the API documents). Callers holding a naive UTC value append
// "Z" (fmtTime(x + "Z")).
const CST_PARTS = new Intl.DateTimeFormat("en-CA", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});
const HAS_ZONE = /(Z|[+-]\d\d:?\d\d)$/i;

export function parseTime(iso) {
  if (iso instanceof Date) return iso;
  if (typeof iso === "number") return new Date(iso);
  const s = String(iso).trim().replace(" ", "T");
  if (HAS_ZONE.test(s)) return new Date(s);
  if (/^\d{4}-\d\d-\d\d$/.test(s)) return new Date(s + "T00:00+08:00");
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(s)) return new Date(s + "+08:00");
  return new Date(s);
}

function cstParts(d) {
  const o = {};
  for (const p of CST_PARTS.formatToParts(d)) o[p.type] = p.value;
  return o;
}

export function fmtTime(iso, { seconds = false } = {}) {
  if (iso === null || iso === undefined || iso === "") return "—";
  const d = parseTime(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = cstParts(d);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}${seconds ? ":" + p.second : ""}`;
}

// "最后上报 9天前（2026-03-01 08:00）" from the latest stored data time; 从未上报 only when a
// device has no stored data at all.
export function fmtAgo(iso, { prefix = "最后上报 ", now = Date.now() } = {}) {
  if (!iso) return "从未上报";
  const ms = now - parseTime(iso).getTime();
  const min = Math.floor(ms / 60000);
  const ago = min < 1 ? "刚刚" : min < 60 ? `${min}分钟前` : min < 1440 ? `${Math.floor(min / 60)}小时前` : `${Math.floor(min / 1440)}天前`;
  return `${prefix}${ago}（${fmtTime(iso)}）`;
}

export function fmtInterval(minutes) {
  if (!minutes) return "—";
  return minutes % 60 ? `${minutes}分钟` : `${minutes / 60}小时`;
}

export function fmtDate(iso) {
  if (!iso) return "—";
  const p = cstParts(parseTime(iso));
  return `${p.year}-${p.month}-${p.day}`;
}

const NAV = [
  ["./", "驾驶舱", "cockpit"], ["map", "一张图", "map"], ["query", "数据查询", "query"],
  ["devices", "设备管理", "devices"], ["sources", "污染源监管", "sources"],
  ["warnings", "重污染预警", "warnings"], ["cases", "案件督办", "cases"],
  ["report", "巡查上报", "report"], ["plans", "规划指标", "plans"], ["reports", "报告", "reports"], ["registry", "登记管理", "registry"],
  ["users", "用户管理", "users"], ["public", "信息公开", "public"],
];
// Pages only some roles may use (the registry is the bureau's: administrators and staff edit,
// leaders read; the phone report page is the grid members' own entry, the bureau reaches it
// from 案件督办; reports are the bureau's and its leaders'; accounts are the administrators').
const NAV_ROLES = {
  registry: ["admin", "staff", "leader"],
  plans: ["admin", "staff", "unit", "grid", "leader"],
  cases: ["admin", "staff", "unit", "grid", "leader", "enterprise"],
  report: ["grid"],
  reports: ["admin", "staff", "leader"],
  users: ["admin"],
};

const NAV_PARENT = { report: "cases" };

const NARROW = "(max-width: 768px)";

function toLogin() {
  location.href = "login?next=" + encodeURIComponent(location.pathname.split("/").pop() + location.search);
}

// The page header: brand, navigation (a drawer behind the ☰ button at ≤ 768 px), the user's
// name (linking to 账户设置) and 退出. Also switches on the shared phone mechanisms: tables
// with a <thead> become cards, and side panels become drawers (see enhance()).
export async function header(active, { requireLogin = true } = {}) {
  const m = await whoami();
  if (requireLogin && !m.authenticated) {
    toLogin();
    return null;
  }
  const el = document.createElement("header");
  el.className = "top";
  const shown = NAV.filter(([, , key]) => m.role !== "enterprise" || key !== "cockpit")
    .filter(([, , key]) => !NAV_ROLES[key] || NAV_ROLES[key].includes(m.role))
    .filter(([, , key]) => m.authenticated || key === "public");
  // A page outside the role's navigation lights its parent entry (the bureau reaches the
  // phone report page from 案件督办).
  if (!shown.some(([, , key]) => key === active) && NAV_PARENT[active]) active = NAV_PARENT[active];
  const links = shown
    .map(([href, label, key]) => `<a href="${href}" data-nav="${key}" class="${key === active ? "active" : ""}"${key === active ? ' aria-current="page"' : ""}>${label}</a>`).join("");
  const inbox = m.authenticated
    ? `<a href="inbox" id="nav-inbox" data-nav="inbox" class="${active === "inbox" ? "active" : ""}">消息<span class="badge" id="unread" hidden></span></a>` : "";
  el.innerHTML = `<a class="brand" href="${m.authenticated ? (m.role === "enterprise" ? "map" : "./") : "public"}">青山<span class="brand-long"> · 生态环境监管平台</span></a>
    <button type="button" class="nav-toggle" id="nav-toggle" aria-controls="nav-drawer" aria-expanded="false" aria-label="菜单">☰</button>
    <div class="nav-drawer" id="nav-drawer"><nav aria-label="主导航">${links}${inbox}</nav>
    <div class="user">${m.authenticated ? `<a id="who" href="account" data-nav="account" class="${active === "account" ? "active" : ""}">${esc(m.username)}（${esc(m.role_label)}）</a>
    <button type="button" id="logout">退出</button>` : `<a href="login" data-nav="login">登录</a>`}</div></div>`;
  document.body.prepend(el);
  const toggle = el.querySelector("#nav-toggle");
  const setOpen = (open) => {
    el.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "✕" : "☰";
    document.body.classList.toggle("nav-open", open);
  };
  toggle.addEventListener("click", () => setOpen(!el.classList.contains("open")));
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") setOpen(false); });
  window.matchMedia(NARROW).addEventListener("change", () => setOpen(false));
  const btn = el.querySelector("#logout");
  if (btn) btn.addEventListener("click", async () => { await api("auth/logout", { method: "POST" }); location.href = "login"; });
  if (m.authenticated && active !== "inbox") {
    api("inbox?unread_only=true&limit=1").then((d) => refreshUnread(d.unread)).catch(() => {});
  }
  enhance();
  return m;
}

// Tables as cards on a phone: every <table> with a <thead> (not class "no-cards") gets the
// class "cards-table" and each body cell a data-label with its column's heading, which the
// stylesheet shows beside the value at ≤ 768 px. Tables rendered later are labelled too.
export function labelTable(table) {
  if (table.classList.contains("no-cards")) return;
  const heads = [...table.querySelectorAll(":scope > thead > tr:last-child > th")].map((th) => th.textContent.trim());
  if (!heads.length) return;
  table.classList.add("cards-table");
  for (const tr of table.querySelectorAll(":scope > tbody > tr")) {
    let col = 0;
    for (const td of tr.children) {
      if (!td.hasAttribute("data-label")) td.setAttribute("data-label", heads[col] ?? "");
      col += td.colSpan || 1;
    }
  }
}

let labelling = false;
function labelAll() {
  labelling = false;
  document.querySelectorAll("main table").forEach(labelTable);
}

// Side panels as drawers on a phone: <aside data-drawer="图层"> (and the map page's layer
// panel) slide in from the right behind a floating button named after data-drawer.
export function drawer(aside, label = aside.dataset.drawer || "图层") {
  if (aside.dataset.drawerReady) return;
  aside.dataset.drawerReady = "1";
  aside.classList.add("drawer");
  if (!aside.id) aside.id = "drawer-" + Math.random().toString(36).slice(2, 8);
  const b = document.createElement("button");
  b.type = "button";
  b.className = "drawer-toggle";
  b.textContent = label;
  b.setAttribute("aria-controls", aside.id);
  b.setAttribute("aria-expanded", "false");
  b.addEventListener("click", () => {
    const open = !aside.classList.contains("open");
    aside.classList.toggle("open", open);
    b.setAttribute("aria-expanded", String(open));
    b.textContent = open ? "关闭" + label : label;
  });
  aside.before(b);
}

export function enhance() {
  document.querySelectorAll("aside[data-drawer], .maplayout > aside").forEach((a) => drawer(a));
  labelAll();
  const main = document.querySelector("main");
  if (!main || main.dataset.observed) return;
  main.dataset.observed = "1";
  new MutationObserver(() => {
    if (!labelling) { labelling = true; requestAnimationFrame(labelAll); }
  }).observe(main, { childList: true, subtree: true });
}

// The header's unread-message count (hidden at zero).
export function refreshUnread(n) {
  const b = document.getElementById("unread");
  if (!b) return;
  b.textContent = String(n);
  b.hidden = !n;
}

// A Date → the value of a datetime-local input, in 北京时间.
export function isoLocal(d) {
  const p = cstParts(d);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

// Today's date (YYYY-MM-DD) and year in 北京时间, whatever the browser's zone.
export function todayCst() {
  return isoLocal(new Date()).slice(0, 10);
}

// A datetime-local input's value (北京时间) → ISO 8601 in UTC.
export function withOffset(local) {
  return new Date(local + (local.length === 16 ? ":00" : "") + "+08:00").toISOString();
}

export const KIND_LABELS = {
  air_station: "环境空气质量监测站", surface_water_section: "地表水监测断面",
  drinking_water_source: "集中式饮用水水源地", groundwater_point: "地下水监测点",
  noise_station: "声环境质量监测点", enterprise_outlet: "排放口",
};

// A measured value as people read it: the server's display text (the factor's reporting
// precision, GB/T 8170 四舍六入五成双; never rounded here) with the exact stored value one
// click, tap or Enter away (and in the title). `prefix` precedes both texts (e.g. "折算 ").
export function valueHtml(shown, stored, prefix = "") {
  const s = shown ?? stored;
  if (s === null || s === undefined) return "—";
  const exact = stored ?? s;
  const same = String(exact) === String(s);
  return `<span class="val${same ? " same" : ""}" tabindex="0" title="存储值：${esc(exact)}" data-exact="${esc(prefix + exact)}" data-shown="${esc(prefix + s)}">${esc(prefix + s)}</span>`;
}

function toggleValue(el) {
  const exact = el.classList.toggle("exact");
  el.textContent = exact ? el.dataset.exact : el.dataset.shown;
}
document.addEventListener("click", (ev) => { // capture: Leaflet popups stop click propagation
  const el = ev.target instanceof Element ? ev.target.closest(".val[data-exact]") : null;
  if (el) toggleValue(el);
}, true);
document.addEventListener("keydown", (ev) => {
  const el = ev.target instanceof Element ? ev.target.closest(".val[data-exact]") : null;
  if (el && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); toggleValue(el); }
}, true);
