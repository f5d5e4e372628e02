// Options for every load profile, built from the environment.
//
// One function turns RATE / DURATION / WARMUP / READ_RATIO into constant-arrival-rate
// scenarios (a warm-up pair tagged phase:warmup, then the measured pair tagged
// phase:measure) and the budgets into thresholds.  Budget numbers are never written
// here: they arrive as plain numbers — READ_P95_MS / WRITE_P95_MS / MAX_ERROR_RATE /
// MAX_DROPPED_RATIO — straight from the Gherkin sentence (harness/load/runner.py passes them,
// a person can pass them by hand), and `budgetThresholds` below is the one place they become
// k6 threshold expressions.  See docs/k6.md.
//
// RUNNERS (default 1) is how many k6 instances share RATE: the k6-operator's `parallelism`
// (harness/load/testrun.py renders both from one number).  k6's execution segments give each
// runner 1/RUNNERS of every scenario's rate and VU pool, and each runner judges its thresholds on
// its own samples only — so the p95 and error-rate budgets stay as they are, and the
// dropped-iteration tolerance is computed from one runner's share of the planned iterations.
// See docs/kubernetes.md ("Distributed load").

export const READ = 'read';
export const WRITE = 'write';
export const MEASURE = 'measure';
export const WARMUP = 'warmup';

// Scenario names double as dropped_iterations filters: k6 tags dropped_iterations with
// `scenario` only (never with a scenario's own tags), so drops are judged per scenario.
export const SCENARIOS = { read: 'reads', write: 'writes' };

function env(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}

export function numEnv(name, fallback) {
  const raw = env(name, undefined);
  if (raw === undefined) {
    if (fallback === undefined) throw new Error(`environment variable ${name} is required`);
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`environment variable ${name}=${raw} is not a number`);
  return n;
}

// "60", "60s", "1.5s", "2m", "500ms" -> seconds
export function secondsEnv(name, fallback) {
  const raw = env(name, undefined);
  if (raw === undefined) return fallback;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
  if (!m) throw new Error(`environment variable ${name}=${raw} is not a duration`);
  const scale = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] || 's'];
  return Number(m[1]) * scale;
}

function ms(seconds) {
  return `${Math.round(seconds * 1000)}ms`;
}

// constant-arrival-rate takes an integer count per timeUnit; keep fractional rates exact.
function arrival(perSecond) {
  if (Number.isInteger(perSecond)) return { rate: perSecond, timeUnit: '1s' };
  return { rate: Math.round(perSecond * 1000), timeUnit: '1000s' };
}

// How many k6 instances split the rate (execution segments); 1 = this process runs it all.
export function runnersEnv() {
  const runners = numEnv('RUNNERS', 1);
  if (!(Number.isInteger(runners) && runners >= 1)) throw new Error(`RUNNERS must be an integer >= 1, got ${runners}`);
  return runners;
}

export function readProfile() {
  const rate = numEnv('RATE');
  const readRatio = numEnv('READ_RATIO', 0.8);
  if (!(rate > 0)) throw new Error(`RATE must be > 0, got ${rate}`);
  if (!(readRatio >= 0 && readRatio <= 1)) throw new Error(`READ_RATIO must be in [0, 1], got ${readRatio}`);
  const durationS = secondsEnv('DURATION', 30);
  const warmupS = secondsEnv('WARMUP', 5);
  const runners = runnersEnv();
  // `rates` is the whole test's (what the scenarios declare; k6 segments it per runner);
  // `runnerRates` is one runner's share, which its thresholds and its report are about.
  const rates = {
    read: Math.round(rate * readRatio * 1000) / 1000,
    write: Math.round(rate * (1 - readRatio) * 1000) / 1000,
  };
  const runnerRates = { read: rates.read / runners, write: rates.write / runners };
  return { rate, readRatio, durationS, warmupS, rates, runners, runnerRates };
}

// VU pool per scenario.  constant-arrival-rate drops an iteration whenever no VU is free
// (and only then starts initialising another), so the measured scenario pre-allocates
// enough VUs to ride out a stall of EXPECTED_LATENCY_MS (default 250 ms: at 800 reads/s
// that is 200 VUs); MAX_LATENCY_MS bounds the pool (default 1 s of arrivals), and
// MAX_VUS_CAP bounds both (default 400: VUs cost k6 memory and init time on a 2-core box).
// Past the ceiling k6 drops iterations, which the dropped_iterations threshold reports.
// The pool is the whole test's, like the rate: with RUNNERS > 1 k6 splits it between the
// runners, so the cap (a per-process limit) is multiplied by RUNNERS before the split.
export function vuPool(perSecond, runners = 1) {
  const expected = numEnv('EXPECTED_LATENCY_MS', 250) / 1000;
  const worst = numEnv('MAX_LATENCY_MS', 1000) / 1000;
  const cap = numEnv('MAX_VUS_CAP', 400) * runners;
  const pre = Math.max(runners, Math.ceil(perSecond * expected)); // at least one VU per runner
  const preAllocatedVUs = Math.min(numEnv('PRE_ALLOCATED_VUS', pre), cap);
  const maxVUs = Math.max(preAllocatedVUs, Math.min(numEnv('MAX_VUS', Math.ceil(perSecond * worst)), cap));
  return { preAllocatedVUs, maxVUs };
}

function fmt(n) {
  return String(Number(n.toFixed(6)));
}

// Dropped iterations allowed: the ratio of the planned iterations, rounded up (a ratio
// above zero always tolerates one drop at the edge of a short run).
export function droppedTolerance(planned, ratio) {
  return ratio > 0 ? Math.ceil(planned * ratio - 1e-9) : 0;
}

// The budget thresholds, from the budget numbers in the environment (the only threshold
// compiler: tests/load checks through `k6 inspect` that the sentence's numbers arrive here
// exactly).  Only measured-phase samples count; no budget at all → the run only reports.
// Every expression judges one k6 process: the percentiles and rates of its own samples, and
// the drops of its own share of the plan (`runnerRates`; the whole plan when RUNNERS is 1).
export function budgetThresholds(profile) {
  const readP95 = env('READ_P95_MS', undefined);
  const writeP95 = env('WRITE_P95_MS', undefined);
  if (readP95 === undefined && writeP95 === undefined) return {};
  const maxError = numEnv('MAX_ERROR_RATE', 0.01);
  const maxDropped = numEnv('MAX_DROPPED_RATIO', 0.01);
  const t = {};
  const p95 = { read: readP95, write: writeP95 };
  for (const kind of [READ, WRITE]) {
    if (!(profile.rates[kind] > 0)) continue;
    if (p95[kind] !== undefined) {
      t[`http_req_duration{kind:${kind},phase:${MEASURE}}`] = [`p(95)<${fmt(numEnv(kind === READ ? 'READ_P95_MS' : 'WRITE_P95_MS'))}`];
    }
    const planned = profile.runnerRates[kind] * profile.durationS;
    t[`dropped_iterations{scenario:${SCENARIOS[kind]}}`] = [`count<=${droppedTolerance(planned, maxDropped)}`];
  }
  t[`http_req_failed{phase:${MEASURE}}`] = [`rate<=${fmt(maxError)}`];
  t[`checks{phase:${MEASURE}}`] = [`rate>=${fmt(1 - maxError)}`];
  return t;
}

// Submetrics k6 only reports when a threshold names them: always-true expressions make
// the per-kind p50/p95/p99, counts and error rates appear in the summary.
function observations(profile) {
  const t = {
    [`http_reqs{phase:${MEASURE}}`]: ['count>=0'],
    [`http_req_failed{phase:${MEASURE}}`]: ['rate>=0'],
    [`checks{phase:${MEASURE}}`]: ['rate>=0'],
  };
  for (const kind of [READ, WRITE]) {
    if (!(profile.rates[kind] > 0)) continue;
    t[`http_req_duration{kind:${kind},phase:${MEASURE}}`] = ['max>=0'];
    t[`http_reqs{kind:${kind},phase:${MEASURE}}`] = ['count>=0'];
    t[`http_req_failed{kind:${kind},phase:${MEASURE}}`] = ['rate>=0'];
    t[`dropped_iterations{scenario:${SCENARIOS[kind]}}`] = ['count>=0'];
  }
  return t;
}

function merge(budgets, observed) {
  const out = {};
  for (const [metric, exprs] of Object.entries(observed)) out[metric] = [...exprs];
  for (const [metric, exprs] of Object.entries(budgets)) {
    out[metric] = [...(out[metric] || []).filter((e) => !exprs.includes(e)), ...exprs];
  }
  return out;
}

// exec: {read: 'exportedReadFn', write: 'exportedWriteFn'}
export function buildOptions(exec) {
  const profile = readProfile();
  const gracefulStop = ms(secondsEnv('GRACEFUL_STOP', 5));
  const scenarios = {};
  for (const kind of [READ, WRITE]) {
    const perSecond = profile.rates[kind];
    if (!(perSecond > 0) || !exec[kind]) continue;
    const pool = vuPool(perSecond, profile.runners);
    const base = { executor: 'constant-arrival-rate', ...arrival(perSecond), exec: exec[kind] };
    if (profile.warmupS > 0) {
      // Same rate as the measured phase so connections, caches and the JIT are warm; its
      // samples carry phase:warmup and are excluded by every threshold and report.
      scenarios[`warmup_${SCENARIOS[kind]}`] = {
        ...base,
        duration: ms(profile.warmupS),
        // Its drops do not count, so a small pool that grows on demand is enough.
        preAllocatedVUs: Math.min(pool.preAllocatedVUs, Math.max(profile.runners, Math.ceil(perSecond * 0.02))),
        maxVUs: pool.maxVUs,
        gracefulStop: '1s',
        tags: { phase: WARMUP },
      };
    }
    scenarios[SCENARIOS[kind]] = {
      ...base,
      startTime: ms(profile.warmupS),
      duration: ms(profile.durationS),
      preAllocatedVUs: pool.preAllocatedVUs,
      maxVUs: pool.maxVUs,
      gracefulStop,
      tags: { phase: MEASURE },
    };
  }
  const budgets = budgetThresholds(profile);
  return {
    profile,
    budgets,
    options: {
      scenarios,
      thresholds: merge(budgets, observations(profile)),
      discardResponseBodies: true,
      setupTimeout: ms(secondsEnv('SETUP_TIMEOUT', 60)),
      summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
      noConnectionReuse: false,
      userAgent: 'cos-pact-e2e-k6/1',
    },
  };
}
