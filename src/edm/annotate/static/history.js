// The saved versions of the open track, newest first, each with a Restore button.
import { $, api, q, toast } from "/static/common.js";

// reopen(): reload the queue and the track after a restore.
export async function loadHistory(page, reopen) {
  const list = $("#versions");
  list.replaceChildren();
  if (!page.current) return;
  const { body } = await api(`/api/history?id=${q(page.current)}`);
  for (const version of body.versions) {
    const item = document.createElement("li");
    const who = version.verified_by ? ` by ${version.verified_by}` : "";
    item.textContent = `${version.saved} · ${version.source || "?"}${who} `;
    const restore = document.createElement("button");
    restore.textContent = "Restore";
    restore.addEventListener("click", async () => {
      if (page.editor?.dirty && !confirm("Discard your unsaved changes and restore this version?")) return;
      try {
        await api(`/api/restore?id=${q(page.current)}`, { method: "POST", json: { version: version.id }, headers: { "If-Match": page.etag || "" } });
        page.editor.dirty = false;
        page.ready = false; // the track reloads next: nothing on screen is the restored version yet
        toast(`Restored the version of ${version.saved}`);
        await reopen();
      } catch (error) { toast(`Not restored: ${error.message}`, true); }
    });
    item.append(restore);
    list.append(item);
  }
}
