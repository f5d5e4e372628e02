// A short load run against MC itself (not COS): pack GETs and evidence POSTs.
// Used to measure MC's own latencies for docs/conductor.md; not part of the gates.
//   k6 run -e MC_URL=http://127.0.0.1:8700 -e RATE=100 -e DURATION=10s k6/mc.js
import http from 'k6/http';
import { check } from 'k6';
import crypto from 'k6/crypto';
import exec from 'k6/execution';

const MC = (__ENV.MC_URL || 'http://127.0.0.1:8700').replace(/\/+$/, '');
const RATE = Number(__ENV.RATE || 100);
const DURATION = __ENV.DURATION || '10s';

function scenario(exec_, startTime) {
  return {
    executor: 'constant-arrival-rate', exec: exec_, rate: RATE, timeUnit: '1s', duration: DURATION,
    preAllocatedVUs: 20, maxVUs: 100, startTime,
  };
}

export const options = {
  scenarios: { pack: scenario('pack', '0s'), evidence: scenario('evidence', '0s') },
  thresholds: {
    'http_req_duration{op:pack}': ['p(95)>=0'],
    'http_req_duration{op:evidence}': ['p(95)>=0'],
  },
  summaryTrendStats: ['med', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const res = http.post(`${MC}/v1/tokens`, {
    grant_type: 'client_credentials',
    client_id: __ENV.MC_CLIENT_ID || 'companyos',
    client_secret: __ENV.MC_CLIENT_SECRET || 'companyos-dev-secret',
    scope: 'policy:read evidence:write',
  });
  return { token: res.json().access_token, run: `${Date.now()}` };
}

export function pack(data) {
  const res = http.get(`${MC}/v1/policy/packs/policy-pack-v0`, {
    headers: { Authorization: `Bearer ${data.token}` }, tags: { op: 'pack' },
  });
  check(res, { 'pack 200': (r) => r.status === 200 });
}

export function evidence(data) {
  const i = exec.scenario.iterationInTest;
  const body = JSON.stringify({
    release: '2026.11.1', kind: 'test-report', produced_at: new Date().toISOString(),
    subject: { name: 'svc', digest: { sha256: crypto.sha256(`${data.run}-${i}`, 'hex') } },
  });
  const res = http.post(`${MC}/v1/evidence`, body, {
    headers: {
      Authorization: `Bearer ${data.token}`, 'Content-Type': 'application/json',
      'Idempotency-Key': `k6-mc-${data.run}-${i}`, 'Content-Digest': `sha-256=:${crypto.sha256(body, 'base64')}:`,
    },
    tags: { op: 'evidence' },
  });
  check(res, { 'evidence 201': (r) => r.status === 201 });
}
