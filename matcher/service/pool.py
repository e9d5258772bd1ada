"""Match processes: ``trialmatch serve --workers N`` matches in N processes
fed by the one HTTP process, each request going to whichever is free.

Why not N uvicorn workers: they share the listening socket and each keeps the
keep-alive connections it accepted, and which worker accepts a connection is a
race.  With 16 clients connecting at once one worker often took 10 to 16 of
them, so half the cores idled while the busy worker's queue set the latency.
Here the HTTP process only parses HTTP and checks the key; each match process
holds its own match plan and runs one request at a time (no threads fighting
for one interpreter lock), and the requests wait in one queue, first come first
served.

Each process opens the registry itself and rebuilds its plan when the
registry's generation changes, as the in-process engine does.  A process that
dies is started again; the request it held is answered 503.  The job and the
answer cross a pipe as pickles (a few kilobytes in, the answer's bytes out);
nothing is kept.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue
import signal
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from matcher.service.answer import Answer, MatchJob, Refusal, answer

_log = logging.getLogger("trialmatch.service")
_CONTEXT = multiprocessing.get_context("spawn")  # no fork of a threaded server


class MatchProcessError(RuntimeError):
    """A match process could not start, or raised on a request (its
    exception's type name only: a message could hold patient data)."""


class MatchProcessLost(RuntimeError):
    """The match process holding a request died (another was started)."""


def _serve(conn: Connection, data_dir: str) -> None:
    """A match process: build the plan, then answer jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    from matcher.service.engine import Engine
    from matcher.service.registry import Registry

    try:
        engine = Engine(Registry(data_dir))
        engine.plan()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which refuses to start
        conn.send(("failed", type(exc).__name__))
        return
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if job is None:
            return
        try:
            outcome: Any = answer(engine, job)
        except Exception as exc:  # noqa: BLE001 - the type goes back, never the message
            outcome = ("error", type(exc).__name__)
        conn.send(outcome)


class _Process:
    def __init__(self, data_dir: str):
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_serve, args=(child, data_dir),
                                        name="trialmatch-match", daemon=True)
        self.process.start()
        child.close()

    def wait_ready(self) -> None:
        try:
            state, detail = self.conn.recv()
        except (EOFError, OSError):
            state, detail = "failed", "exited"
        if state != "ready":
            raise MatchProcessError(f"a match process could not start: {detail}")

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()


class MatchPool:
    """``size`` match processes over the registry in ``data_dir``."""

    def __init__(self, data_dir: Path | str, size: int):
        if size < 1:
            raise ValueError("a match pool needs at least one process")
        self.data_dir = str(data_dir)
        self.size = size
        self._free: queue.SimpleQueue[_Process] = queue.SimpleQueue()
        self._processes: list[_Process] = []
        # One thread per process: a thread takes a free process (there is
        # always one), sends the job and waits for the answer.
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="match")

    def start(self) -> None:
        """Start every process and wait until each has built its plan."""
        self._processes = [_Process(self.data_dir) for _ in range(self.size)]
        for p in self._processes:
            p.wait_ready()
            self._free.put(p)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        for p in self._processes:
            p.stop()
        self._processes = []

    async def run(self, job: MatchJob) -> Answer | Refusal:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._call, job)

    def _call(self, job: MatchJob) -> Answer | Refusal:
        proc = self._free.get()
        try:
            proc.conn.send(job)
            outcome = proc.conn.recv()
        except (EOFError, OSError):
            proc = self._replace(proc)
            raise MatchProcessLost("a match process died") from None
        finally:
            self._free.put(proc)
        if isinstance(outcome, tuple):
            raise MatchProcessError(outcome[1])
        return outcome  # type: ignore[no-any-return]

    def _replace(self, dead: _Process) -> _Process:
        _log.error("a match process died; starting another")
        dead.process.join(timeout=1)
        dead.conn.close()
        fresh = _Process(self.data_dir)
        fresh.wait_ready()
        self._processes = [fresh if p is dead else p for p in self._processes]
        return fresh
