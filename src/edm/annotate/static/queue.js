// The review queue: the tracks with their status and confidence, filtered, the open one marked.
import { $ } from "/static/common.js";

export function renderQueue(page, counts, openTrack) {
  if (counts) {
    for (const button of document.querySelectorAll("#filters button")) {
      const key = button.dataset.filter;
      const label = button.textContent.replace(/ \(\d+\)$/, "");
      button.textContent = key === "all" ? `${label} (${page.tracks.length})` : `${label} (${counts[key] || 0})`;
    }
  }
  const list = $("#tracks");
  list.replaceChildren();
  for (const track of page.tracks) {
    if (page.filter !== "all" && track.status !== page.filter) continue;
    const item = document.createElement("li");
    item.dataset.id = track.id;
    item.dataset.status = track.status;
    if (page.current === track.id) item.classList.add("current");
    const name = document.createElement("span");
    name.textContent = track.name;
    const badge = document.createElement("span");
    badge.className = `badge ${track.status}`;
    const sure = track.confidence == null ? (track.annotated ? "" : " · new") : ` · ${track.confidence.toFixed(2)}`;
    badge.textContent = track.status.replace("_", " ") + (track.status === "reviewed" ? "" : sure);
    if (track.error) item.title = track.error;
    item.append(name, badge);
    item.addEventListener("click", () => openTrack(track.id));
    list.append(item);
  }
}
