"""Generate a Python client from an OpenAPI document with openapi-python-client (tests).

The generator is the yardstick of a truthful contract: it skips an endpoint whose body or
response it cannot describe, and says so with a warning; `generate_client` fails on any.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGE = "riskwatch_client"
# CSV bodies (customer import, model training) are sent as raw bytes with Content-Type
# text/csv; the generator knows raw bodies as application/octet-stream.
CONFIG: dict[str, Any] = {
    "project_name_override": "riskwatch-client",
    "package_name_override": PACKAGE,
    "content_type_overrides": {"text/csv": "application/octet-stream"},
    "post_hooks": [],
}


def generate_client(doc: dict[str, Any], where: Path) -> Path:
    """Generate `riskwatch_client` from `doc` into `where/client` (the directory to put on
    `sys.path`); raise AssertionError on a non-zero exit or any warning."""
    spec = where / "openapi.json"
    spec.write_text(json.dumps(doc))
    config = where / "openapi-client.json"
    config.write_text(json.dumps(CONFIG))
    generator = Path(sys.executable).parent / "openapi-python-client"
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(where / "client" / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    _import_unset_where_used(where / "client" / PACKAGE)
    return where / "client"


def _import_unset_where_used(package: Path) -> None:
    """openapi-python-client 0.29 writes `body: A | B | Unset = UNSET` for an operation taking
    several content types (the token endpoint: JSON or the OAuth2 form) without importing
    `Unset`: the module then fails at import. Add the import where it is missing."""
    for module in package.rglob("*.py"):
        code = module.read_text()
        if "| Unset" in code and "from ...types import Response, UNSET\n" in code:
            code = code.replace(
                "from ...types import Response, UNSET\n",
                "from ...types import Response, UNSET, Unset\n",
            )
            module.write_text(code)
