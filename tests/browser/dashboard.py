"""`kubectl checklist dashboard` in a real browser: Debian's Chromium driven by Playwright.

Run by the end-to-end test tests/e2e/dashboard.rs, which sets the scene first: a Canary checklist
`web` paused at its first step (waiting for a person), a checklist `hostile` failed by an app whose
answer holds markup and terminal escapes, one dashboard with the test's own credentials and one
with a user who may only read. This script drives the pages as a person would, asserts what they
show, and saves a screenshot of each view into --out.
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

WAIT_MS = 90_000


def parse():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the admin dashboard's address with its token")
    parser.add_argument("--viewer-url", required=True, help="the read-only user's dashboard")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--next-image", required=True, help="the image of the release to abort")
    parser.add_argument("--out", required=True, help="where the screenshots go")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    return parser.parse_args()


def row(page, namespace, name):
    return page.locator(f'tr[data-key="{namespace}/{name}"]')


def confirm(page):
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    page.locator("#yes").click()
    expect(dialog).to_be_hidden()


def main():
    args = parse()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ns = args.namespace
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        # A policy violation or a script error on the page is a failure of the page.
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.set_default_timeout(WAIT_MS)

        # The fleet: both checklists listed, web paused at step 1 of 2 with 30% of the traffic.
        page.goto(args.url)
        expect(page).not_to_have_url(re.compile("token="))  # the token left the address bar
        web = row(page, ns, "web")
        expect(web).to_contain_text("Paused")
        expect(web).to_contain_text("1/2")
        expect(web).to_contain_text("30%")
        expect(row(page, ns, "hostile")).to_contain_text("Failed")
        # The demo's own checklist (examples/dialectic.yaml) is listed beside them.
        expect(row(page, ns, "dialectic")).to_contain_text("ghcr.io/acme/dialectic")
        expect(page.locator("#live")).to_have_text("live")
        # Marks this document: a reload would lose it.
        page.evaluate("window.__sameDocument = true")
        page.screenshot(path=str(out / "fleet.png"), full_page=True)

        # Filter and sort.
        page.fill("#filter", "hostile")
        expect(page.locator("#rows tbody tr")).to_have_count(1)
        page.fill("#filter", "")
        expect(page.locator("#rows tbody tr")).to_have_count(3)
        page.click('th[data-sort="name"]')
        page.click('th[data-sort="name"]')
        expect(page.locator("#rows tbody tr").first).to_have_attribute("data-key", f"{ns}/web")

        # A user whose RBAC may only read is refused with the API server's own message.
        viewer = context.new_page()
        viewer.set_default_timeout(WAIT_MS)
        viewer.on("pageerror", lambda e: problems.append(str(e)))
        viewer.goto(args.viewer_url.replace("/?", "/?", 1) + f"#/{ns}/web")
        expect(viewer.locator("#summary")).to_contain_text("Paused")
        for action in ["promote", "abort"]:
            viewer.locator("#result").evaluate("node => { node.textContent = ''; node.className = ''; }")
            viewer.click(f'#actions button[data-action="{action}"]')
            confirm(viewer)
            expect(viewer.locator("#result")).to_have_class("error")
            expect(viewer.locator("#result")).to_contain_text("forbidden")
        viewer.screenshot(path=str(out / "refused.png"), full_page=True)
        viewer.close()

        # One release: sections, the timeline's weight, then promote.
        web.click()
        expect(page.locator("#summary")).to_contain_text("Paused")
        for section in ["app", "secrets contract", "migration", "rollout", "checks", "history", "events"]:
            expect(page.locator(f'#sections section[data-section="{section}"]')).to_be_visible()
        expect(page.locator("#timeline path.w")).to_have_count(1)
        page.click('#actions button[data-action="promote"]')
        confirm(page)
        expect(page.locator("#result")).to_contain_text("promote requested")
        expect(page.locator("#summary")).to_contain_text("Ready")

        # Back to the fleet, with no reload: web is Ready, then a new release moves it to its
        # first step again while the page watches.
        page.click("text=every checklist")
        expect(web).to_contain_text("Ready")
        subprocess.run(
            ["kubectl", "-n", ns, "patch", "dcl", "web", "--type=merge",
             "-p", json.dumps({"spec": {"app": {"image": args.next_image}}})],
            check=True, capture_output=True,
        )
        expect(web).to_contain_text(args.next_image)
        expect(web).to_contain_text("Paused")
        expect(web).to_contain_text("1/2")
        expect(web).to_contain_text("30%")
        assert page.evaluate("window.__sameDocument === true"), "the page reloaded"

        # Abort it from the page: the stable version serves again, and the timeline shows the
        # rounds and the abort.
        web.click()
        expect(page.locator("#summary")).to_contain_text("Paused")
        page.click('#actions button[data-action="abort"]')
        confirm(page)
        expect(page.locator("#result")).to_contain_text("abort requested")
        expect(page.locator("#summary")).to_contain_text("RolledBack")
        expect(page.locator('#timeline [data-mark="aborted"]').first).to_be_attached()
        expect(page.locator('#timeline circle[data-round="passed"]').first).to_be_attached()
        expect(page.locator('#timeline [data-revision]').first).to_be_attached()
        page.screenshot(path=str(out / "release.png"), full_page=True)

        # A hostile app's words are shown as text: no script of theirs runs, no escape survives.
        page.click("text=every checklist")
        row(page, ns, "hostile").click()
        expect(page.locator("#summary")).to_contain_text("Failed")
        expect(page.locator("#sections")).to_contain_text("<script>")
        text = page.locator("body").inner_text()
        assert "\x1b" not in text and "\x07" not in text, "a terminal escape reached the page"
        assert page.evaluate("typeof window.__pwned") == "undefined", "the app's script ran"
        assert page.locator("#sections script, #sections img").count() == 0, "the app's markup was parsed"
        page.screenshot(path=str(out / "hostile.png"), full_page=True)
        assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
        browser.close()

    if problems:
        print("errors on the page:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    print(f"the dashboard passed in Chromium; screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
