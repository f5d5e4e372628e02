// handleSummary for every profile: the raw summary as JSON (what harness/load/runner.py parses),
// a Markdown report and a small HTML page (attachable to the acceptance report), and the
// verdict (verdict.json: PASS/FAIL, each threshold with what it measured, per-kind figures,
// which share of a distributed run this process ran), all written to SUMMARY_DIR; a few lines
// on stdout, the last one the same verdict as one JSON line (`K6_VERDICT {...}`), so a runner
// pod's verdict survives in its log even where no volume keeps the files
// (harness/load/verdicts.py reads both).

import exec from 'k6/execution';
import { MEASURE, READ, SCENARIOS, WRITE } from './profile.js';

export const VERDICT_PREFIX = 'K6_VERDICT ';

function values(data, metric) {
  return (data.metrics[metric] || {}).values || {};
}

function fixed(n, digits) {
  return n === undefined || n === null ? '–' : Number(n).toFixed(digits);
}

// What this k6 process offered: its share of each kind's rate (all of it unless RUNNERS > 1).
function targetRate(profile, kind) {
  return (profile.runnerRates || profile.rates)[kind];
}

function kindStats(data, kind, profile) {
  const d = values(data, `http_req_duration{kind:${kind},phase:${MEASURE}}`);
  const count = values(data, `http_reqs{kind:${kind},phase:${MEASURE}}`).count || 0;
  return {
    target_rate: targetRate(profile, kind),
    requests: count,
    achieved_rate: count / profile.durationS,
    p50_ms: d.med,
    p95_ms: d['p(95)'],
    p99_ms: d['p(99)'],
    max_ms: d.max,
    error_rate: values(data, `http_req_failed{kind:${kind},phase:${MEASURE}}`).rate || 0,
    dropped_iterations: values(data, `dropped_iterations{scenario:${SCENARIOS[kind]}}`).count || 0,
  };
}

function kindRow(data, kind, profile) {
  const k = kindStats(data, kind, profile);
  return [
    kind,
    fixed(k.target_rate, 1),
    String(k.requests),
    fixed(k.achieved_rate, 1),
    fixed(k.p50_ms, 1),
    fixed(k.p95_ms, 1),
    fixed(k.p99_ms, 1),
    fixed(k.max_ms, 1),
    `${fixed(k.error_rate * 100, 2)} %`,
    String(k.dropped_iterations),
  ];
}

function fraction(text) {
  const [num, den] = String(text).split('/');
  return den === undefined ? Number(num) : Number(num) / Number(den);
}

// Which share of the test this process ran: k6's execution segment (the k6-operator passes
// `--execution-segment=i-1/N:i/N`) and the run tags it adds (instance_id, testrun_name).  A
// segment that is not 1/RUNNERS means the archive was built for another parallelism, so its
// dropped-iteration tolerance is someone else's share: the verdict says so and fails.
export function runnerOf(profile) {
  const runners = profile.runners || 1;
  let options = {};
  try {
    options = exec.test.options || {};
  } catch (_e) {
    options = {}; // outside a test run (never in handleSummary); judge without the segment
  }
  const segment = options.executionSegment ? String(options.executionSegment) : null;
  const tags = options.tags || {};
  const runner = { runners, segment, instance: tags.instance_id || null, testrun: tags.testrun_name || null, problems: [] };
  const [from, to] = (segment || '0:1').split(':').map(fraction);
  if (Math.abs(to - from - 1 / runners) > 1e-9) {
    runner.problems.push(`execution segment ${segment || '0:1'} is not 1/${runners} of the test: the archive was built for RUNNERS=${runners}`);
  }
  return runner;
}

// The value a threshold expression judges, e.g. "p(95)<350" -> values["p(95)"].
export function measuredFor(data, metric, expr) {
  const m = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|>=|==|!=|<|>|===)/.exec(expr);
  if (!m) return undefined;
  const v = values(data, metric);
  return v[m[1]] === undefined ? 0 : v[m[1]];
}

export function thresholdRows(data, budgets) {
  const rows = [];
  for (const [metric, exprs] of Object.entries(budgets)) {
    for (const expr of exprs) {
      const t = ((data.metrics[metric] || {}).thresholds || {})[expr];
      rows.push({ metric, expr, ok: t ? t.ok : true, measured: measuredFor(data, metric, expr) });
    }
  }
  return rows;
}

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

// The verdict of this k6 process, as data: what the Markdown shows and the stdout line carries.
export function verdictOf(data, profile, budgets, title) {
  const rows = thresholdRows(data, budgets);
  const runner = runnerOf(profile);
  let verdict = rows.length === 0 ? 'no budgets given' : rows.every((r) => r.ok) ? 'PASS' : 'FAIL';
  if (runner.problems.length > 0) verdict = 'FAIL';
  const kinds = {};
  for (const kind of [READ, WRITE].filter((k) => profile.rates[k] > 0)) kinds[kind] = kindStats(data, kind, profile);
  return {
    title,
    verdict,
    runner,
    profile,
    budgets,
    thresholds: rows,
    requests: values(data, `http_reqs{phase:${MEASURE}}`).count || 0,
    error_rate: values(data, `http_req_failed{phase:${MEASURE}}`).rate || 0,
    kinds,
  };
}

function runnerLine(v) {
  const r = v.runner;
  const lines = [];
  if (r.runners > 1 || (r.segment && r.segment !== '0:1')) {
    lines.push(
      `Runner ${r.instance || '?'} of ${r.runners} (execution segment ${r.segment || '0:1'}): it offers ` +
        `${fixed(v.profile.rate / r.runners, 1)} of the test's ${v.profile.rate} req/s, and every threshold ` +
        'below judges its own samples only.',
      '',
    );
  }
  for (const problem of r.problems) lines.push(`**${problem}**`, '');
  return lines;
}

function markdown(data, profile, budgets, title) {
  const kinds = [READ, WRITE].filter((k) => profile.rates[k] > 0);
  const v = verdictOf(data, profile, budgets, title);
  const rows = v.thresholds;
  const measured = v.requests;
  const errors = v.error_rate;
  const share = profile.runners > 1 ? profile.rate / profile.runners : profile.rate;
  return [
    `# ${title}: ${v.verdict}`,
    '',
    ...runnerLine(v),
    `Target ${share} req/s for ${profile.durationS} s (after ${profile.warmupS} s warm-up, not counted), ` +
      `${Math.round(profile.readRatio * 100)} % reads. Measured ${measured} requests, ` +
      `${fixed(measured / profile.durationS, 1)} req/s achieved, ${fixed(errors * 100, 2)} % failed.`,
    '',
    table(
      ['kind', 'target req/s', 'requests', 'achieved req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'failed', 'dropped'],
      kinds.map((k) => kindRow(data, k, profile)),
    ),
    '',
    '## Thresholds',
    '',
    rows.length === 0
      ? '_none_'
      : table(
          ['metric', 'threshold', 'measured', 'result'],
          rows.map((r) => [`\`${r.metric}\``, `\`${r.expr}\``, fixed(r.measured, 3), r.ok ? 'ok' : '**BREACHED**']),
        ),
    '',
  ].join('\n');
}

function escapeHtml(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Markdown tables and headings only: a tiny converter keeps the HTML free of dependencies.
function html(md, title) {
  const out = [];
  let inTable = false;
  for (const raw of md.split('\n')) {
    const line = escapeHtml(raw).replace(/`([^`]*)`/g, '<code>$1</code>').replace(/\*\*([^*]*)\*\*/g, '<b>$1</b>');
    if (line.startsWith('|')) {
      const cells = line.slice(1, -1).split('|').map((c) => c.trim());
      if (cells.every((c) => c === '---')) continue;
      if (!inTable) out.push('<table>');
      const tag = inTable ? 'td' : 'th';
      out.push(`<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`);
      inTable = true;
      continue;
    }
    if (inTable) out.push('</table>');
    inTable = false;
    if (line.startsWith('## ')) out.push(`<h2>${line.slice(3)}</h2>`);
    else if (line.startsWith('# ')) out.push(`<h1>${line.slice(2)}</h1>`);
    else if (line.trim()) out.push(`<p>${line}</p>`);
  }
  if (inTable) out.push('</table>');
  const style = 'body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 8px;text-align:right}';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${style}</style></head><body>${out.join('\n')}</body></html>\n`;
}

// k6 hands setup()'s return value back as `setup_data`: for k6/load.js that is the COS
// tokens every VU shares.  summary.json lands in reports/, the Allure report and CI
// artifacts, so it keeps everything but that (harness/load/runner.py:scrub_summary re-checks).
export function withoutSetupData(data) {
  const { setup_data: _tokens, ...rest } = data;
  return rest;
}

// SUMMARY_DIR must exist (k6 creates no directories); SUMMARY_PREFIX (default none) lets
// several runners share one directory: the k6-operator TestRun sets it to the pod's name.
export function summaryOutputs(data, profile, budgets, title) {
  const dir = (__ENV.SUMMARY_DIR || '.').replace(/\/+$/, '');
  const base = `${dir}/${__ENV.SUMMARY_PREFIX || ''}`;
  const md = markdown(data, profile, budgets, title);
  const report = { profile, budgets, k6: withoutSetupData(data) };
  const verdict = JSON.stringify({ ...verdictOf(data, profile, budgets, title), summary: `${base}summary.json` });
  return {
    [`${base}summary.json`]: JSON.stringify(report, null, 1),
    [`${base}summary.md`]: md,
    [`${base}summary.html`]: html(md, title),
    [`${base}verdict.json`]: `${verdict}\n`,
    stdout: `${md.split('\n')[0].slice(2)}\nreports: ${base}summary.{json,md,html}, ${base}verdict.json\n${VERDICT_PREFIX}${verdict}\n`,
  };
}
