"""``multimargin backup DATA_DIR DEST``: a consistent copy of a live store (SQLite's
online backup), which opens and recovers as the original."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from multimargin.cli import main
from multimargin.store import Store
from storekit import close, recover_fresh, submit_all


def test_a_live_store_is_backed_up_consistently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live, dest = tmp_path / "live", tmp_path / "backup.db"

    async def run() -> list[object]:
        store = Store.open(live)
        store.recover()
        try:
            written = await submit_all(store, 200)
            # The store is open, its last batches are still in the -wal file only.
            assert (live / "multimargin.db-wal").stat().st_size > 0
            assert main(["backup", str(live), str(dest)]) == 0
            await submit_all(store, 10)  # later writes are not in the backup
            return list(written)
        finally:
            await store.close()

    written = asyncio.run(run())
    assert "seq 200" in capsys.readouterr().out
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(dest, restored / "multimargin.db")
    store, records, _ = recover_fresh(restored)
    close(store)
    assert records == written


def test_backup_refuses_to_overwrite_or_to_invent_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["backup", str(empty), str(tmp_path / "b.db")]) == 1
    assert "no store" in capsys.readouterr().err
    assert list(empty.iterdir()) == []  # nothing created in the data directory
    close(Store.open(tmp_path / "data"))
    (tmp_path / "taken.db").write_bytes(b"keep me")
    assert main(["backup", str(tmp_path / "data"), str(tmp_path / "taken.db")]) == 1
    assert "exists" in capsys.readouterr().err
    assert (tmp_path / "taken.db").read_bytes() == b"keep me"
