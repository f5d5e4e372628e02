// The baseline: a bare Starlette JSON endpoint (GET BARE_URL -> {"ok": true}) under the
// same arrival-rate machinery, so scripts/bench.py can report COS throughput relative to
// what Python + uvicorn manage with no work at all.  Every request is a "read".

import http from 'k6/http';
import { check } from 'k6';
import { buildOptions, READ } from './lib/profile.js';
import { summaryOutputs } from './lib/summary.js';

const built = buildOptions({ read: 'read' });
export const options = built.options;

const URL = __ENV.BARE_URL || 'http://127.0.0.1:8000/';

export function read() {
  const res = http.get(URL, { tags: { kind: READ, op: 'bare' }, timeout: __ENV.REQUEST_TIMEOUT || '10s' });
  check(res, { 'bare 200': (r) => r.status === 200 }, { kind: READ });
}

export function handleSummary(data) {
  return summaryOutputs(data, built.profile, built.budgets, __ENV.TITLE || 'bare endpoint');
}
