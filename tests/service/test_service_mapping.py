"""The service layer in process: the error mapping, request ids, the JSON log format and
the descriptor-driven registry (no server; see test_server.py for the wire)."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import pytest
from google.rpc import code_pb2, error_details_pb2
from multimargin.errors import (
    AccountNotFoundError,
    InternalError,
    InvalidInputError,
    MarginError,
    PriceUnavailableError,
    RuleViolationError,
    VersionConflictError,
)
from multimargin.service import dispatch, errors, interceptors, logs

PROTO_DIR = Path(__file__).resolve().parents[2] / "proto" / "multimargin" / "v1"


def unpack(
    status: object,
) -> tuple[list[error_details_pb2.ErrorInfo], list[error_details_pb2.PreconditionFailure]]:
    infos, failures = [], []
    for detail in status.details:  # type: ignore[attr-defined]
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            infos.append(info)
        else:
            failure = error_details_pb2.PreconditionFailure()
            assert detail.Unpack(failure)
            failures.append(failure)
    return infos, failures


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInputError("not a decimal", "INVALID_DECIMAL", "amount"), code_pb2.INVALID_ARGUMENT),
        (InvalidInputError("inverse", "CONTRACT_NOT_SUPPORTED", "symbol"), code_pb2.INVALID_ARGUMENT),
        (AccountNotFoundError("no account 'x'"), code_pb2.NOT_FOUND),
        (
            PriceUnavailableError("no ETH price", "PRICE_UNAVAILABLE", "prices.ETH"),
            code_pb2.FAILED_PRECONDITION,
        ),
        (RuleViolationError("too much", "EXCEEDS_MAX_TRANSFER", "amount"), code_pb2.FAILED_PRECONDITION),
        (RuleViolationError("reused", "IDEMPOTENCY_KEY_REUSED", "request_id"), code_pb2.FAILED_PRECONDITION),
        (VersionConflictError("version is 7"), code_pb2.ABORTED),
        (InternalError("state hash mismatch", "INTERNAL"), code_pb2.INTERNAL),
        (MarginError("bare base class"), code_pb2.INTERNAL),
    ],
)
def test_each_error_class_maps_to_its_spec_row(error: MarginError, code: int) -> None:
    status = errors.error_status(error)
    assert status.code == code
    infos, failures = unpack(status)
    assert len(infos) == 1 and not failures
    assert infos[0].reason == error.reason
    assert infos[0].domain == "multimargin"
    assert dict(infos[0].metadata) == ({"field": error.field} if error.field else {})
    assert error.message in status.message and error.reason in status.message


def test_subclasses_map_like_their_base() -> None:
    class Stale(VersionConflictError):
        pass

    assert errors.status_code_of(Stale("x")) == code_pb2.ABORTED


def test_no_field_no_metadata() -> None:
    infos, _ = unpack(errors.error_status(InvalidInputError("bad rulebook", "INVALID_ARGUMENT")))
    assert dict(infos[0].metadata) == {}


def test_one_condition_has_no_precondition_failure() -> None:
    status = errors.error_status(RuleViolationError("terms not accepted", "PRO_TERMS_NOT_ACCEPTED"))
    infos, failures = unpack(status)
    assert [i.reason for i in infos] == ["PRO_TERMS_NOT_ACCEPTED"] and not failures


def test_several_conditions_are_all_listed() -> None:
    conditions = [
        ("HAS_OPEN_POSITIONS", "BTCUSDT position of 0.5"),
        ("HAS_OPEN_ORDERS", "1 open order"),
        ("HAS_LIABILITIES", "USDT wallet is -12"),
    ]
    error = RuleViolationError(conditions[0][1], conditions[0][0], "target_mode", conditions)
    status = errors.error_status(error)
    assert status.code == code_pb2.FAILED_PRECONDITION
    infos, failures = unpack(status)
    assert len(infos) == 1 and infos[0].reason == "HAS_OPEN_POSITIONS"
    assert dict(infos[0].metadata) == {"field": "target_mode"}
    assert len(failures) == 1
    assert [(v.type, v.description) for v in failures[0].violations] == conditions
    for reason, message in conditions:
        assert reason in status.message and message in status.message


def test_long_messages_are_clipped_to_fit_trailing_metadata() -> None:
    huge = "x" * (1 << 20)
    status = errors.error_status(AccountNotFoundError(f"no account {huge!r}", field=f"a.{huge}"))
    assert len(status.SerializeToString()) < 2 * errors.MAX_MESSAGE_CHARS
    conditions = [("HAS_OPEN_ORDERS", huge), ("HAS_LIABILITIES", huge)]
    status = errors.error_status(RuleViolationError(huge, "HAS_OPEN_ORDERS", None, conditions))
    assert len(status.SerializeToString()) < 8 * errors.MAX_MESSAGE_CHARS
    assert "HAS_OPEN_ORDERS" in status.message and "HAS_LIABILITIES" in status.message


def test_internal_status_is_generic() -> None:
    status = errors.internal_status()
    assert status.code == code_pb2.INTERNAL
    assert status.message == errors.INTERNAL_MESSAGE
    infos, _ = unpack(status)
    assert [(i.reason, i.domain) for i in infos] == [("INTERNAL", "multimargin")]


class _Request:
    def __init__(self, request_id: str | None) -> None:
        if request_id is not None:
            self.request_id = request_id


@pytest.mark.parametrize(
    ("own", "metadata", "expected"),
    [
        ("req-1", (("x-request-id", "meta-1"),), "req-1"),
        ("", (("x-request-id", "meta-1"),), "meta-1"),
        (None, (("other", "x"), ("x-request-id", "meta-2")), "meta-2"),
        ("", (("x-request-id", ""),), None),
        (None, None, None),
    ],
)
def test_request_id_choice(own: str | None, metadata: object, expected: str | None) -> None:
    chosen = interceptors.choose_request_id(_Request(own), metadata)
    if expected is None:
        assert re.fullmatch(r"[0-9a-f]{32}", chosen)
    else:
        assert chosen == expected


@pytest.mark.parametrize(
    ("own", "metadata", "field"),
    [
        ("has space", (("x-request-id", "ok"),), "request_id"),
        ("", (("x-request-id", "x" * 129),), "x-request-id"),
        ("", (("x-request-id", "bad\nline"),), "x-request-id"),
        (None, (("x-request-id", "a b"),), "x-request-id"),
    ],
)
def test_a_request_id_that_is_not_valid_is_refused(own: str | None, metadata: object, field: str) -> None:
    # Not replaced by a fresh one: the client would see (and log) an id it never sent.
    with pytest.raises(InvalidInputError) as refused:
        interceptors.choose_request_id(_Request(own), metadata)
    assert (refused.value.reason, refused.value.field) == ("INVALID_ARGUMENT", field)


def test_json_log_line() -> None:
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        record = logging.LogRecord(
            "multimargin.service", logging.ERROR, __file__, 1, "unexpected %s", ("fault",), sys.exc_info()
        )
    record.fields = {"request_id": "r-1", "message": "must not override", "latency_ms": 1.5}
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "unexpected fault"
    assert parsed["level"] == "ERROR" and parsed["logger"] == "multimargin.service"
    assert parsed["request_id"] == "r-1" and parsed["latency_ms"] == 1.5
    assert "RuntimeError: boom" in parsed["exc"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", parsed["ts"])


def test_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        logs.configure_logging("LOUD")


def test_registry_serves_exactly_the_contract() -> None:
    from_protos: set[str] = set()
    for path in PROTO_DIR.glob("*.proto"):
        text = path.read_text("utf-8")
        for service, body in re.findall(r"^service (\w+) \{(.*?)^\}", text, re.S | re.M):
            from_protos.update(f"/multimargin.v1.{service}/{rpc}" for rpc in re.findall(r"rpc (\w+)\(", body))
    rpcs = dispatch.contract_rpcs()
    assert {rpc.full_method for rpc in rpcs} == from_protos
    for rpc in rpcs:
        assert rpc.request_class.__name__ == f"{rpc.name}Request"
        assert rpc.response_class.__name__ == f"{rpc.name}Response"
    assert len({rpc.name for rpc in rpcs}) == len(rpcs)  # the engine dispatches on the short name
    assert dispatch.contract_services() == sorted({rpc.service for rpc in rpcs})
