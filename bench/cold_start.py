"""Child process of bench/run.py: import one handler and serve one event, timing both.

Usage: cold_start.py CODE_DIR EVENT_FILE      prints {"import_s": .., "first_event_s": .., "boto3_s": .., ...}
       cold_start.py --boto3                  prints {"boto3_client_s": ..}

`boto3_s` is the time this process spent inside boto3: importing it (with botocore, s3transfer and urllib3,
imported first, before the handler), creating each client (`boto3.client`) and making each AWS API call
(`BaseClient._make_api_call`: serialising, signing, the moto server's answer, parsing), whether at import
or during the first event.
"""

import time

STARTED = time.perf_counter()

import functools  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402


class _Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class Boto3Clock:
    """Imports boto3 and from then on adds up the time spent in client creation and API calls."""

    def __init__(self) -> None:
        started = time.perf_counter()
        import boto3
        import botocore.client

        self.spent_s = time.perf_counter() - started
        boto3.client = self._timed(boto3.client)
        botocore.client.BaseClient._make_api_call = self._timed(botocore.client.BaseClient._make_api_call)

    def _timed(self, function: Callable) -> Callable:
        @functools.wraps(function)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent_s += time.perf_counter() - started

        return timed


def main() -> None:
    if sys.argv[1] == "--boto3":
        import boto3

        boto3.client("dynamodb")
        print(json.dumps({"boto3_client_s": time.perf_counter() - STARTED}))
        return
    code_dir, event_file = sys.argv[1], sys.argv[2]
    boto3_clock = Boto3Clock()
    sys.path.append(code_dir)  # as Lambda does: modules beside app.py import
    spec = importlib.util.spec_from_file_location("app", f"{code_dir}/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    imported = time.perf_counter()
    with open(event_file) as handle:
        event = json.load(handle)
    result = module.handler(event, _Context())
    served = time.perf_counter()
    failed = bool(isinstance(result, dict) and result.get("batchItemFailures"))
    status = result.get("statusCode") if isinstance(result, dict) else None
    print(
        json.dumps(
            {
                "import_s": imported - STARTED,
                "first_event_s": served - STARTED,
                "boto3_s": boto3_clock.spent_s,
                "failed": failed,
                "status": status,
            }
        )
    )


main()
