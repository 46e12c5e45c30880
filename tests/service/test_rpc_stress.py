"""`multimargin stress ACCOUNT --server`: a live account stressed through the server's
Simulate RPC prints the same table as the same account stressed locally as a SPEC §10
scenario (its state and the server's prices), and finds the same liquidation price.
Nothing on the server changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import rpckit
from rpckit import Rpc, new_id, scenario_of

MULTIMARGIN = str(Path(sys.executable).parent / "multimargin")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MULTIMARGIN, *args], capture_output=True, text=True, check=False)


def body(stdout: str) -> list[str]:
    """The output without its first line (which names the account or file) and the
    files written."""
    return [line for line in stdout.splitlines()[1:] if "wrote" not in line]


def test_a_live_account_stresses_like_its_scenario(tmp_path: Path) -> None:
    with rpckit.serving(tmp_path / "data") as (server, rpc):
        rpc = Rpc(server.channel)
        account_id = new_id()
        rpc.create("FUTURES", account_id)
        rpc.transfer_in(account_id, "USDT", "5000")
        rpc.transfer_in(account_id, "USDC", "1000")
        rpc.set_position(account_id, symbol="BTCUSDT", size="0.5", entry_price="60000", leverage=20)
        rpc.set_position(account_id, symbol="BTCUSDC", size="0.1", entry_price="60000", leverage=20)
        before = rpc.status()

        live = run(
            "stress", account_id, "--server", server.address, "--asset", "BTC",
            "--from", "-30%", "--to", "10%", "--steps", "8", "--out", str(tmp_path / "live"),
        )  # fmt: skip
        assert live.returncode == 0, live.stderr
        assert rpc.status() == before  # a simulation changes nothing

        scenario = scenario_of(rpc.account(account_id), rpc.prices())
        path = tmp_path / f"{account_id}.json"
        path.write_text(json.dumps(scenario))
        local = run(
            "stress", str(path), "--asset", "BTC", "--from", "-30%", "--to", "10%", "--steps", "8",
            "--out", str(tmp_path / "local"),
        )  # fmt: skip
        assert local.returncode == 0, local.stderr

    assert (
        live.stdout.splitlines()[0]
        == f"Stress of {account_id}: FUTURES SINGLE_ASSET, moving BTC, BTCUSDC, BTCUSDT"
    )
    assert body(live.stdout) == body(local.stdout)
    assert any("liquidation price (down)" in line for line in body(live.stdout)), live.stdout
    assert (tmp_path / "live.png").stat().st_size > 10_000 and (tmp_path / "live.svg").exists()
