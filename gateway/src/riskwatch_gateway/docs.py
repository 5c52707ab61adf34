"""The interactive API documents, Swagger UI at `/docs` and ReDoc at `/redoc`, with every
script, style sheet and icon served by the gateway itself from the `fastapi-offline` package:
they work on an air-gapped network, and the pages' policy allows no other origin."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse

ASSETS_PATH = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"})
# Swagger UI's options: no call to the public validator; the token of the "Authorize" dialog
# stays in the page's memory (never in the browser's storage).
SWAGGER_UI_PARAMETERS = {
    "validatorUrl": None,
    "persistAuthorization": False,
    "displayRequestDuration": True,
    "tryItOutEnabled": False,
}


def swagger_ui(*, openapi_url: str, title: str) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} (Swagger UI)",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        oauth2_redirect_url=None,  # the password flow needs no redirect
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )


def redoc(*, openapi_url: str, title: str) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=openapi_url,
        title=f"{title} (ReDoc)",
        redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )


def asset(name: str) -> FileResponse | None:
    """One of the packaged files (None for any other name: nothing else is served)."""
    if name not in ASSETS:
        return None
    return FileResponse(ASSETS_DIR / name, headers={"cache-control": "public, max-age=86400"})
