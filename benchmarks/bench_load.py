"""Load benchmark of ``POST /v1/match``: a real ``trialmatch serve`` on
127.0.0.1 with a registry of 1,000 compiled corpus trials, driven by 16
concurrent clients from this (second) process for a bounded time.

The registry (124 head-and-neck legacy XML trials and the first 876 TrialGPT
oncology trials of ``../shared/data/trials``) is compiled once and cached in
``--registry`` (default ``/tmp/trialmatch-bench-registry``).  Patients are the
example documents of ``examples/`` and the contract example, in turn, or the
documents of ``--patients`` (JSONL, e.g. ``trialmatch synth`` output).  Most
corpus trials are closed, so requests ask for every status (``status=any``).

The load generator is one asyncio process speaking raw HTTP/1.1 over one
keep-alive connection per client (closed loop: a client sends its next request
when the answer has arrived), so it takes little of the two cores it shares
with the server.  ``--workers N`` is the server's number of match processes
(one HTTP process hands each request to whichever is free).  Prints p50, p99,
mean, requests/s, errors, the CPU time the server (its HTTP process + its
match processes) and the generator spent per request (from /proc: what the
two shared cores were asked for, whatever else runs) and the load average for
each run::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_load.py [--seconds 30] [--clients 16]
        [--clients 1] [--repeat 3] [--workers 2] [--patients PATIENTS.jsonl]
        [--query 'status=any&limit=10'] [--query 'status=any']

Exits 0 with a message when ``../shared/data`` is absent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matcher.service.registry import Registry  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
TRIALS = DATA / "trials"
PATIENTS = sorted((ROOT / "examples").glob("*.json")) + [
    p for p in [ROOT.parent / "shared" / "contract" / "patient.example.json"] if p.is_file()]


def build_registry(folder: Path, size: int) -> Registry:
    """The cached registry of ``size`` compiled corpus trials."""
    registry = Registry(folder)
    if registry.count() >= size:
        return registry
    from criteria.sources import read_trial_paths
    from matcher.library import compile_each

    items = (read_trial_paths([TRIALS / "ctgov_legacy_xml_head_and_neck"])
             + read_trial_paths([TRIALS / "trialgpt_format_oncology_990.jsonl"]))[:size + 20]
    print(f"compiling {len(items)} corpus trials into {folder} (once) ...", file=sys.stderr)
    stored = 0
    for outcome in compile_each(items, workers=2):
        if outcome.compiled is not None and stored < size:
            registry.put_trial(outcome.compiled, "corpus", outcome.compiled.trial.source)
            stored += 1
    return registry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(folder: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "matcher.cli", "serve", "--data", str(folder), "--port",
         str(port), "--workers", str(workers)], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "ab"))  # noqa: SIM115


def wait_ready(base: str, key: str, workers: int, timeout: float = 180.0) -> None:
    """Health first, then enough matches that every worker has built its plan."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    body = PATIENTS[0].read_bytes()
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    with httpx.Client(timeout=120) as client:
        for _ in range(4 * workers):
            client.post(base + "/v1/match?status=any&limit=1", content=body, headers=headers)


def _request(port: int, key: str, query: str, body: bytes) -> bytes:
    return (f"POST /v1/match?{query} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
            f"authorization: Bearer {key}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Status and body size of one HTTP/1.1 response (Content-Length framed,
    as uvicorn sends JSON answers)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status, length


async def drive(port: int, key: str, query: str, bodies: list[bytes], clients: int,
                seconds: float) -> tuple[list[float], int, int, float]:
    """``clients`` closed-loop clients, one keep-alive connection each, for
    ``seconds``: latencies, errors, bytes received, wall time.  Raw HTTP/1.1 on
    asyncio streams: the generator shares the server's two cores, so it must
    cost little per request."""
    requests = [_request(port, key, query, b) for b in bodies]
    latencies: list[float] = []
    errors = 0
    sizes = 0
    kinds: dict[str, int] = {}
    stop = time.monotonic() + seconds

    async def client_loop(n: int) -> None:
        nonlocal errors, sizes
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
        i = n * 7  # each client starts at another patient
        try:
            while time.monotonic() < stop:
                payload = requests[i % len(requests)]
                i += 1
                start = time.perf_counter()
                try:
                    writer.write(payload)
                    status, size = await _response(reader)
                    ok = status == 200
                    sizes += size
                    if not ok:
                        kinds[f"HTTP {status}"] = kinds.get(f"HTTP {status}", 0) + 1
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    ok = False
                    kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                                   limit=1 << 24)
                latencies.append(time.perf_counter() - start)
                errors += not ok
        finally:
            writer.close()

    began = time.monotonic()
    await asyncio.gather(*(client_loop(n) for n in range(clients)))
    if kinds:
        print("errors: " + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())))
    return latencies, errors, sizes, time.monotonic() - began


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float:
    """CPU seconds of the server and its worker processes so far."""
    total = _cpu_seconds(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                total += _cpu_seconds(int(entry.name))
    return total


def read_bodies(path: Path | None) -> tuple[list[bytes], str]:
    """The request bodies: the example patients, or one patient document per
    line of a JSONL file (``trialmatch synth --n 200 --seed 1 --out DIR``)."""
    if path is None:
        return [p.read_bytes() for p in PATIENTS], f"{len(PATIENTS)} example documents"
    bodies = [line.encode() for line in path.read_text(encoding="utf-8").splitlines()
              if line.strip()]
    return bodies, f"{len(bodies)} documents of {path}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registry", default="/tmp/trialmatch-bench-registry")
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    ap.add_argument("--clients", type=int, action="append",
                    help="concurrent clients (repeat for several runs; default 16)")
    ap.add_argument("--workers", type=int, default=2, help="the server's match processes")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each setting")
    ap.add_argument("--patients", type=Path, help="JSONL of patient documents (default: examples)")
    ap.add_argument("--query", action="append",
                    help="query string(s) to measure (default: status=any&limit=10)")
    args = ap.parse_args()
    if not TRIALS.is_dir():
        print(f"benchmark skipped: {TRIALS} is absent")
        return 0
    folder = Path(args.registry)
    registry = build_registry(folder, args.trials)
    key = registry.create_key("bench")
    bodies, described = read_bodies(args.patients)
    print(f"registry: {registry.count()} trials; {args.workers} match processes, "
          f"{args.seconds:g} s per run, patients: {described} in turn")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(folder, port, args.workers)
    try:
        wait_ready(base, key, args.workers)
        for query in args.query or ["status=any&limit=10"]:
            for clients in args.clients or [16]:
                asyncio.run(drive(port, key, query, bodies, clients, args.warmup))
                for _ in range(args.repeat):
                    load = os.getloadavg()[0]
                    cpu_server, cpu_driver = server_cpu(server.pid), time.process_time()
                    cpu_http = _cpu_seconds(server.pid)
                    latencies, errors, size, wall = asyncio.run(
                        drive(port, key, query, bodies, clients, args.seconds))
                    n = len(latencies)
                    cpu_server = (server_cpu(server.pid) - cpu_server) / max(n, 1)
                    cpu_http = (_cpu_seconds(server.pid) - cpu_http) / max(n, 1)
                    cpu_driver = (time.process_time() - cpu_driver) / max(n, 1)
                    print(f"{query:24s} clients {clients:3d}  requests {n:6d}  errors {errors}  "
                          f"p50 {percentile(latencies, 0.5) * 1000:7.1f} ms  "
                          f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms  "
                          f"mean {statistics.mean(latencies) * 1000:7.1f} ms  "
                          f"{n / wall:6.1f} req/s  {size / max(n, 1) / 1024:6.1f} KiB/answer  "
                          f"CPU/request server {cpu_server * 1000:.1f} ms "
                          f"(HTTP {cpu_http * 1000:.1f}, "
                          f"match {(cpu_server - cpu_http) * 1000:.1f}) "
                          f"generator {cpu_driver * 1000:.2f} ms  "
                          f"load {load:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
