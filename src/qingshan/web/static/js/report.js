// A grid member's report from the field, phone-sized: what was found, where (the phone's
// position or typed in), a photo. Without signal the report is kept as a draft on the phone
// (localStorage, photo included) and sent later; a draft leaves the phone only once the
// platform has stored both the case and its photo.
import { api, ApiError, esc, header, todayCst, whoami } from "./common.js";

const KEY = "qingshan.report.drafts";
const MAX_PHOTO = 3 * 1024 * 1024; // what a draft can hold on the phone

const m = await header("report");
const $ = (id) => document.getElementById(id);

function drafts() {
  try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch { return []; }
}
function saveDrafts(list) {
  localStorage.setItem(KEY, JSON.stringify(list));
  $("drafts-panel").hidden = list.length === 0;
  $("drafts-count").textContent = `${list.length} 条草稿待发送`;
}

function readPhoto(file) {
  return new Promise((ok, fail) => {
    const r = new FileReader();
    r.onload = () => ok({ name: file.name, type: file.type, data: r.result });
    r.onerror = () => fail(new Error("无法读取照片"));
    r.readAsDataURL(file);
  });
}

function today() {
  return todayCst();
}

class Offline extends Error {}

// The stored data URL back to bytes (not through fetch: the page's CSP admits no data: URLs)
function toBlob(dataUrl) {
  const [head, b64] = dataUrl.split(",", 2);
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: head.slice(5).split(";")[0] });
}

// Send one report: the case, then its photo. A network failure is "offline" (keep the draft);
// a refusal by the platform is shown and the draft is kept for correction.
async function send(d) {
  let c = d.code ? { code: d.code } : null;
  if (!c) {
    try {
      c = await api("cases", { method: "POST", body: d.body });
    } catch (e) {
      if (e instanceof TypeError || (e instanceof ApiError && e.status === 0)) throw new Offline();
      throw e;
    }
    d.code = c.code; // the case exists: a retry only sends the photo
  }
  const me = await whoami();
  const blob = toBlob(d.photo.data);
  const params = new URLSearchParams({ file_name: d.photo.name, entity_type: "case", entity_id: c.code, evidence: "photo" });
  let r;
  try {
    r = await fetch("api/v1/attachments?" + params.toString(), { method: "POST", credentials: "same-origin", body: blob,
      headers: { Accept: "application/json", "Content-Type": "application/octet-stream", "X-CSRF-Token": me.csrf_token || "" } });
  } catch { throw new Offline(); }
  if (r.status !== 201) { const x = await r.json().catch(() => ({})); throw new ApiError(r.status, x.detail); }
  return c.code;
}

// One sending at a time: the "online" event and the button may both ask for it.
let sending = null;
function sendDrafts() {
  if (!sending) sending = sendAll().finally(() => { sending = null; });
  return sending;
}

async function sendAll() {
  const list = drafts();
  const left = [];
  const sent = [];
  for (const d of list) {
    try { sent.push(await send(d)); } catch (e) {
      left.push(d);
      if (!(e instanceof Offline)) $("r-error").textContent = e.message;
    }
  }
  saveDrafts(left);
  if (sent.length) $("r-result").innerHTML = `已发送：${sent.map((c) => `<a href="case?code=${encodeURIComponent(c)}">${esc(c)}</a>`).join("、")}`;
  else if (left.length) $("r-result").textContent = "仍无信号，草稿保留在本机";
}

if (m) {
  saveDrafts(drafts());
  $("r-locate").addEventListener("click", () => {
    if (!navigator.geolocation) { $("r-error").textContent = "本设备不能定位，请填写经纬度"; return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => { $("r-lon").value = pos.coords.longitude.toFixed(6); $("r-lat").value = pos.coords.latitude.toFixed(6); },
      () => { $("r-error").textContent = "定位失败，请填写经纬度"; }, { timeout: 10000 });
  });
  $("report-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("r-error").textContent = "";
    $("r-result").textContent = "";
    const file = $("r-photo").files[0];
    if (!file) { $("r-error").textContent = "请拍摄或选择现场照片"; return; }
    if (file.size > MAX_PHOTO) { $("r-error").textContent = "照片超过 3 MB，请降低分辨率后重拍"; return; }
    const lon = $("r-lon").value.trim(), lat = $("r-lat").value.trim();
    const body = { origin: "grid_patrol", title: $("r-title").value.trim(), category: $("r-category").value,
      description: $("r-description").value.trim() || null, address: $("r-address").value.trim() || null,
      received_on: today(), longitude: lon ? Number(lon) : null, latitude: lat ? Number(lat) : null };
    const d = { body, photo: await readPhoto(file), saved_at: new Date().toISOString() };
    try {
      if (!navigator.onLine) throw new Offline();
      const code = await send(d);
      $("r-result").innerHTML = `已上报：<a href="case?code=${encodeURIComponent(code)}">${esc(code)}</a>`;
      $("report-form").reset();
    } catch (e) {
      if (e instanceof Offline) {
        saveDrafts([...drafts(), d]);
        $("r-result").textContent = "无信号：已保存为草稿，有信号后点击“发送草稿”";
        $("report-form").reset();
      } else { $("r-error").textContent = e.message; }
    }
  });
  $("send-drafts").addEventListener("click", sendDrafts);
  window.addEventListener("online", sendDrafts);
}
