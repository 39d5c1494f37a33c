"""A real browser types a case into Like my case: no word of it reaches the address bar,
a request URL, the download's name or any file the app can write.

The app runs from an empty working folder that holds only the shipped settings
(``.streamlit/config.toml``), with its own temporary folder and home folder, on a copy of the demo index, and its output
(Streamlit's log) goes to a file. Every word of the case that the index did not
already hold is then looked for in all of those, and in every URL the browser
visited or requested. Headless Chromium from Debian, driven by Playwright.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from scrsearch.themes.case_report import FILE_NAME
from test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, require_chromium, streamlit_app

CASE = (
    "Zorblattington Quimbleforth is two years old and lives in Brindlecombe with his mum and her new "
    "partner, Mr Vexholm, who moved in about five months ago. DOB 14/02/2022. He had two "
    "child protection plans for neglect and the child in need plan is about to close. At "
    "the last review the health visitor said the partner had hurt a previous girlfriend's "
    "children, but the plan stayed the same. Nursery has seen bruises on his arms twice."
)


def texts_under(*folders: Path) -> dict[Path, str]:
    """Every file's bytes under ``folders``, read as Latin-1 so any byte sequence reads."""
    return {
        file: file.read_bytes().decode("latin-1")
        for folder in folders
        for file in folder.rglob("*")
        if file.is_file()
    }


def words_of(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{5,}", text)}


@pytest.mark.slow
def test_a_typed_case_leaves_no_word_in_the_url_or_any_file(
    demo_index: Path, tmp_path: Path
) -> None:
    sync_api = require_chromium()
    index = tmp_path / "index"
    shutil.copytree(demo_index, index)
    before = " ".join(texts_under(index).values()).lower()
    private = {w for w in words_of(CASE) if w not in before}
    assert {"zorblattington", "quimbleforth", "brindlecombe", "vexholm"} <= private
    cwd, temp, home = (tmp_path / name for name in ("cwd", "tmp", "home"))
    for folder in (cwd, temp, home):
        folder.mkdir()
    (cwd / ".streamlit").mkdir()
    shutil.copy(ROOT / "src" / "scrsearch" / "app" / "config.toml", cwd / ".streamlit")
    log = tmp_path / "streamlit.log"
    seen: list[str] = []
    env = {"TMPDIR": str(temp), "HOME": str(home)}
    with streamlit_app(index, log, env, cwd) as (url, _), sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 1100})
        page.on("request", lambda request: seen.append(request.url))
        page.on("framenavigated", lambda frame: seen.append(frame.url))
        page.goto(f"{url}/like-my-case")
        page.get_by_text("Your case notes stay on this computer").wait_for(timeout=120_000)
        box = page.get_by_label("The case, in your own words")
        box.wait_for(timeout=120_000)
        box.fill(CASE)
        page.get_by_role("button", name="Find reviews like this case").click()
        first = page.locator(".scr-card-title").first
        first.wait_for(timeout=180_000)
        page.get_by_text(re.compile(r"^(Shared themes|Agencies in both):")).first.wait_for(
            timeout=30_000
        )
        seen.append(page.url)
        with page.expect_download(timeout=30_000) as download_info:
            page.get_by_role("button", name="Download these reviews (Markdown)").click()
        download = download_info.value
        assert download.suggested_filename == FILE_NAME
        exported = Path(download.path()).read_text(encoding="utf-8")
        assert "Reviews like my case" in exported
        assert not private & words_of(exported)
        # Leave for the review, then come back through the sidebar: the box is empty.
        page.get_by_role("link", name="Read the review").first.click()
        page.wait_for_url("**/review?**", timeout=30_000)
        seen.append(page.url)
        page.get_by_role("link", name="Like my case").click()
        page.wait_for_url("**/like-my-case", timeout=30_000)
        box = page.get_by_label("The case, in your own words")
        box.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        assert box.input_value() == ""
        assert page.locator(".scr-card-title").count() == 0
        browser.close()
    assert seen and all(u.startswith((url, "data:", "blob:", "about:")) for u in seen), seen
    leaked_urls = [u for u in seen if private & words_of(u)]
    assert not leaked_urls
    files = texts_under(index, cwd, temp, home) | {log: log.read_text(encoding="utf-8")}
    leaked = {
        str(f): sorted(private & words_of(t)) for f, t in files.items() if private & words_of(t)
    }
    assert not leaked
