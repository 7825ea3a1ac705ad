"""Mail parsing benchmark: what the ingest stage spends on `parse_mail` for small and very large mails.

    .venv/bin/python -m bench.parse_bench [--runs N] [--out FILE]

The sample mail, a mail with a 20 MiB attachment (kept) and one with a 26 MiB attachment (over the
25 MiB default limit: its content is dropped and a warning names it). Wall time is the median and the
slowest of N runs in this process; peak memory is the Python heap's peak during one more run
(tracemalloc), which is what decides the ingest function's memory size for such mails.
"""

import argparse
import base64
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from supportpilot.mail.parse import parse_mail

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_MAIL = ROOT / "events" / "mail" / "order_status_nl.eml"
MIB = 1024 * 1024


def mail_with_attachment(size: int) -> bytes:
    encoded = base64.encodebytes(bytes(size)).decode()
    return (
        "From: Jan Voorbeeld <jan.voorbeeld@example.nl>\r\nTo: support@shop.example.nl\r\n"
        "Subject: Foto's van de schade\r\nMessage-ID: <bench@mail.example.nl>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nZie bijlage.\r\n"
        '--b1\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename="photos.zip"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b1--\r\n"
    ).encode()


def measure(raw: bytes, runs: int) -> dict:
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        parse_mail(raw)
        walls.append(time.perf_counter() - started)
    tracemalloc.start()
    parse_mail(raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "mail_mib": round(len(raw) / MIB, 1),
        "median_ms": round(statistics.median(walls) * 1000, 1),
        "max_ms": round(max(walls) * 1000, 1),
        "peak_heap_mib": round(peak / MIB, 1),
    }


def table(runs: int = 5) -> str:
    cases = [
        ("sample mail (events/mail/order_status_nl.eml)", SAMPLE_MAIL.read_bytes()),
        ("20 MiB attachment (kept)", mail_with_attachment(20 * MIB)),
        ("26 MiB attachment (over the 25 MiB limit: dropped)", mail_with_attachment(26 * MIB)),
    ]
    lines = [
        "| mail | size (MiB, base64) | median (ms) | slowest (ms) | peak heap (MiB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, raw in cases:
        row = measure(raw, runs)
        lines.append(f"| {name} | {row['mail_mib']} | {row['median_ms']} | {row['max_ms']} | {row['peak_heap_mib']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    result = table(args.runs)
    if args.out:
        args.out.write_text(result + "\n")
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
