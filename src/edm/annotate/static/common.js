// What every part of edm annotate's page shares: the label colours, the API call, the toast.
export const COLOURS = {
  intro: "#4fc3f7", buildup: "#ffb74d", drop: "#e57373", breakdown: "#81c784",
  breakbuild: "#ba68c8", outro: "#90a4ae", unlabeled: "#757575",
};
export const BANDS = [
  { waveColor: "rgba(229,115,115,0.85)", progressColor: "rgba(160,70,70,0.85)" }, // low
  { waveColor: "rgba(255,213,79,0.65)", progressColor: "rgba(170,140,40,0.65)" }, // mid
  { waveColor: "rgba(100,181,246,0.6)", progressColor: "rgba(60,120,170,0.6)" }, // high
].map((band) => ({ ...band, overlay: true }));
export const UNSURE = 0.5;
export const $ = (selector) => document.querySelector(selector);

export async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
    credentials: "same-origin",
  });
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = new Error((body && body.error) || `${response.status}`);
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return { body, etag: response.headers.get("ETag") };
}

export function toast(text, bad = false) {
  const node = $("#toast");
  node.textContent = text;
  node.className = bad ? "bad" : "";
}

export const clock = (t) => `${Math.floor(t / 60)}:${(t % 60).toFixed(2).padStart(5, "0")}`;
export const q = (id) => encodeURIComponent(id);
