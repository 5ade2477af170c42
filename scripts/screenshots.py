"""Screenshots of the dashboard pages from a running app, for the README and for eyeballing.

    python scripts/screenshots.py --base http://127.0.0.1:8000 --out /tmp/shots [--readme]

Logs in with the demo users of `manage.py demo_setup` (passwords from .demo-logins.json) and
drives Debian's /usr/bin/chromium through Playwright (no `playwright install`). With --readme it
also writes docs/screenshot-account.png, docs/screenshot-segment.png and
docs/screenshot-influence.png. Exits non-zero when a page logs a console error or a chart is
not drawn.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def login(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def first_link(page: Page, base: str, url: str, pattern: str) -> str:
    """The first link on `url` whose href matches `pattern` (e.g. the most engaged account)."""
    page.goto(base + url)
    for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
        if re.match(pattern, href or ""):
            return href
    raise SystemExit(f"no link matching {pattern} on {url}")


def shoot(page: Page, base: str, url: str, out: Path, errors: list[str]) -> None:
    page.goto(base + url)
    page.wait_for_load_state("networkidle")
    charts = page.locator("[data-figure]").count()
    drawn = page.locator("[data-figure] .main-svg").count()
    if drawn < charts:
        errors.append(f"{url}: {charts - drawn} of {charts} charts not drawn")
    page.screenshot(path=str(out), full_page=True)
    print(f"{out.name:32} {url}  ({charts} charts)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="/tmp/abm-screenshots")
    parser.add_argument("--readme", action="store_true", help="also write the README screenshots to docs/")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    passwords = json.loads((ROOT / ".demo-logins.json").read_text())
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for role in ("marketing", "sales", "executive"):
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("console", lambda m, r=role: m.type == "error" and errors.append(f"{r}: console: {m.text}"))
            page.on("pageerror", lambda e, r=role: errors.append(f"{r}: page error: {e}"))
            login(page, args.base, role, passwords[role])
            if role == "marketing":
                account = first_link(page, args.base, "/accounts/?target=true", r"^/accounts/\d+/")
                program = first_link(page, args.base, "/programs/", r"^/programs/\d+/")
                segment = first_link(page, args.base, "/segments/", r"^/segments/\d+/")
                pages = {
                    "accounts": "/accounts/",
                    "account": account,
                    "segments": "/segments/",
                    "segment-target": "/segments/target/",
                    "segment-compare": segment.split("?")[0] + "?compare=target",
                    "programs": "/programs/",
                    "program": program,
                    "definitions": "/definitions/",
                }
            elif role == "sales":
                pages = {"my-accounts": "/me/"}
            else:
                pages = {"influence": "/influence/", "influence-first-touch": "/influence/?model=first_touch"}
            for name, url in pages.items():
                shoot(page, args.base, url, out / f"{name}.png", errors)
                if args.readme and name in ("account", "segment-target", "influence"):
                    readme_name = {"account": "account", "segment-target": "segment", "influence": "influence"}[name]
                    page.screenshot(path=str(ROOT / "docs" / f"screenshot-{readme_name}.png"), full_page=False)
            page.close()
        browser.close()
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
