"""The annotator's page in a real Chromium, on the real app over loopback (three 18 s tracks
at 150 BPM: a bar is 1.6 s, bar 1 at 0.882 s). Slow: a browser start and page loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.annotate.browser import shot
from tests.annotate.helpers import REVIEWER, AnnotateServer, document

pytestmark = pytest.mark.slow

DOWNBEAT = 0.881905
BAR = 1.6


def bar_time(bar: int) -> float:
    return round(DOWNBEAT + (bar - 1) * BAR, 3)


def ready(tab: object, track: str) -> None:
    tab.wait_for_function(  # type: ignore[attr-defined]
        "id => window.edmAnnotate && window.edmAnnotate.ready && window.edmAnnotate.current === id",
        arg=track,
        timeout=20_000,
    )


def state(tab: object) -> dict:
    return tab.evaluate("window.edmAnnotate.editor.state")  # type: ignore[attr-defined]


def x_of(tab: object, seconds: float) -> float:
    """The page x of a time in the detail waveform, as it is scrolled now."""
    return tab.evaluate(  # type: ignore[attr-defined]
        """t => { const ws = window.edmAnnotate.ws, wrapper = ws.getWrapper();
                  const box = wrapper.getBoundingClientRect();
                  return box.left + t * wrapper.scrollWidth / ws.getDuration(); }""",
        seconds,
    )


def waveform_y(tab: object) -> float:
    box = tab.locator("#waveform").bounding_box()  # type: ignore[attr-defined]
    return box["y"] + box["height"] * 0.8


def test_the_page_opens_the_least_sure_track_and_draws_it(open_page: object) -> None:
    tab = open_page()
    ready(tab, "track_000.yaml")
    drawn = tab.evaluate(
        """() => { let inked = 0, total = 0;
             const root = window.edmAnnotate.ws.getWrapper();
             for (const canvas of root.querySelectorAll('canvas')) {
               const { width, height } = canvas;
               const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
               for (let i = 3; i < data.length; i += 4) { total++; if (data[i] > 0) inked++; }
             }
             return [inked, total]; }"""
    )
    items = tab.locator("#tracks li")
    assert items.count() == 3
    assert items.nth(0).get_attribute("data-status") == "needs_review"
    assert items.nth(2).get_attribute("data-status") == "reviewed"
    assert drawn[1] > 0 and drawn[0] > 0.05 * drawn[1], drawn  # the waveform has ink
    assert tab.locator("#overview canvas").count() > 0 or tab.evaluate(
        "document.querySelector('#overview').children.length"
    )
    assert tab.locator("#sections tbody tr").count() == 4
    assert "Space" in tab.locator("#help").inner_text()
    shot(tab, "open")


def test_play_and_pause(open_page: object) -> None:
    tab = open_page()
    ready(tab, "track_000.yaml")
    tab.keyboard.press("Space")
    tab.wait_for_function(
        "window.edmAnnotate.ws.isPlaying() && window.edmAnnotate.ws.getCurrentTime() > 0.3",
        timeout=10_000,
    )
    assert tab.locator("#play").inner_text() == "Pause"
    tab.keyboard.press("Space")
    tab.wait_for_function("!window.edmAnnotate.ws.isPlaying()")
    stopped = tab.evaluate("window.edmAnnotate.ws.getCurrentTime()")
    tab.wait_for_timeout(300)
    assert tab.evaluate("window.edmAnnotate.ws.getCurrentTime()") == stopped
    assert tab.locator("#play").inner_text() == "Play"


def test_drag_relabel_add_delete_and_save(open_page: object, server: AnnotateServer) -> None:
    tab = open_page()
    ready(tab, "track_000.yaml")
    # Drag the drop's marker (bar 5) 2 bars and a bit on: quantise puts it on bar 7.
    marker = tab.evaluate(
        """() => { const r = window.edmAnnotate.regions.getRegions().find(r => r.id === 'b2');
                   const box = r.element.getBoundingClientRect();
                   return [box.left + box.width / 2, box.top + box.height / 2]; }"""
    )
    distance = x_of(tab, bar_time(7) + 0.3) - x_of(tab, bar_time(5))
    tab.mouse.move(marker[0], marker[1])
    tab.mouse.down()
    tab.mouse.move(marker[0] + distance / 2, marker[1], steps=5)
    tab.mouse.move(marker[0] + distance, marker[1], steps=5)
    tab.mouse.up()
    tab.wait_for_function("window.edmAnnotate.editor.state.sections[2].time > 10")
    assert state(tab)["sections"][2]["time"] == bar_time(7)
    # Relabel the buildup in the section list.
    tab.locator("#sections select").nth(1).select_option("breakdown")
    # Add a boundary near 15.5 s: bar 10 with quantise on; the new section is labelled 5.
    tab.mouse.click(x_of(tab, 15.5), waveform_y(tab))
    tab.keyboard.press("b")
    assert [s["time"] for s in state(tab)["sections"]][-1] == bar_time(10)
    tab.keyboard.press("5")  # breakbuild
    # Delete the outro's boundary (bar 9): select its row, then Delete.
    tab.locator("#sections tbody tr").nth(3).locator("td").first.click()
    tab.keyboard.press("Delete")
    tab.keyboard.press("Control+s")
    tab.wait_for_function("document.querySelector('#toast').textContent === 'Saved as reviewed'")
    shot(tab, "edited")

    saved = document(server.config.folder / "track_000.yaml")
    assert [(s["bar"], s["label"], s["time"]) for s in saved["structure"]] == [
        (1, "intro", bar_time(1)),
        (3, "breakdown", bar_time(3)),
        (7, "drop", bar_time(7)),
        (10, "breakbuild", bar_time(10)),
    ]
    assert saved["structure"][2]["confidence"] == 0.41  # the model's, kept for the moved one
    assert "confidence" not in saved["structure"][3]
    assert saved["metadata"]["tier"] == 1 and saved["metadata"]["verified_by"] == REVIEWER
    assert saved["metadata"]["source"] == "manual" and "flags" not in saved["metadata"]

    again = open_page("track_000.yaml")
    ready(again, "track_000.yaml")
    labels = [again.locator("#sections select").nth(i).input_value() for i in range(4)]
    assert labels == ["intro", "breakdown", "drop", "breakbuild"]
    assert [s["time"] for s in state(again)["sections"]] == [bar_time(b) for b in (1, 3, 7, 10)]
    assert (
        again.locator("#tracks li[data-id='track_000.yaml']").get_attribute("data-status")
        == "reviewed"
    )


def test_a_second_tabs_stale_save_gets_409_and_loses_nothing(
    open_page: object, server: AnnotateServer
) -> None:
    first = open_page("track_001.yaml")
    second = open_page("track_001.yaml")
    ready(first, "track_001.yaml")
    ready(second, "track_001.yaml")
    first.locator("#sections select").nth(0).select_option("drop")
    first.locator("#save").click()
    first.wait_for_function("document.querySelector('#toast').textContent === 'Saved as reviewed'")
    saved = (server.config.folder / "track_001.yaml").read_bytes()

    second.locator("#sections select").nth(0).select_option("breakdown")
    second.locator("#save").click()
    second.wait_for_selector("#conflict:not([hidden])")
    shot(second, "conflict")
    assert "changed by someone else" in second.locator("#conflict").inner_text()
    assert (server.config.folder / "track_001.yaml").read_bytes() == saved
    # The stale tab still holds its edit, unsaved, until its reviewer chooses.
    assert state(second)["sections"][0]["label"] == "breakdown"
    assert second.evaluate("window.edmAnnotate.editor.dirty")
    assert document(server.config.folder / "track_001.yaml")["structure"][0]["label"] == "drop"


def test_undo_shortcuts_unsaved_guard_and_a_broken_file(
    open_page: object, server: AnnotateServer
) -> None:
    (server.config.folder / "broken.yaml").write_text("audio: {file: x.wav\n")
    tab = open_page()
    ready(tab, "track_000.yaml")
    tab.keyboard.press("]")  # select the buildup
    tab.keyboard.press("4")  # breakdown
    assert state(tab)["sections"][1]["label"] == "breakdown"
    tab.keyboard.press("Control+z")
    assert state(tab)["sections"][1]["label"] == "buildup"
    tab.keyboard.press("Control+Shift+z")
    assert state(tab)["sections"][1]["label"] == "breakdown"
    tab.keyboard.press("q")
    assert not tab.locator("#quantise").is_checked()
    tab.keyboard.press("q")
    tab.keyboard.press("ArrowRight")  # 4 bars on
    assert abs(tab.evaluate("window.edmAnnotate.ws.getCurrentTime()") - 4 * BAR) < 0.01
    tab.keyboard.press("b")
    assert len(state(tab)["sections"]) == 5
    tab.keyboard.press("Delete")
    assert len(state(tab)["sections"]) == 4

    dialogs: list[str] = []

    def dismiss(dialog: object) -> None:
        dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    tab.on("dialog", dismiss)
    tab.locator("#tracks li[data-id='broken.yaml']").click()
    assert dialogs and "not saved" in dialogs[0]
    assert tab.evaluate("window.edmAnnotate.current") == "track_000.yaml"  # stayed
    tab.remove_listener("dialog", dismiss)
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.locator("#tracks li[data-id='broken.yaml']").click()
    tab.wait_for_selector("#track-error:not([hidden])")
    assert "not valid YAML" in tab.locator("#track-error").inner_text()
    assert tab.locator("#tracks li[data-id='broken.yaml'] .badge").inner_text() == "error"
    shot(tab, "broken")
    tab.locator("#tracks li[data-id='track_001.yaml']").click()
    ready(tab, "track_001.yaml")
    assert tab.locator("#track-error").is_hidden()
    assert Path(server.config.folder / "track_000.yaml").read_text().count("needs_review") == 1


def test_restore_from_the_history_list_brings_a_saved_version_back(
    open_page: object, server: AnnotateServer
) -> None:
    path = server.config.folder / "track_001.yaml"
    proposal = document(path)
    tab = open_page("track_001.yaml")
    ready(tab, "track_001.yaml")
    tab.locator("#sections select").nth(0).select_option("drop")
    tab.locator("#save").click()
    tab.wait_for_function("document.querySelector('#toast').textContent === 'Saved as reviewed'")
    assert document(path)["structure"][0]["label"] == "drop"

    tab.locator("#history summary").click()
    versions = tab.locator("#versions li")
    versions.first.wait_for()
    assert versions.count() == 1  # the proposal the save replaced
    versions.first.locator("button").click()
    tab.wait_for_function(
        "document.querySelector('#toast').textContent.startsWith('Restored the version of')"
    )
    tab.wait_for_function("window.edmAnnotate.ready")
    assert document(path)["structure"] == proposal["structure"]
    assert state(tab)["sections"][0]["label"] == proposal["structure"][0]["label"]
