"""A real headless Chromium (Debian's `chromium` and `chromium-driver`, installed by `make test`)
driving the console of a running `supportpilot demo`: moto, the local API, the replayed samples."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from supportpilot.local.stack import DEMO_OPERATOR_PASSWORD
from tests.conftest import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = os.environ.get("SUPPORTPILOT_SCREENSHOTS")  # a directory: queue.png, ticket.png, workload.png


@dataclass(frozen=True)
class RunningDemo:
    api_url: str
    moto_url: str
    client_id: str

    @property
    def console_url(self) -> str:
        return f"{self.api_url}/console"

    def token(self, email: str) -> str:
        """An ID token from the demo's Cognito, the way the console gets one."""
        body = {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": self.client_id,
            "AuthParameters": {"USERNAME": email, "PASSWORD": DEMO_OPERATOR_PASSWORD},
        }
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
        }
        request = urllib.request.Request(self.moto_url + "/", json.dumps(body).encode(), headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["AuthenticationResult"]["IdToken"]

    def call(self, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": token, "Content-Type": "application/json"}
        request = urllib.request.Request(self.api_url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


def _wait_for_line(log: Path, process: subprocess.Popen, pattern: str, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return found
        if process.poll() is not None:
            raise RuntimeError(f"supportpilot demo exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    raise TimeoutError(f"supportpilot demo did not print {pattern!r} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningDemo]:
    """`supportpilot demo` in its own process: its moto server must not share this process's moto."""
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "demo.log"
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "supportpilot.cli", "demo", "--port", "0"],
                cwd=PROJECT_ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            api = _wait_for_line(log, process, r"serving the API at (http://127\.0\.0\.1:\d+)", 300)
            moto = re.search(r"local AWS \(moto\) at (http://127\.0\.0\.1:\d+)", log.read_text())
            client = re.search(r'"ClientId": "([^"]+)"', log.read_text())
            assert moto and client, log.read_text()[-3000:]
            yield RunningDemo(api.group(1), moto.group(1), client.group(1))
        finally:
            process.terminate()  # SIGINT may be ignored in a background job; the demo keeps nothing on disk
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator["WebDriver"]:  # noqa: F821
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing: `make test` installs them")
        pytest.skip("needs Debian's chromium and chromium-driver (`make test` installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1300"):
        options.add_argument(argument)
    options.add_argument("--lang=en-GB")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
