"""/docs: Swagger UI served from the swagger-ui-bundle package, so it works without internet.

FastAPI's own /docs page loads Swagger UI from a CDN, which a server behind a firewall (or a
laptop on a plane) cannot reach.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"


def register_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs over the app's OpenAPI document; the app is made with docs_url=None."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
            # The validator badge would fetch an image from swagger.io.
            swagger_ui_parameters={"validatorUrl": None})
