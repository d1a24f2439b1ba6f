// edm annotate's page: the review queue, the waveform (wavesurfer.js), the editor and saving.
import WaveSurfer from "/static/vendor/wavesurfer/wavesurfer.esm.js";
import RegionsPlugin from "/static/vendor/wavesurfer/plugins/regions.esm.js";
import TimelinePlugin from "/static/vendor/wavesurfer/plugins/timeline.esm.js";
import ZoomPlugin from "/static/vendor/wavesurfer/plugins/zoom.esm.js";
import MinimapPlugin from "/static/vendor/wavesurfer/plugins/minimap.esm.js";
import { Editor, tapTempo } from "/static/editor.js";
import { $, api, BANDS, clock, COLOURS, q, toast, UNSURE } from "/static/common.js";
import { loadHistory as drawHistory } from "/static/history.js";
import { renderQueue as drawQueue } from "/static/queue.js";

const page = {
  session: null, tracks: [], filter: "all", current: null, etag: null,
  ws: null, regions: null, editor: null, taps: [], ready: false, openedMs: null,
};
window.edmAnnotate = page; // for the browser tests and the curious

// ------------------------------------------------------------------ the queue

const renderQueue = (counts) => drawQueue(page, counts, openTrack);
const loadHistory = () => drawHistory(page, async () => { await loadTracks(); await openTrack(page.current); });

async function loadTracks() {
  const { body } = await api("/api/tracks");
  page.tracks = body.tracks;
  renderQueue(body.counts);
}

// ------------------------------------------------------------------ opening a track

async function openTrack(id) {
  if (page.editor && page.editor.dirty && !confirm("Leave this track? Your changes are not saved.")) return;
  page.current = id;
  page.ready = false;
  page.openedMs = performance.now();
  renderQueue();
  $("#track-title").textContent = id;
  for (const hidden of ["#track-error", "#job", "#conflict"]) $(hidden).hidden = true;
  destroyWave();
  // The track and its peaks are fetched together: the peaks are most of the bytes.
  page.peaks = api(`/api/peaks?id=${q(id)}`);
  page.peaks.catch(() => {}); // a track without audio says so itself
  // The audio's first bytes (its length and format) load meanwhile too, by range requests.
  page.media = new Audio();
  page.media.preload = "metadata";
  page.media.src = `/api/audio?id=${q(id)}`;
  let found;
  try {
    found = await api(`/api/track?id=${q(id)}`);
  } catch (error) {
    showTrackError(error.message);
    return;
  }
  if (!found.body.annotated) {
    await propose(id, found.body.job);
    return;
  }
  page.etag = found.etag;
  await showTrack(found.body);
}

function showTrackError(text) {
  const node = $("#track-error");
  node.textContent = text;
  node.hidden = false;
  page.editor = null;
  renderTable();
}

async function propose(id, job) {
  $("#job").hidden = false;
  try {
    if (!job || job.state === "failed") job = (await api(`/api/propose?id=${q(id)}`, { method: "POST", json: {} })).body;
    while (page.current === id) {
      const { body } = await api(`/api/track?id=${q(id)}`);
      if (body.annotated) { $("#job").hidden = true; await loadTracks(); return openTrack(id); }
      job = body.job || job;
      if (job.state === "failed") throw new Error(job.error);
      $("#job-progress").max = job.total || 1;
      $("#job-progress").value = job.done;
      $("#job-text").textContent = `The model is proposing sections (${job.done}/${job.total || "?"} windows)…`;
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  } catch (error) {
    $("#job").hidden = true;
    showTrackError(`pre-annotation failed: ${error.message}`);
  }
}

async function showTrack(doc) {
  page.doc = doc;
  page.editor = new Editor(doc, () => { renderRegions(); renderTable(); renderFields(); });
  renderMeta(doc);
  renderFields();
  renderTable();
  loadHistory();
  if (!doc.audio) { showTrackError(doc.audio_error || "no audio for this track"); return; }
  const { body: peaks } = await page.peaks;
  const channels = ["low", "mid", "high"].map((band) => peaks[band].map((v) => v / peaks.scale));
  page.regions = RegionsPlugin.create();
  page.ws = WaveSurfer.create({
    container: "#waveform",
    height: 140,
    media: page.media,
    peaks: channels,
    duration: peaks.duration,
    splitChannels: BANDS,
    normalize: false,
    minPxPerSec: Number($("#zoom").value),
    autoCenter: true,
    autoScroll: true,
    cursorColor: "#fff",
    cursorWidth: 2,
    plugins: [
      page.regions,
      TimelinePlugin.create({ container: "#timeline" }),
      ZoomPlugin.create({ scale: 0.25, maxZoom: 400 }),
      MinimapPlugin.create({ container: "#overview", height: 40, splitChannels: BANDS, overlayColor: "rgba(255,255,255,0.12)" }),
    ],
  });
  page.ws.on("ready", () => {
    renderRegions();
    page.ready = true;
    page.openMs = performance.now() - page.openedMs;
    toast(`${doc.id} open in ${Math.round(page.openMs)} ms`);
  });
  page.ws.on("timeupdate", (t) => { $("#clock").textContent = clock(t); });
  page.ws.on("play", () => { $("#play").textContent = "Pause"; });
  page.ws.on("pause", () => { $("#play").textContent = "Play"; });
  page.ws.on("zoom", (px) => { $("#zoom").value = Math.round(px); renderGrid(); });
  page.ws.on("redrawcomplete", renderGrid);
  page.regions.on("region-updated", (region) => {
    if (!region.id.startsWith("b")) return;
    page.editor.moveBoundary(Number(region.id.slice(1)), region.start, quantise());
  });
  page.regions.on("region-clicked", (region) => {
    page.editor.selected = Number(region.id.slice(1)); // the click seeks there too
    renderTable();
  });
}

function renderMeta(doc) {
  const meta = doc.metadata;
  $("#meta").textContent = `${doc.form === "annotator" ? "annotator form" : "edm form"} · tier ${meta.tier} · source ${meta.source}`
    + (meta.proposed_by ? ` · proposed by ${meta.proposed_by}` : "")
    + (meta.verified_by ? ` · verified by ${meta.verified_by}` : "")
    + ` · status ${doc.status.replace("_", " ")}`;
}

function destroyWave() {
  if (page.ws) page.ws.destroy();
  if (page.media) { page.media.pause(); page.media.removeAttribute("src"); page.media = null; }
  page.ws = null;
  page.regions = null;
  $("#overview").replaceChildren();
  $("#timeline").replaceChildren();
}

// ------------------------------------------------------------------ drawing

const quantise = () => $("#quantise").checked;

function renderRegions() {
  if (!page.regions || !page.editor || !page.ws.getDuration()) return;
  page.regions.clearRegions();
  const sections = page.editor.state.sections;
  const end = page.ws.getDuration();
  sections.forEach((section, i) => {
    const next = i + 1 < sections.length ? sections[i + 1].time : end;
    const sure = section.confidence == null ? "" : ` ${section.confidence.toFixed(2)}`;
    page.regions.addRegion({
      id: `s${i}`, start: section.time, end: next, drag: false, resize: false,
      color: `${COLOURS[section.label]}33`, content: `${section.label}${sure}`,
    });
    page.regions.addRegion({ id: `b${i}`, start: section.time, drag: true, color: COLOURS[section.label] });
  });
  renderGrid();
}

function renderGrid() {
  if (!page.ws || !page.editor) return;
  const wrapper = page.ws.getWrapper();
  let grid = wrapper.querySelector(".edm-grid");
  if (!grid) {
    grid = document.createElement("div");
    grid.className = "edm-grid";
    grid.style.cssText = "position:absolute;inset:0;pointer-events:none;z-index:2";
    wrapper.append(grid);
  }
  const pxPerSecond = wrapper.scrollWidth / page.ws.getDuration();
  const beat = page.editor.beatSeconds * pxPerSecond;
  const bar = page.editor.barSeconds * pxPerSecond;
  const offset = (page.editor.state.downbeat * pxPerSecond) % bar;
  const beats = beat > 6 ? `repeating-linear-gradient(to right, rgba(255,255,255,0.12) 0 1px, transparent 1px ${beat}px)` : "none";
  grid.style.backgroundImage = `repeating-linear-gradient(to right, rgba(255,255,255,0.35) 0 1px, transparent 1px ${bar}px), ${beats}`;
  grid.style.backgroundPosition = `${offset}px 0, ${offset}px 0`;
}

function renderFields() {
  if (!page.editor) return;
  $("#bpm").value = page.editor.state.bpm;
  $("#downbeat").value = page.editor.state.downbeat;
  $("#undo").disabled = !page.editor.undoStack.length;
  $("#redo").disabled = !page.editor.redoStack.length;
}

function renderTable() {
  const body = $("#sections tbody");
  body.replaceChildren();
  if (!page.editor) return;
  page.editor.state.sections.forEach((section, i) => {
    const row = document.createElement("tr");
    if (i === page.editor.selected) row.classList.add("selected");
    const select = document.createElement("select");
    select.setAttribute("aria-label", `label of section ${i + 1}`);
    for (const label of page.session.labels) select.append(new Option(label, label, false, label === section.label));
    select.addEventListener("change", () => { page.editor.selected = i; page.editor.relabel(i, select.value); });
    const sure = document.createElement("td");
    sure.textContent = section.confidence == null ? "—" : section.confidence.toFixed(2);
    if (section.confidence != null && section.confidence < UNSURE) sure.className = "unsure";
    const cells = [String(i + 1), clock(section.time), String(page.editor.bar(section.time))].map((text) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      return cell;
    });
    const labelCell = document.createElement("td");
    labelCell.append(select);
    row.append(...cells, labelCell, sure);
    row.addEventListener("click", (event) => {
      if (event.target.tagName === "SELECT") return;
      page.editor.selected = i;
      if (page.ws) page.ws.setTime(section.time);
      renderTable();
    });
    body.append(row);
  });
}

// ------------------------------------------------------------------ saving and history

async function save(reviewed) {
  if (!page.editor || !page.current) return;
  try {
    const { body } = await api(`/api/track?id=${q(page.current)}`, {
      method: "PUT", json: page.editor.payload(reviewed), headers: { "If-Match": page.etag || "" },
    });
    page.etag = body.etag;
    page.editor.dirty = false;
    const fresh = await api(`/api/track?id=${q(page.current)}`);
    if (fresh.etag === page.etag) renderMeta(fresh.body);
    toast(reviewed ? "Saved as reviewed" : "Draft saved");
    await loadTracks();
    loadHistory();
  } catch (error) {
    if (error.status === 409) {
      $("#conflict-text").textContent = `Not saved: ${error.message}`;
      $("#conflict").hidden = false;
    }
    toast(`Not saved: ${error.message}`, true);
  }
}

// ------------------------------------------------------------------ controls and keys

function playhead() { return page.ws ? page.ws.getCurrentTime() : 0; }

function seekBars(bars) {
  if (!page.ws || !page.editor) return;
  const t = Math.min(Math.max(0, playhead() + bars * page.editor.barSeconds), page.ws.getDuration());
  page.ws.setTime(t);
}

function tap() {
  if (!page.editor) return;
  page.taps.push(performance.now());
  const bpm = tapTempo(page.taps);
  if (bpm) { page.editor.setBpm(bpm); toast(`Tapped ${bpm} BPM`); }
}

function zoomBy(factor) {
  if (!page.ws) return;
  const px = Math.min(400, Math.max(10, Number($("#zoom").value) * factor));
  page.ws.zoom(px);
}

function bindControls() {
  $("#play").addEventListener("click", () => page.ws?.playPause());
  $("#zoom").addEventListener("input", (e) => page.ws?.zoom(Number(e.target.value)));
  $("#quantise").addEventListener("change", () => toast(`Quantise ${quantise() ? "on" : "off"}`));
  $("#bpm").addEventListener("change", (e) => page.editor?.setBpm(Number(e.target.value)));
  $("#downbeat").addEventListener("change", (e) => page.editor?.setDownbeat(Number(e.target.value)));
  $("#set-downbeat").addEventListener("click", () => page.editor?.setDownbeat(playhead()));
  $("#tap").addEventListener("click", tap);
  $("#add").addEventListener("click", () => page.editor?.addBoundary(playhead(), quantise()));
  $("#delete").addEventListener("click", () => page.editor?.deleteBoundary(page.editor.selected));
  $("#undo").addEventListener("click", () => page.editor?.undo());
  $("#redo").addEventListener("click", () => page.editor?.redo());
  $("#save").addEventListener("click", () => save(true));
  $("#save-draft").addEventListener("click", () => save(false));
  $("#conflict-reload").addEventListener("click", () => { page.editor.dirty = false; openTrack(page.current); });
  for (const button of document.querySelectorAll("#filters button")) {
    button.addEventListener("click", () => {
      page.filter = button.dataset.filter;
      document.querySelectorAll("#filters button").forEach((b) => b.classList.toggle("active", b === button));
      renderQueue();
    });
  }
  window.addEventListener("beforeunload", (event) => {
    if (page.editor && page.editor.dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  document.addEventListener("keydown", onKey);
}

function onKey(event) {
  if (event.target.closest("input, select, textarea")) return;
  const key = event.key;
  const ctrl = event.ctrlKey || event.metaKey;
  const editor = page.editor;
  const actions = {
    " ": () => page.ws?.playPause(),
    b: () => editor?.addBoundary(playhead(), quantise()),
    Delete: () => editor?.deleteBoundary(editor.selected),
    Backspace: () => editor?.deleteBoundary(editor.selected),
    q: () => { $("#quantise").checked = !quantise(); toast(`Quantise ${quantise() ? "on" : "off"}`); },
    d: () => editor?.setDownbeat(playhead()),
    t: tap,
    "+": () => zoomBy(1.5), "=": () => zoomBy(1.5), "-": () => zoomBy(1 / 1.5),
    "[": () => { if (editor) { editor.selected = Math.max(0, editor.selected - 1); renderTable(); } },
    "]": () => { if (editor) { editor.selected = Math.min(editor.state.sections.length - 1, editor.selected + 1); renderTable(); } },
    ArrowLeft: () => seekBars(-(ctrl ? 1 : event.shiftKey ? 8 : 4)),
    ArrowRight: () => seekBars(ctrl ? 1 : event.shiftKey ? 8 : 4),
    ArrowUp: () => nextTrack(-1),
    ArrowDown: () => nextTrack(1),
  };
  let action = actions[key] || actions[key.toLowerCase()];
  if (ctrl && key.toLowerCase() === "z") action = event.shiftKey ? () => editor?.redo() : () => editor?.undo();
  else if (ctrl && key.toLowerCase() === "y") action = () => editor?.redo();
  else if (ctrl && key.toLowerCase() === "s") action = () => save(true);
  else if (ctrl && !key.startsWith("Arrow")) action = null;
  if (/^[1-7]$/.test(key) && editor) action = () => editor.relabel(editor.selected, page.session.labels[Number(key) - 1]);
  if (!action) return;
  event.preventDefault();
  action();
}

function nextTrack(step) {
  const shown = page.tracks.filter((t) => page.filter === "all" || t.status === page.filter);
  const at = shown.findIndex((t) => t.id === page.current);
  const next = shown[Math.min(shown.length - 1, Math.max(0, at + step))];
  if (next && next.id !== page.current) openTrack(next.id);
}

// ------------------------------------------------------------------ start

async function start() {
  const listing = api("/api/tracks");
  listing.catch(() => {}); // 401 until signed in
  const { body: session } = await api("/api/session");
  page.session = session;
  $("#folder").textContent = session.folder;
  if (session.needs_key && !session.reviewer) {
    $("#login").hidden = false;
    $("#login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("/api/login", { method: "POST", json: { key: $("#login-key").value } });
        location.reload();
      } catch (error) { $("#login-error").textContent = error.message; }
    });
    return;
  }
  $("#reviewer").textContent = `reviewer: ${session.reviewer}`;
  bindControls();
  const { body: listed } = await listing;
  page.tracks = listed.tracks;
  renderQueue(listed.counts);
  const wanted = new URLSearchParams(location.search).get("track");
  const first = wanted || page.tracks.find((t) => t.status !== "reviewed")?.id;
  if (first) await openTrack(first);
}

start().catch((error) => toast(`edm annotate: ${error.message}`, true));
