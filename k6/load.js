// COS under load: reads (POST /v1/authorize, GET /v1/attestation with and without
// If-None-Match) and writes (POST /v1/evidence) at a constant arrival rate.
//
//   k6 run -e COS_URL=http://127.0.0.1:8600 -e RATE=200 -e DURATION=30s -e WARMUP=5s \
//          -e READ_RATIO=0.8 -e READ_P95_MS=350 -e WRITE_P95_MS=700 -e SUMMARY_DIR=reports/load k6/load.js
//
// harness/load/runner.py:run_load drives this script (budgets as plain numbers); docs/k6.md
// lists every variable.

import { read as cosRead, setupSession, submitEvidence } from './lib/cos.js';
import { buildOptions } from './lib/profile.js';
import { summaryOutputs } from './lib/summary.js';

const built = buildOptions({ read: 'read', write: 'write' });
export const options = built.options;

export function setup() {
  return setupSession();
}

export function read(data) {
  cosRead(data);
}

export function write(data) {
  submitEvidence(data);
}

export function handleSummary(data) {
  return summaryOutputs(data, built.profile, built.budgets, __ENV.TITLE || 'COS load');
}
