"""Child process of bench/triage_bench.py: the warm p50 of one model, under the functions' Python.

Usage: warm_triage.py MODEL_DIR TEXTS SEEN_FIRST [--decision-only]     prints {"p50_ms": ..}

The median time per message over TEXTS (a seed corpus directory, or a JSON file holding a list of texts), after its
first SEEN_FIRST messages were triaged once: of the whole triage, or (--decision-only) of the model's decision alone
(`decide`: tokens, scores, novelty; for a cascade, its stages), the part scikit-learn's pipeline would do.
"""

import json
import statistics
import sys
import time
from pathlib import Path

from supportpilot.triage import TriageInput
from supportpilot.triage.linear_model import TrainedTriager
from supportpilot.triage.training import read_corpus


def main() -> None:
    model_dir, source, seen_first = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    triager = TrainedTriager(model_dir)
    texts = json.loads(source.read_text()) if source.is_file() else [example.text for example in read_corpus(source)]

    def triage(text: str) -> None:
        triager.triage(TriageInput(body=text))

    run = triager.model.decide if "--decision-only" in sys.argv[4:] else triage
    for text in texts[:seen_first]:
        run(text)
    timings = []
    for text in texts:
        start = time.perf_counter_ns()
        run(text)
        timings.append(time.perf_counter_ns() - start)
    print(json.dumps({"p50_ms": statistics.median(timings) / 1e6}))


if __name__ == "__main__":
    main()
