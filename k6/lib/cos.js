// The COS client for load scripts: login, the read and write calls, tagging and checks.
//
// Every request carries `kind` (read | write | auth) and `op` tags; scenario tags add
// `phase` (warmup | measure).  Thresholds and reports slice on those tags.  The wire
// shapes follow docs/seam.md (COS section).

import http from 'k6/http';
import { check, fail } from 'k6';
import crypto from 'k6/crypto';
import exec from 'k6/execution';
import { READ, WRITE } from './profile.js';

export const AUTH = 'auth';

const JSON_HEADERS = { 'Content-Type': 'application/json' };
const TIMEOUT = __ENV.REQUEST_TIMEOUT || '10s';
const RELOGIN_MARGIN_MS = 30 * 1000;

export function baseUrl() {
  return (__ENV.COS_URL || 'http://127.0.0.1:8600').replace(/\/+$/, '');
}

function credentials() {
  return { username: __ENV.COS_USERNAME || 'qa', password: __ENV.COS_PASSWORD || 'qa-dev-password' };
}

// POST /v1/login -> {token, expiresAt}; `fatal` aborts setup with the server's answer.
export function login(url, fatal) {
  const res = http.post(`${url}/v1/login`, JSON.stringify(credentials()), {
    headers: JSON_HEADERS,
    tags: { kind: AUTH, op: 'login' },
    responseType: 'text',
    timeout: TIMEOUT,
  });
  const ok = check(res, { 'login 200': (r) => r.status === 200 }, { kind: AUTH });
  if (!ok) {
    const msg = `login as ${credentials().username} at ${url} failed: ${res.status} ${res.error || ''} ${res.body || ''}`;
    if (fatal) fail(msg);
    console.error(msg);
    return null;
  }
  const body = res.json();
  return { token: body.access_token, expiresAt: Date.now() + 1000 * Number(body.expires_in || 300) };
}

// Runs once: N logins (TOKENS, default 4) handed out to VUs by __VU, the current
// attestation ETag for conditional reads, and a run id that keeps idempotency keys
// unique across runs against the same COS.
export function setupSession() {
  const url = baseUrl();
  const n = Math.max(1, Number(__ENV.TOKENS || 4));
  const tokens = [];
  for (let i = 0; i < n; i++) tokens.push(login(url, true));
  const att = http.get(`${url}/v1/attestation`, {
    tags: { kind: READ, op: 'attestation' },
    responseType: 'text',
    timeout: TIMEOUT,
  });
  if (att.status !== 200) fail(`GET ${url}/v1/attestation -> ${att.status} ${att.error || ''}`);
  return {
    url,
    tokens,
    etag: att.headers.Etag || att.headers.ETag || '',
    runId: `${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}`,
  };
}

// Per-VU token: starts from the setup token for this VU; re-login (tagged kind:auth, so
// outside the read/write figures) only if the run outlives the token.
let session = null;
export function token(data) {
  if (session === null) session = data.tokens[(exec.vu.idInTest - 1) % data.tokens.length];
  if (Date.now() > session.expiresAt - RELOGIN_MARGIN_MS) session = login(data.url, false) || session;
  return session.token;
}

function bearer(data, extra) {
  return { Authorization: `Bearer ${token(data)}`, ...JSON_HEADERS, ...(extra || {}) };
}

const ROLES = [['developer'], ['viewer'], ['release-manager']];
const ACTIONS = ['read', 'submit-evidence', 'deploy'];

// Read: POST /v1/authorize, a Rego decision.
export function authorize(data) {
  const i = exec.scenario.iterationInTest;
  const body = {
    subject: { user: 'qa', roles: ROLES[i % ROLES.length] },
    action: ACTIONS[i % ACTIONS.length],
    resource: `release/2026.11.${i % 10}`,
  };
  const res = http.post(`${data.url}/v1/authorize`, JSON.stringify(body), {
    headers: bearer(data),
    tags: { kind: READ, op: 'authorize' },
    timeout: TIMEOUT,
  });
  check(res, { 'authorize 200': (r) => r.status === 200 }, { kind: READ });
  return res;
}

// Read: GET /v1/attestation, unconditional (200) or with If-None-Match (304).
export function attestation(data, conditional) {
  const headers = conditional && data.etag ? { 'If-None-Match': data.etag } : {};
  const op = conditional ? 'attestation_conditional' : 'attestation';
  const res = http.get(`${data.url}/v1/attestation`, { headers, tags: { kind: READ, op }, timeout: TIMEOUT });
  const want = conditional && data.etag ? 304 : 200;
  check(res, { [`${op} ${want}`]: (r) => r.status === want }, { kind: READ });
  return res;
}

// The read mix: half decisions, a quarter plain attestation, a quarter conditional.
export function read(data) {
  const slot = exec.scenario.iterationInTest % 4;
  if (slot < 2) return authorize(data);
  return attestation(data, slot === 3);
}

const KINDS = ['test-report', 'sbom', 'approval', 'scan', 'build'];

// Write: POST /v1/evidence with a fresh Idempotency-Key (run id + scenario + iteration).
// CONTENT_DIGEST=1 adds the optional RFC 9530 Content-Digest header.
export function submitEvidence(data) {
  const i = exec.scenario.iterationInTest;
  const key = `k6-${data.runId}-${exec.scenario.name}-${i}`;
  const doc = {
    release: `2026.11.${i % 100}`,
    kind: KINDS[i % KINDS.length],
    subject: { name: `svc-${i % 7}`, digest: { sha256: crypto.sha256(key, 'hex') } },
    produced_at: new Date().toISOString(),
    payload: { run: data.runId, vu: exec.vu.idInTest, iteration: i },
  };
  const body = JSON.stringify(doc);
  const extra = { 'Idempotency-Key': key };
  if (__ENV.CONTENT_DIGEST === '1') extra['Content-Digest'] = `sha-256=:${crypto.sha256(body, 'base64')}:`;
  const res = http.post(`${data.url}/v1/evidence`, body, {
    headers: bearer(data, extra),
    tags: { kind: WRITE, op: 'evidence' },
    timeout: TIMEOUT,
  });
  check(res, { 'evidence 202': (r) => r.status === 202 }, { kind: WRITE });
  return res;
}
