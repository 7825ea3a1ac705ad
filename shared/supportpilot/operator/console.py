"""The operator console's static files, served by the operator API's function without an authorizer.

The files are plain HTML, CSS and JavaScript packaged beside the function (no build step). Sign-in
happens in the browser against Cognito; `config.json` tells the page which user pool client and
endpoint to use. The API is reached relative to the console's own URL (`../api/...`), so the same
files work under a stage (`/v1/console/`), a custom domain and the local runtime.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from supportpilot.report import STYLE_SOURCE as REPORT_STYLE_SOURCE
from supportpilot.settings import FunctionSettings

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}


class ConsoleSettings(FunctionSettings):
    aws_region: str
    console_cognito_endpoint: str  # https://cognito-idp.<region>.amazonaws.com/, or moto's URL locally
    operator_user_pool_client_id: str


@dataclass(frozen=True)
class StaticFile:
    body: str
    content_type: str
    etag: str


def load_static_files(directory: Path) -> dict[str, StaticFile]:
    """Every servable file of the console directory, read once at cold start: nothing else is served."""
    files = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix in CONTENT_TYPES:
            body = path.read_text(encoding="utf-8")
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
            files[path.name] = StaticFile(body, CONTENT_TYPES[path.suffix], etag)
    return files


def security_headers(cognito_endpoint: str) -> dict[str, str]:
    """No inline script anywhere; the page talks only to its own origin (the API) and to Cognito.

    The report (GET /api/report) is shown in a sandboxed frame from a blob: URL, and a blob document
    inherits this policy: so frames may be blob: URLs, and the report's one stylesheet is allowed by hash.
    """
    parts = urlsplit(cognito_endpoint)
    cognito_origin = f"{parts.scheme}://{parts.netloc}"
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' {REPORT_STYLE_SOURCE}",
            "img-src 'self'",
            "frame-src blob:",
            f"connect-src 'self' {cognito_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def console_router(directory: Path, settings: ConsoleSettings | None = None) -> Router:
    """GET /console (redirects to the page), /console/config.json and /console/<file>."""
    settings = settings or ConsoleSettings.from_environment()
    files = load_static_files(directory)
    headers = security_headers(settings.console_cognito_endpoint)
    config = json.dumps(
        {
            "cognito": {
                "region": settings.aws_region,
                "endpoint": settings.console_cognito_endpoint,
                "client_id": settings.operator_user_pool_client_id,
            }
        }
    )
    router = Router()

    @router.get("/console", include_in_schema=False)
    def console_entry():
        # Relative, so it keeps the stage or base path the request came in with.
        path = router.current_event.path
        location = "index.html" if path.endswith("/") else "console/index.html"
        return Response(status_code=302, headers={**headers, "Location": location, "Cache-Control": "no-store"})

    @router.get("/console/config.json", include_in_schema=False)
    def console_config():
        return Response(
            status_code=200,
            content_type="application/json",
            body=config,
            headers={**headers, "Cache-Control": "no-store"},
        )

    @router.get("/console/<file>", include_in_schema=False)
    def console_file(file: str):
        static = files.get(file)
        if static is None:
            return Response(
                status_code=404,
                content_type="application/json",
                body='{"message":"Not Found"}',
                headers={**headers, "Cache-Control": "no-store"},
            )
        # No hashed file names without a build step: the browser revalidates each time, cheaply.
        cache = {"Cache-Control": "no-cache", "ETag": static.etag}
        if router.current_event.headers.get("if-none-match") == static.etag:
            return Response(status_code=304, headers={**headers, **cache})
        return Response(
            status_code=200, content_type=static.content_type, body=static.body, headers={**headers, **cache}
        )

    return router
