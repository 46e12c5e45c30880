"""The access policy, principals file and ``serve`` access options, without a server:
every RPC classified (a new one unclassified refuses to start), mutations known, the
token bucket's bound, tokens hashed and checked, ``multimargin principal add``, and the
unsafe option combinations ``serve`` refuses."""

from __future__ import annotations

import asyncio
import doctest
import importlib
import subprocess
from pathlib import Path

import pytest
import serverkit
from hypothesis import given
from hypothesis import strategies as st
from multimargin.contract import Rpc, contract_rpcs
from multimargin.errors import PermissionDeniedError, UnauthenticatedError
from multimargin.service.access import POLICY, Access, Guard, TokenBucket, checked_policy
from multimargin.service.principals import (
    ANONYMOUS,
    PrincipalsError,
    add_principal,
    load_principals,
    load_principals_text,
)
from multimargin.v1 import account_service_pb2 as acc
from multimargin.v1 import event_service_pb2 as ev

WORK = 2**10


@pytest.mark.parametrize(
    "name", ["multimargin.service.access", "multimargin.service.principals", "multimargin.service.server"]
)
def test_docstring_examples(name: str) -> None:
    failed, attempted = doctest.testmod(importlib.import_module(name))
    assert attempted > 0 and failed == 0


def test_the_policy_classifies_exactly_the_contract() -> None:
    assert set(checked_policy(contract_rpcs())) == {rpc.name for rpc in contract_rpcs()}


def test_an_unclassified_rpc_refuses_to_start() -> None:
    extra = Rpc(
        "multimargin.v1.AccountService", "CloseAccount", acc.GetAccountRequest, acc.GetAccountResponse
    )
    with pytest.raises(RuntimeError, match="CloseAccount: not classified"):
        Guard(None, [*contract_rpcs(), extra])
    policy = {**POLICY, "CloseAccount": POLICY["GetAccount"]}
    with pytest.raises(RuntimeError, match="CloseAccount: in POLICY but not an RPC"):
        checked_policy(contract_rpcs(), policy)
    wrong = {**POLICY, "WatchEvents": POLICY["GetAccount"]}  # WatchEventsRequest has no account_id
    with pytest.raises(RuntimeError, match="WatchEvents: the request has no field account_id"):
        checked_policy(contract_rpcs(), wrong)


def test_the_mutations_are_the_engines() -> None:
    from multimargin.state import handlers

    assert Guard(None, contract_rpcs()).mutations == set(handlers.MUTATIONS)


def test_operator_rpcs_are_the_ones_the_issue_names() -> None:
    operator = {n for n, r in POLICY.items() if r.access is Access.OPERATOR}
    assert operator == {
        "CreateAccount",
        "ListAccounts",
        "RunSettlement",
        "EndLiquidation",
        "SetVipLevel",
        "GetEngineStatus",
        "ReloadRulebook",
        "PreviewRulebook",
    }
    assert POLICY["UpdatePrices"].access is Access.MARKET_DATA


@given(
    rate=st.floats(0.5, 1000),
    burst=st.floats(1, 100),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=200),
)
def test_a_token_bucket_admits_at_most_burst_plus_rate_times_time(
    rate: float, burst: float, gaps: list[float]
) -> None:
    bucket = TokenBucket(rate, burst, 0.0)
    now, admitted = 0.0, 0
    for gap in gaps:
        now += gap
        wait = bucket.take(now)
        if wait == 0.0:
            admitted += 1
        else:
            assert 0 < wait <= 1 / rate + 1e-9
            assert bucket.take(now + wait + 1e-9) == 0.0  # the wait it names is enough
            admitted += 1
            now += wait + 1e-9
        assert admitted <= burst + rate * now + 1e-6


def test_tokens_are_stored_hashed_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "principals.toml"
    alice = add_principal(path, "alice", ["trader"], ["a-1", "a-2"], work=WORK)
    ops = add_principal(path, "ops", ["operator", "market_data"], "*", work=WORK)
    text = path.read_text("utf-8")
    assert alice not in text and ops not in text and alice.split("_", 2)[2] not in text
    assert path.stat().st_mode & 0o077 == 0
    principals = load_principals(path)
    got = principals.verify(alice)
    assert got is not None and got.name == "alice" and got.accounts == {"a-1", "a-2"}
    assert got.may_act_on("a-1") and not got.may_act_on("b-1")
    got_ops = principals.verify(ops)
    assert got_ops is not None and got_ops.may_act_on("b-1") and got_ops.accounts is None
    assert principals.verify(alice[:-1] + ("A" if alice[-1] != "A" else "B")) is None
    assert principals.verify("Bearer " + alice) is None
    with pytest.raises(PrincipalsError, match="exists already"):
        add_principal(path, "alice", ["trader"], [], work=WORK)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[principal]]\nname = "x"\nroles = ["admin"]\n', "roles"),
        ("[[principal]]\nname = 'x'\nroles = ['trader']\naccounts = 'all'\n", "accounts"),
        ("[[principal]]\nname = 'x'\nroles = ['trader']\nkey_id = 'zz'\n", "key_id"),
        (
            "[[principal]]\nname = 'x'\nroles = ['trader']\nkey_id = '0123456789abcdef'\n"
            "token_hash = 'sha1$x'\n",
            "token_hash",
        ),
        ("[[principal]]\nname = 'x'\nroles = ['trader']\ntoken = 'plain'\n", "unknown key 'token'"),
        ("principal = 1\n", "array of tables"),
        ("[[principal\n", "not TOML"),
    ],
)
def test_an_invalid_principals_file_is_refused_naming_what(text: str, message: str) -> None:
    with pytest.raises(PrincipalsError, match=message):
        load_principals_text(text)


def _guard(tmp_path: Path) -> tuple[Guard, str]:
    path = tmp_path / "p.toml"
    token = add_principal(path, "alice", ["trader"], ["a-1"], work=WORK)
    return Guard(load_principals(path), contract_rpcs()), token


def test_the_guard_authenticates_once_per_token(tmp_path: Path) -> None:
    guard, token = _guard(tmp_path)
    principals = guard.principals
    assert principals is not None
    calls = []
    verify = principals.verify
    principals.verify = lambda t: calls.append(t) or verify(t)  # type: ignore[method-assign]

    async def run() -> None:
        metadata = (("authorization", f"Bearer {token}"),)
        got = await asyncio.gather(*(guard.authenticate(metadata) for _ in range(20)))
        assert {p.name for p in got} == {"alice"}
        assert (await guard.authenticate(metadata)).name == "alice"
        for bad in ((), (("authorization", "Bearer nope"),), (("authorization", f"Bearer {token}x"),)):
            with pytest.raises(UnauthenticatedError):
                await guard.authenticate(bad)

    asyncio.run(run())
    assert calls == [token, token + "x"]  # 21 calls, one hash; a malformed token none


def test_the_guard_authorizes_by_account_and_role(tmp_path: Path) -> None:
    guard, token = _guard(tmp_path)
    alice = guard.principals.verify(token) if guard.principals else None
    assert alice is not None
    rpcs = {rpc.name: rpc for rpc in contract_rpcs()}
    guard.authorize(rpcs["GetAccount"], alice, acc.GetAccountRequest(account_id="a-1"))
    with pytest.raises(PermissionDeniedError) as denied:
        guard.authorize(rpcs["GetAccount"], alice, acc.GetAccountRequest(account_id="b-1"))
    assert denied.value.field == "account_id"
    with pytest.raises(PermissionDeniedError):
        guard.authorize(rpcs["ListAccounts"], alice, acc.ListAccountsRequest())
    watch = rpcs["WatchEvents"]
    guard.authorize(watch, alice, ev.WatchEventsRequest())  # all of hers
    with pytest.raises(PermissionDeniedError) as denied:
        guard.authorize(watch, alice, ev.WatchEventsRequest(account_ids=["a-1", "b-1"]))
    assert denied.value.field == "account_ids[1]"
    visible = guard.event_filter(alice)
    assert visible is not None and visible("a-1") and not visible("b-1")
    assert guard.event_filter(ANONYMOUS) is None
    guard.authorize(rpcs["ListAccounts"], ANONYMOUS, acc.ListAccountsRequest())


# ---- the command line -----------------------------------------------------------------------


def test_principal_add_prints_a_token_once(tmp_path: Path) -> None:
    path = tmp_path / "principals.toml"
    command = [str(serverkit.MULTIMARGIN), "principal", "add", str(path), "alice", "--role", "trader"]
    done = subprocess.run([*command, "--account", "a-1", "--account", "a-2"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("mm_") and "shown once" in done.stderr
    assert token not in path.read_text("utf-8")
    principal = load_principals(path).verify(token)
    assert principal is not None and principal.accounts == {"a-1", "a-2"}
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 2 and "exists already" in again.stderr and "Traceback" not in again.stderr


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(serverkit.MULTIMARGIN), "serve", "--data-dir", str(tmp_path / "data"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "refusing to serve without authentication"),
        (("--insecure-no-auth", "--listen", "0.0.0.0:0"), "needs a loopback address"),
        (("--insecure-no-auth", "--listen", "[::]:0"), "needs a loopback address"),
        (("--insecure-no-auth", "--auth", "p.toml"), "exclude each other"),
        (("--insecure-no-auth", "--tls-cert", "c.pem"), "go together"),
        (("--insecure-no-auth", "--tls-client-ca", "ca.pem"), "needs --tls-cert"),
        (("--auth", "/nonexistent/principals.toml"), "cannot read"),
    ],
)
def test_serve_refuses_unsafe_or_inconsistent_access_options(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = _serve(tmp_path, *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was opened
