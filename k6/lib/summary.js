// handleSummary for every profile: the raw summary as JSON (what harness/load/runner.py parses),
// a Markdown report and a small HTML page (attachable to the acceptance report), all
// written to SUMMARY_DIR; a few lines on stdout.

import { MEASURE, READ, SCENARIOS, WRITE } from './profile.js';

function values(data, metric) {
  return (data.metrics[metric] || {}).values || {};
}

function fixed(n, digits) {
  return n === undefined || n === null ? '–' : Number(n).toFixed(digits);
}

function kindRow(data, kind, profile) {
  const d = values(data, `http_req_duration{kind:${kind},phase:${MEASURE}}`);
  const count = values(data, `http_reqs{kind:${kind},phase:${MEASURE}}`).count || 0;
  const failed = values(data, `http_req_failed{kind:${kind},phase:${MEASURE}}`).rate || 0;
  const dropped = values(data, `dropped_iterations{scenario:${SCENARIOS[kind]}}`).count || 0;
  return [
    kind,
    fixed(profile.rates[kind], 1),
    String(count),
    fixed(count / profile.durationS, 1),
    fixed(d.med, 1),
    fixed(d['p(95)'], 1),
    fixed(d['p(99)'], 1),
    fixed(d.max, 1),
    `${fixed(failed * 100, 2)} %`,
    String(dropped),
  ];
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

function markdown(data, profile, budgets, title) {
  const kinds = [READ, WRITE].filter((k) => profile.rates[k] > 0);
  const measured = values(data, `http_reqs{phase:${MEASURE}}`).count || 0;
  const errors = values(data, `http_req_failed{phase:${MEASURE}}`).rate || 0;
  const rows = thresholdRows(data, budgets);
  const verdict = rows.length === 0 ? 'no budgets given' : rows.every((r) => r.ok) ? 'PASS' : 'FAIL';
  return [
    `# ${title}: ${verdict}`,
    '',
    `Target ${profile.rate} req/s for ${profile.durationS} s (after ${profile.warmupS} s warm-up, not counted), ` +
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

export function summaryOutputs(data, profile, budgets, title) {
  const dir = (__ENV.SUMMARY_DIR || '.').replace(/\/+$/, '');
  const md = markdown(data, profile, budgets, title);
  const report = { profile, budgets, k6: withoutSetupData(data) };
  return {
    [`${dir}/summary.json`]: JSON.stringify(report, null, 1),
    [`${dir}/summary.md`]: md,
    [`${dir}/summary.html`]: html(md, title),
    stdout: `${md.split('\n')[0].slice(2)}\nreports: ${dir}/summary.{json,md,html}\n`,
  };
}
