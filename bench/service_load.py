"""Bounded load on the HTTP service from this machine: throughput, latency, batch fill, overload.

Starts ``deid-pipeline serve`` as a subprocess on a free 127.0.0.1 port (a random secret and a
one-client key file in a temporary folder), then runs closed-loop clients (each sends a request,
waits for the answer, honours ``Retry-After`` on 429) for a fixed time per level:

* levels 1, 4 and 16 concurrent clients: docs/s, windows/s, p50/p95 request latency, batch fill
  (windows per batch / max batch, share of batches closed full vs by the max wait) and mean
  queue wait, read from the server's own ``/metrics``;
* the overload point: more clients (24 to 128 by default) until the service answers 429,
  with the queue bounds given below (``--max-queued-windows``, ``--max-pending-requests``).

The server's own CPU time (``/proc``) is read around each level: on a shared machine docs per
CPU-second of the server says more than docs/s. Every loop is bounded by time and by a request
count and targets 127.0.0.1 only. Notes are
synthetic (``deid_pipeline.synth``, held-out split), cached in ``build/bench/``; nothing prints
note text.

    python bench/service_load.py --tiny                 # tiny random bundle (plumbing figures)
    python bench/service_load.py --bundle bundle        # the default model
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]


def _notes(n_notes: int, seed: int) -> list[dict[str, Any]]:
    cache = ROOT / "build" / "bench" / f"service_notes_{n_notes}_{seed}.jsonl"
    if not cache.exists():
        from deid_pipeline.synth import generate_notes

        cache.parent.mkdir(parents=True, exist_ok=True)
        rows = [
            item.note.model_dump(mode="json")
            for item in generate_notes(n_notes, seed=seed, split="heldout")
        ]
        tmp = cache.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        tmp.replace(cache)
    return [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _metrics(url: str, key: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {key}"}).text
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k != "le")
            if sample.name.endswith("_bucket"):
                continue
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


def _delta(after: dict[str, float], before: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_level(
    url: str,
    key: str,
    requests: list[list[dict[str, Any]]],
    clients: int,
    seconds: float,
    max_requests: int,
    server_pid: int,
) -> dict[str, Any]:
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"ok": 0, "overloaded": 0, "other": 0, "errors": 0, "docs": 0, "sent": 0}
    start = threading.Barrier(clients + 1)
    stop_at = 0.0

    def client(number: int) -> None:
        try:
            send_all(number)
        except httpx.HTTPError:
            with lock:
                counts["errors"] += 1

    def send_all(number: int) -> None:
        index = number
        with httpx.Client(timeout=300) as http:
            start.wait()
            while time.monotonic() < stop_at:
                with lock:
                    if counts["sent"] >= max_requests:
                        return
                    counts["sent"] += 1
                body = {"records": requests[index % len(requests)]}
                index += clients
                started = time.perf_counter()
                response = http.post(
                    f"{url}/v1/deidentify", json=body, headers={"Authorization": f"Bearer {key}"}
                )
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status_code == 200:
                        counts["ok"] += 1
                        counts["docs"] += len(response.json()["results"])
                        latencies.append(elapsed)
                    elif response.status_code == 429:
                        counts["overloaded"] += 1
                    else:
                        counts["other"] += 1
                if response.status_code == 429:
                    wait = float(response.headers.get("retry-after", "1"))
                    time.sleep(max(0.0, min(wait, stop_at - time.monotonic())))

    before = _metrics(url, key)
    cpu_before = _cpu_seconds(server_pid)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    # The clock starts when every client is ready, after the metrics call above.
    stop_at = time.monotonic() + seconds
    started = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(server_pid) - cpu_before
    after = _metrics(url, key)
    batches = _delta(after, before, "deid_batch_windows_count")
    windows = _delta(after, before, "deid_windows_total")
    full = _delta(after, before, "deid_batches_total{reason=full}")
    waits = _delta(after, before, "deid_queue_wait_seconds_count")
    latencies.sort()

    def pct(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests_ok": counts["ok"],
        "answered_429": counts["overloaded"],
        "other_status": counts["other"],
        "client_errors": counts["errors"],
        "docs_per_s": counts["docs"] / elapsed,
        "server_cpu_s": cpu,
        "server_cpu_share": cpu / elapsed,
        "docs_per_cpu_s": counts["docs"] / cpu if cpu else 0.0,
        "windows_per_s": windows / elapsed,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
        "windows_per_batch": windows / batches if batches else 0.0,
        "windows_per_request": windows / counts["ok"] if counts["ok"] else 0.0,
        "batches_full_share": full / batches if batches else 0.0,
        "queue_wait_ms": (
            _delta(after, before, "deid_queue_wait_seconds_sum") / waits * 1000 if waits else 0.0
        ),
        "inference_ms_per_batch": (
            _delta(after, before, "deid_inference_seconds_sum") / batches * 1000 if batches else 0.0
        ),
    }


def _print(row: dict[str, Any], max_batch: int) -> None:
    print(
        f"{row['clients']:>4} clients  {row['docs_per_s']:7.1f} docs/s  "
        f"{row['windows_per_s']:7.1f} windows/s  p50 {row['p50_ms']:7.0f} ms  "
        f"p95 {row['p95_ms']:7.0f} ms  fill {row['windows_per_batch'] / max_batch:5.2f} "
        f"({row['windows_per_batch']:.1f}/{max_batch}, {row['batches_full_share']:.0%} full)  "
        f"queue wait {row['queue_wait_ms']:6.1f} ms  "
        f"{row['windows_per_request']:.0f} windows/request  ok {row['requests_ok']}  "
        f"429 {row['answered_429']}  other {row['other_status']}  "
        f"errors {row['client_errors']}  server CPU {row['server_cpu_share']:.2f} cores "
        f"({row['docs_per_cpu_s']:.1f} docs per CPU-s)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--bundle", type=Path, default=None, help="bundle folder (bundle/)")
    source.add_argument("--tiny", action="store_true", help="a tiny random bundle")
    parser.add_argument("--levels", default="1,4,16", help="concurrent clients per level")
    parser.add_argument("--overload-levels", default="24,32,48,64,96,128")
    parser.add_argument("--seconds", type=float, default=10.0, help="per level")
    parser.add_argument("--max-requests", type=int, default=2000, help="per level")
    parser.add_argument("--notes", type=int, default=160, help="synthetic notes in the pool")
    parser.add_argument("--records-per-request", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="runtime CPU threads")
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--max-queued-windows", type=int, default=2048)
    parser.add_argument("--max-pending-requests", type=int, default=64)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    # A TERM (e.g. from `timeout`) unwinds like Ctrl-C, so the server below is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    with tempfile.TemporaryDirectory(prefix="deid-service-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        bundle = args.bundle or ROOT / "bundle"
        if args.tiny:
            from deid_pipeline.testing import make_tiny_bundle

            bundle = tmp / "tiny"
            make_tiny_bundle(bundle, with_onnx=True)
        key = secrets.token_urlsafe(32)
        from deid_pipeline.service.auth import hash_key

        (tmp / "keys").write_text(f"bench:{hash_key(key)}\n", encoding="utf-8")
        notes = _notes(args.notes, args.seed)
        per = args.records_per_request
        requests = [notes[i : i + per] for i in range(0, len(notes), per)]
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DEID_SECRET_KEY": secrets.token_urlsafe(48),
            "DEID_API_KEYS_FILE": str(tmp / "keys"),
            "DEID_MAX_BATCH": str(args.max_batch),
            "DEID_MAX_QUEUED_WINDOWS": str(args.max_queued_windows),
            "DEID_MAX_WINDOWS_PER_REQUEST": str(args.max_queued_windows),
            "DEID_MAX_PENDING_REQUESTS": str(args.max_pending_requests),
        }
        command = [
            sys.executable, "-m", "deid_pipeline", "serve", "--port", str(port),
            "--bundle", str(bundle), "--threads", str(args.threads), "--log-level", "warning",
        ]  # fmt: skip
        log_path = tmp / "server.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            from deid_pipeline.service.local import wait_ready

            ready = wait_ready(url, timeout_s=600)
            print(
                f"service: model_version={ready['model_version']} backend={ready['backend']} "
                f"bundle={ready['bundle_sha256'][:12]} threads={args.threads} "
                f"max_batch={args.max_batch} max_queued_windows={args.max_queued_windows} "
                f"max_pending_requests={args.max_pending_requests} cores={os.cpu_count()} "
                f"load_average={os.getloadavg()[0]:.1f}"
            )
            mean_chars = sum(len(n["text"]) for n in notes) / len(notes)
            print(
                f"load: {len(notes)} synthetic notes (mean {mean_chars:.0f} characters), "
                f"{per} per request, {args.seconds:.0f} s per level, closed-loop clients"
            )
            pid = server.pid
            _run_level(url, key, requests, 1, min(3.0, args.seconds), 20, pid)  # warm-up
            rows = []
            for clients in [int(x) for x in args.levels.split(",") if x]:
                row = _run_level(url, key, requests, clients, args.seconds, args.max_requests, pid)
                rows.append(row)
                _print(row, args.max_batch)
            # The overload point: the first level answered 429, ramping up until one is.
            overload = next((row for row in rows if row["answered_429"]), None)
            for clients in [int(x) for x in args.overload_levels.split(",") if x]:
                if overload is not None:
                    break
                row = _run_level(url, key, requests, clients, args.seconds, args.max_requests, pid)
                rows.append(row)
                _print(row, args.max_batch)
                if row["answered_429"]:
                    overload = row
            best = max(rows, key=lambda row: row["docs_per_s"])
            print(
                f"peak throughput {best['docs_per_s']:.1f} docs/s "
                f"({best['windows_per_s']:.1f} windows/s) at {best['clients']} clients; "
                f"{best['docs_per_cpu_s']:.1f} docs per server CPU-second there"
            )
            if overload is not None:
                print(
                    f"overload point: first 429 at {overload['clients']} concurrent clients "
                    f"({overload['answered_429']} of "
                    f"{overload['answered_429'] + overload['requests_ok']} answers), "
                    f"queue bound {args.max_queued_windows} windows / "
                    f"{args.max_pending_requests} requests"
                )
            else:
                print("overload point: no 429 up to the highest level")
            if args.json:
                args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
            errors = sum(row["other_status"] + row["client_errors"] for row in rows)
            return 1 if errors else 0
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    raise SystemExit(main())
