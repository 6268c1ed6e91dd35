"""The JSON API's human-readable documentation (Swagger UI, vendored: no CDN) and the site's icon."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from web.access import Public
from web.api.models import PREFIX
from web.pages import render

router = APIRouter(include_in_schema=False)
ICON = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"


@router.get(f"{PREFIX}/docs")
def api_docs(request: Request, _: Public) -> Response:
    return render(request, "api_docs.html", openapi_url=f"{PREFIX}/openapi.json")


@router.get("/favicon.ico")
def favicon(_: Public) -> Response:
    return FileResponse(ICON, media_type="image/x-icon", headers={"cache-control": "public, max-age=86400"})
