"""Child process of bench/run.py: import one handler and serve one event, timing both.

Usage: cold_start.py CODE_DIR EVENT_FILE      prints {"import_s": .., "first_event_s": ..}
       cold_start.py --boto3                  prints {"boto3_client_s": ..}
"""

import time

STARTED = time.perf_counter()

import importlib.util  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402


class _Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def main() -> None:
    if sys.argv[1] == "--boto3":
        import boto3

        boto3.client("dynamodb")
        print(json.dumps({"boto3_client_s": time.perf_counter() - STARTED}))
        return
    code_dir, event_file = sys.argv[1], sys.argv[2]
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
            {"import_s": imported - STARTED, "first_event_s": served - STARTED, "failed": failed, "status": status}
        )
    )


main()
