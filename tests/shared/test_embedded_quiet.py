"""The embedded PostgreSQL starts without warnings (none in `riskwatch run`'s banner), also
where XDG_RUNTIME_DIR is not set (containers, CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from pathlib import Path
from riskwatch_shared.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]))
server.start()
server.stop()
print("started")
"""


def test_the_embedded_postgres_starts_without_a_platformdirs_warning(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", SCRIPT, str(tmp_path / "pg")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "started"
    assert "Warning" not in done.stderr, done.stderr
