// Durable mutations under k6 (gRPC): each virtual user owns an account and sends
// TransferIn of 1 USDT with a fresh request_id; a reply means the journal record is
// fsync'd. A second scenario, run after it, sends the health check to the same server.
//
//   k6 run -e TARGET=127.0.0.1:50051 -e VUS=64 -e DURATION=10s bench/k6/durable.js
//
// (bench/grpc_load.sh starts a server and runs this.)
import grpc from 'k6/net/grpc';
import { check } from 'k6';
import exec from 'k6/execution';

const TARGET = __ENV.TARGET || '127.0.0.1:50051';
const VUS = parseInt(__ENV.VUS || '64');
const DURATION = __ENV.DURATION || '10s';
const RUN = __ENV.RUN || `${Date.now()}`;

const client = new grpc.Client();
client.load(['../../proto'], 'multimargin/v1/account_service.proto', 'multimargin/v1/funds_service.proto');
const health = new grpc.Client();
health.load(['.'], 'health.proto');

export const options = {
  scenarios: {
    transfer_in: { executor: 'constant-vus', vus: VUS, duration: DURATION, exec: 'transferIn', tags: { rpc: 'TransferIn' } },
    health_check: {
      executor: 'constant-vus', vus: VUS, duration: DURATION, exec: 'healthCheck',
      startTime: DURATION, tags: { rpc: 'health.Check' },
    },
  },
  summaryTrendStats: ['avg', 'p(50)', 'p(99)', 'p(99.9)', 'max'],
  thresholds: {
    'grpc_req_duration{rpc:TransferIn}': ['p(99)>=0'],
    'grpc_req_duration{rpc:health.Check}': ['p(99)>=0'],
    'checks{rpc:TransferIn}': ['rate>0.999'],
    // Listed so that the summary shows each scenario's call count and rate.
    'iterations{scenario:transfer_in}': ['count>0'],
    'iterations{scenario:health_check}': ['count>0'],
  },
};

let connected = false;
let seq = 0;

function account() {
  return `k6-${RUN}-${exec.vu.idInTest}`;
}

export function transferIn() {
  if (!connected) {
    client.connect(TARGET, { plaintext: true });
    connected = true;
    client.invoke('multimargin.v1.AccountService/CreateAccount', {
      request_id: `${account()}-create`, account_id: account(), kind: 'ACCOUNT_KIND_FUTURES',
    });
  }
  seq += 1;
  const res = client.invoke('multimargin.v1.FundsService/TransferIn', {
    request_id: `${account()}-${seq}`, account_id: account(), asset: 'USDT', amount: '1',
  });
  check(res, { 'TransferIn OK': (r) => r && r.status === grpc.StatusOK });
}

let healthConnected = false;

export function healthCheck() {
  if (!healthConnected) {
    health.connect(TARGET, { plaintext: true });
    healthConnected = true;
  }
  const res = health.invoke('grpc.health.v1.Health/Check', {});
  check(res, { 'health OK': (r) => r && r.status === grpc.StatusOK });
}
