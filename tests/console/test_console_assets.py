"""The console's third-party assets: pinned by a committed npm lock file, installed by the
make/CLI step `make test` runs before the tests, served from the console itself (never a CDN)."""

from __future__ import annotations

import json
import re

from riskwatch_console.assets import (
    LOCK_FILE,
    PROJECT_DIR,
    STATIC_DIR,
    VENDOR_FILES,
    lock_digest,
    up_to_date,
)

TEMPLATES = STATIC_DIR.parent / "templates"


def test_every_dependency_is_pinned_by_the_committed_lock_file() -> None:
    manifest = json.loads((PROJECT_DIR / "package.json").read_text())
    lock = json.loads((PROJECT_DIR / LOCK_FILE).read_text())
    assert set(manifest["dependencies"]) == {"htmx.org", "htmx-ext-sse", "uplot", "codemirror"}
    for name, version in manifest["dependencies"].items():
        locked = lock["packages"][f"node_modules/{name}"]
        assert locked["version"] == version  # exact versions, no range
        assert locked["integrity"].startswith("sha512-")


def test_the_assets_step_has_installed_what_the_lock_file_says() -> None:
    vendor = STATIC_DIR / "vendor"
    assert up_to_date(PROJECT_DIR, vendor), "run `make assets` (make test and make run do)"
    assert (vendor / ".package-lock.sha256").read_text().strip() == lock_digest(PROJECT_DIR)
    assert "htmx" in (vendor / "htmx.min.js").read_text()[:2000]
    assert set(VENDOR_FILES) <= {path.name for path in vendor.iterdir()}


def test_pages_load_nothing_from_another_origin() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        for url in re.findall(r'(?:src|href)="([^"{]+)"', text):
            assert url.startswith(("/", "#")), f"{template.name}: {url}"
        assert "<script>" not in text  # no inline script: the CSP would refuse it anyway
        assert "style=" not in text
