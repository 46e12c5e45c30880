"""Logging is off the hot path: records go through a bounded queue to a writer thread;
a sink that cannot keep up costs dropped (and counted) records, never stalled calls."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import grpc
import pytest
import serverkit
from grpc_health.v1 import health_pb2, health_pb2_grpc
from multimargin.service import logs
from multimargin.v1 import operator_service_pb2 as op
from multimargin.v1 import operator_service_pb2_grpc as op_grpc


@pytest.fixture
def blocked_pipe() -> Iterator[TextIO]:
    """The writing end of a pipe nobody reads (until the test is over): writes block
    once its buffer is full."""
    read_fd, write_fd = os.pipe()
    stream = os.fdopen(write_fd, "w", encoding="utf-8")
    saved = logging.getLogger().handlers[:], logging.getLogger().level
    try:
        yield stream
    finally:
        drained = threading.Event()

        def drain() -> None:
            while os.read(read_fd, 1 << 16):
                pass
            drained.set()

        threading.Thread(target=drain, daemon=True).start()
        logs.shutdown_logging()
        stream.close()
        drained.wait(10)
        os.close(read_fd)
        root = logging.getLogger()
        root.handlers[:], level = saved
        root.setLevel(level)


def test_a_blocked_sink_does_not_block_logging_and_drops_are_counted(blocked_pipe: TextIO) -> None:
    logs.configure_logging("INFO", stream=blocked_pipe, queue_size=100)
    access = logging.getLogger("multimargin.access")
    before = logs.dropped_records()
    start = time.perf_counter()
    for n in range(20_000):  # ~4 MB of lines into a 64 KiB pipe
        access.info("rpc", extra={"fields": {"method": "/x/Y", "request_id": f"r-{n}", "code": "OK"}})
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"20,000 log calls took {elapsed:.1f}s: logging waited on the sink"
    assert logs.dropped_records() - before > 10_000


def test_lines_keep_their_format_and_exceptions(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with path.open("w", encoding="utf-8") as stream:
            logs.configure_logging("INFO", stream=stream)
            try:
                raise RuntimeError("boom")
            except RuntimeError:
                logging.getLogger("multimargin.service").exception("unexpected %s", "fault")
            logging.getLogger("multimargin.access").info("rpc", extra={"fields": {"code": "OK"}})
            logs.shutdown_logging()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert [line["message"] for line in lines] == ["unexpected fault", "rpc"]
    assert "RuntimeError: boom" in lines[0]["exc"] and lines[1]["code"] == "OK"


def test_a_server_whose_log_nobody_reads_keeps_serving(tmp_path: Path) -> None:
    port = serverkit.free_port()
    command = [str(serverkit.MULTIMARGIN), "serve", "--insecure-no-auth", "--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(
        [*command, "--data-dir", str(tmp_path / "data")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,  # nobody reads it while the calls run
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            deadline = time.monotonic() + 60
            while True:
                try:
                    health = health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(), timeout=1
                    )
                    if health.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
                    time.sleep(0.05)
            stub = op_grpc.OperatorServiceStub(channel)
            start = time.perf_counter()
            for n in range(3000):  # ~250 bytes of access log each: far more than a pipe holds
                stub.GetEngineStatus(
                    op.GetEngineStatusRequest(), timeout=5, metadata=(("x-request-id", f"q-{n}"),)
                )
            elapsed = time.perf_counter() - start
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    assert elapsed < 60
    records = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    # Every call's line was written once the pipe was read, or counted as dropped.
    dropped = sum(r["dropped"] for r in records if r["message"] == "log records dropped")
    written = {r["request_id"] for r in records if r.get("logger") == "multimargin.access"}
    assert len(written & {f"q-{n}" for n in range(3000)}) + dropped >= 3000


def test_an_access_line_reads_as_a_log_record_line(tmp_path: Path) -> None:
    """The access log's short path (no LogRecord) writes what the record path writes."""
    path = tmp_path / "log.jsonl"
    fields = {"method": "/m/X", "request_id": "r-1", "principal": None, "code": "OK", "latency_ms": 0.5}
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with path.open("w", encoding="utf-8") as stream:
            logs.configure_logging("INFO", stream=stream)
            logs.log_access(logging.INFO, fields)
            logging.getLogger(logs.ACCESS_LOGGER).info("rpc", extra={"fields": fields})
            logs.log_access(logging.DEBUG, fields)  # below the level: not written
            logs.shutdown_logging()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    short, long = (json.loads(line) for line in path.read_text("utf-8").splitlines())
    assert list(short) == list(long) == ["ts", "level", "logger", "message", *fields]
    assert {**short, "ts": None} == {**long, "ts": None}
    assert short["logger"] == "multimargin.access" and short["level"] == "INFO"


def test_an_access_line_goes_through_logging_when_another_handler_listens() -> None:
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        with open(os.devnull, "w", encoding="utf-8") as stream:
            logs.configure_logging("INFO", stream=stream)
            collect = Collect()
            root.addHandler(collect)
            logs.log_access(logging.INFO, {"code": "OK"})
            root.removeHandler(collect)
            parent = logging.getLogger("multimargin")
            parent.addHandler(collect)
            try:
                logs.log_access(logging.INFO, {"code": "ALSO"})
            finally:
                parent.removeHandler(collect)
            logs.shutdown_logging()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    got = [(r.name, r.getMessage(), getattr(r, "fields", None)) for r in seen]
    assert got == [
        ("multimargin.access", "rpc", {"code": "OK"}),
        ("multimargin.access", "rpc", {"code": "ALSO"}),
    ]


def test_timestamps_match_datetime() -> None:
    import datetime

    for created in (0.0, 1764647000.0, 1764647000.9995, 1764647000.1239, 1764647059.9999996):
        expected = datetime.datetime.fromtimestamp(created, tz=datetime.UTC)
        assert logs._timestamp(created) == expected.isoformat(timespec="milliseconds").replace("+00:00", "Z")
