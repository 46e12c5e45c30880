"""``make run-cluster``: a throw-away PostgreSQL in ./data/pg plus three instances.

PostgreSQL listens on 127.0.0.1:55432 (``multimargin dev-postgres``); the instances on
127.0.0.1:50051, :50052 and :50053, plaintext without authentication (loopback only),
with a lease time of 5 s. ``--demo`` seeds the demo accounts and prices once every
shard has an owner (the first instance does it). Ctrl-C stops the instances (each gives
its shards back), then PostgreSQL. ``make reset`` deletes ./data.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--pg-port", type=int, default=55432)
    parser.add_argument("--ports", default="50051,50052,50053")
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args()
    data = args.data.resolve()
    (data / "pg").mkdir(parents=True, exist_ok=True)
    (data / "pg").chmod(0o755)
    data.chmod(data.stat().st_mode | 0o055)  # the unprivileged PostgreSQL user must reach ./data/pg
    pg = subprocess.Popen(
        [str(BIN / "multimargin"), "dev-postgres", str(data / "pg"), "--port", str(args.pg_port)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert pg.stdout is not None
    line = pg.stdout.readline().strip()
    if not line.startswith("PostgreSQL ready: "):
        print(f"PostgreSQL did not start (see {data / 'pg' / 'postgres.log'})", file=sys.stderr)
        pg.terminate()
        return 1
    url = line.removeprefix("PostgreSQL ready: ")
    print(f"== PostgreSQL: {url}", flush=True)
    instances = []
    for n, port in enumerate(args.ports.split(",")):
        cmd = [
            str(BIN / "multimargin"),
            "serve",
            "--store",
            url,
            "--listen",
            f"127.0.0.1:{port}",
            "--insecure-no-auth",
            "--data-dir",
            str(data / "cluster"),
        ]
        if args.demo and n == 0:
            cmd.append("--demo")
        instances.append(subprocess.Popen(cmd, start_new_session=True))
        print(f"== instance {n + 1}: 127.0.0.1:{port}", flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(p.poll() is None for p in instances):
        time.sleep(0.2)
    for p in instances:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    codes = [p.wait() for p in instances]
    pg.send_signal(signal.SIGTERM)
    pg.wait(60)
    print(f"== stopped (instances exited {codes})", flush=True)
    return 0 if all(c == 0 for c in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
