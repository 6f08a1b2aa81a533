"""The dashboard's fleet view with many checklists, in Debian's Chromium: how long until every
row is shown, how long one redraw of the table takes, and how long until a change to many of them
shows without a reload. Prints figures; asserts only that every row and every change arrives.

Run by tests/e2e/dashboard.rs, which creates the checklists (suspended: no operator acts on
them) and writes --update, a file of the same checklists with a new image for some of them.
"""

import argparse
import statistics
import subprocess
import sys
import time

from playwright.sync_api import sync_playwright

WAIT_MS = 120_000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--update", required=True, help="a manifest kubectl applies")
    parser.add_argument("--updated", type=int, required=True, help="how many it changes")
    parser.add_argument("--new-image", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        began = time.monotonic()
        page.goto(args.url)
        page.wait_for_function(
            "n => document.querySelectorAll('#rows tbody tr').length === n", arg=args.count)
        shown = time.monotonic() - began
        page.evaluate("window.__sameDocument = true")
        page.evaluate("window.checklistDashboard.drawMs.length = 0")

        began = time.monotonic()
        subprocess.run(["kubectl", "apply", "--server-side", "--force-conflicts", "-f", args.update],
                       check=True, capture_output=True)
        applied = time.monotonic() - began
        page.wait_for_function(
            """([image, n]) => [...document.querySelectorAll('#rows tbody tr')]
                 .filter(r => r.textContent.includes(image)).length === n""",
            arg=[args.new_image, args.updated])
        updated = time.monotonic() - began
        draws = page.evaluate("window.checklistDashboard.drawMs")
        assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
        browser.close()

    draws.sort()
    print(f"dashboard, {args.count} checklists in Chromium:")
    print(f"  every row shown         {shown:.2f} s after the page was asked for")
    print(f"  {args.updated} changed           all shown {updated:.2f} s after kubectl apply began "
          f"(the apply itself took {applied:.2f} s), without a reload")
    if draws:
        p50 = statistics.median(draws)
        print(f"  redraws of the table    {len(draws)} during the change: p50 {p50:.1f} ms, "
              f"max {draws[-1]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
