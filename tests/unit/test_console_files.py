"""The console's static files as the operator API's function serves them, and the page's own promises:
no inline script, every UI string in Dutch and English, customer text never inserted as HTML."""

import json
import re

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from supportpilot.local.event_sources import proxy_event
from supportpilot.local.template import ApiRoute
from supportpilot.operator.console import ConsoleSettings, console_router
from tests.conftest import PROJECT_ROOT

CONSOLE = PROJECT_ROOT / "functions" / "operator_api" / "console"
SETTINGS = ConsoleSettings(
    aws_region="eu-west-1",
    console_cognito_endpoint="https://cognito-idp.eu-west-1.amazonaws.com/",
    operator_user_pool_client_id="exampleclientid",
)


@pytest.fixture(scope="module")
def app() -> APIGatewayRestResolver:
    resolver = APIGatewayRestResolver(enable_validation=True)
    resolver.include_router(console_router(CONSOLE, SETTINGS))
    return resolver


def get(app: APIGatewayRestResolver, path: str, headers: dict[str, str] | None = None) -> dict:
    route = ApiRoute("get", "/console/{file}" if path.count("/") > 1 else "/console")
    return app.resolve(proxy_event("GET", path, headers or {}, b"", route), None)


def header(response: dict, name: str) -> str:
    headers = {**response.get("headers", {}), **{k: v[0] for k, v in response.get("multiValueHeaders", {}).items()}}
    return next(value for key, value in headers.items() if key.lower() == name.lower())


def test_the_page_and_its_scripts_are_served_with_a_strict_content_security_policy(app):
    page = get(app, "/console/index.html")
    assert page["statusCode"] == 200
    assert header(page, "Content-Type").startswith("text/html")
    policy = header(page, "Content-Security-Policy")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "connect-src 'self' https://cognito-idp.eu-west-1.amazonaws.com" in policy
    assert "frame-ancestors 'none'" in policy
    assert header(page, "X-Content-Type-Options") == "nosniff"
    script = get(app, "/console/console.js")
    assert header(script, "Content-Type").startswith("text/javascript")
    assert header(script, "Cache-Control") == "no-cache"


def test_an_unchanged_file_is_revalidated_with_its_etag(app):
    first = get(app, "/console/console.css")
    again = get(app, "/console/console.css", {"If-None-Match": header(first, "ETag")})
    assert again["statusCode"] == 304 and not again.get("body")


def test_config_comes_from_the_function_environment_and_is_never_cached(app):
    response = get(app, "/console/config.json")
    assert json.loads(response["body"]) == {
        "cognito": {
            "region": "eu-west-1",
            "endpoint": "https://cognito-idp.eu-west-1.amazonaws.com/",
            "client_id": "exampleclientid",
        }
    }
    assert header(response, "Cache-Control") == "no-store"


def test_console_without_a_file_redirects_to_the_page_keeping_the_stage(app):
    response = get(app, "/console")
    assert response["statusCode"] == 302
    assert header(response, "Location") == "console/index.html"  # relative: /v1/console -> /v1/console/index.html


def test_only_the_console_files_are_served(app):
    for path in ("/console/app.py", "/console/..%2Fapp.py", "/console/secrets.json"):
        assert get(app, path)["statusCode"] == 404


def test_the_page_has_no_inline_script_or_style_and_no_event_handler_attributes():
    page = (CONSOLE / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+\s*=", page)
    assert "<style" not in page and "style=" not in page


def test_customer_text_is_never_inserted_as_html():
    script = (CONSOLE / "console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script


def ui_keys() -> set[str]:
    page = (CONSOLE / "index.html").read_text()
    script = (CONSOLE / "console.js").read_text()
    keys = set(re.findall(r'data-i18n(?:-aria-label)?="([^"]+)"', page))
    keys |= set(re.findall(r'\bt\("([^"]+)"', script))
    keys |= set(re.findall(r'act\("[^"]+", [^,]+, "([^"]+)"\)', script))  # success messages
    keys |= set(re.findall(r'"(done_\w+)"', script))
    keys |= set(re.findall(r'"(conflict_\w+)"', script))  # what a 409 did: the view is reloaded
    keys |= set(re.findall(r'\bannounce\("([^"]+)"', script))  # status messages, kept as keys
    keys |= set(re.findall(r'\b(?:showError|signOut|new ConsoleError)\("([^"]+)"', script))  # errors, kept as keys
    keys |= {f"cognito.{name}" for name in re.findall(r'"(\w+Exception)"', script)}  # Cognito's errors the page names
    keys |= {f"http.{status}" for status in (401, 403, 404, 409, 422, 503, "other")}
    return keys


def test_every_ui_string_exists_in_dutch_and_english():
    strings = json.loads((CONSOLE / "strings.json").read_text())
    assert set(strings) == {"en", "nl"}
    assert set(strings["en"]) == set(strings["nl"])
    missing = ui_keys() - set(strings["en"])
    assert not missing, f"UI strings without a translation: {sorted(missing)}"
    assert all(value.strip() for language in strings.values() for value in language.values())
