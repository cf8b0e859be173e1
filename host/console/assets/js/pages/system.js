// System: the version, health and readiness, the extensions and their
// processes, and a summary of the metrics drawn as small charts (requests
// a second, error rate, latency percentiles from the histogram, queued
// jobs), sampled from GET /api/v1/metrics/summary every few seconds while
// the page is open.
import {call, get} from '../api.js';
import {h, put, replace, badge, lineChart, problemView, toast} from '../dom.js';

const SAMPLE_MS = 5000;
const KEEP = 60;

// fromSummary is what the charts need from GET /metrics/summary: the
// traffic of every webhook added up on the server, so that the page never
// downloads a /metrics that names 10,000 webhooks.
export function fromSummary(m) {
  const s = {t: Date.now(), req: 0, err: 0, buckets: new Map(), count: 0, queued: null, runs: 0};
  for (const [cls, n] of Object.entries(m.requests || {})) {
    s.req += n;
    if (/^[45]/.test(cls)) s.err += n;
  }
  const bounds = m.duration_bounds || [];
  (m.duration_cumulative || []).forEach((c, i) => s.buckets.set(i < bounds.length ? String(bounds[i]) : '+Inf', c));
  s.count = s.buckets.get('+Inf') || 0;
  if (m.jobs) s.queued = m.jobs.queued || 0;
  return s;
}

// quantile estimates a quantile from cumulative histogram buckets
// (Map le → count), interpolating linearly inside a bucket as Prometheus's
// histogram_quantile does.
export function quantile(q, buckets) {
  const bs = Array.from(buckets, ([le, c]) => [le === '+Inf' ? Infinity : Number(le), c]).sort((a, b) => a[0] - b[0]);
  if (!bs.length) return NaN;
  const total = bs[bs.length - 1][1];
  if (!total) return NaN;
  const rank = q * total;
  let prevLe = 0, prevC = 0;
  for (const [le, c] of bs) {
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + (le - prevLe) * ((rank - prevC) / Math.max(1e-9, c - prevC));
    }
    prevLe = le; prevC = c;
  }
  return prevLe;
}

function diffBuckets(a, b) {
  const d = new Map();
  for (const [le, c] of b.buckets) d.set(le, c - (a.buckets.get(le) || 0));
  return d;
}

export async function render(view, _id, _params, ctx) {
  const top = h('div', {class: 'cards', id: 'system-cards'});
  const charts = h('div', {class: 'charts', id: 'metric-charts'});
  const exts = h('div', {id: 'extensions'}, h('p', {class: 'muted'}, 'Loading…'));
  const reload = h('button', {type: 'button'}, 'Re-scan plugins');
  reload.addEventListener('click', async () => {
    try { await call('/extensions/reload', {method: 'POST'}); toast('Plugins re-scanned.', 'ok'); loadExtensions(); } catch (e) { toast(e.message, 'bad'); }
  });
  put(view, h('div', {class: 'page-head'}, h('h1', {}, 'System')), top,
    h('section', {class: 'panel', 'aria-labelledby': 'metrics-h'}, h('h2', {id: 'metrics-h'}, 'Traffic'),
      h('p', {class: 'hint'}, `From the metrics every ${SAMPLE_MS / 1000} s while this page is open (this server only; Prometheus scrapes /metrics).`), charts),
    h('section', {class: 'panel', 'aria-labelledby': 'ext-h'}, h('div', {class: 'page-head'}, h('h2', {id: 'ext-h'}, 'Extensions'), reload), exts));

  const card = (title, value, kind, id) => h('div', {class: 'card', id}, h('div', {class: 'card-title'}, title), h('div', {class: 'card-value'}, kind ? badge(value, kind) : value));
  const probe = async (path) => {
    try { const {data} = await call(path, {root: true}); return [data.status || 'ok', 'ok']; } catch (e) { return [(e.problem && e.problem.detail) || e.message, 'bad']; }
  };
  const [ver, health, ready] = await Promise.all([get('/version').catch(() => ({})), probe('/healthz'), probe('/readyz')]);
  replace(top,
    card('Version', ver.version || '?', null, 'card-version'),
    card('Go', ver.go_version || '?', null, 'card-go'),
    card('Live (/healthz)', health[0], health[1], 'card-health'),
    card('Ready (/readyz)', ready[0], ready[1], 'card-ready'));

  async function loadExtensions() {
    try {
      const l = await get('/extensions');
      const list = l.extensions || [];
      replace(exts, list.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'list', id: 'extension-list'},
        h('thead', {}, h('tr', {}, ['Name', 'State', 'Version', 'Processes', 'Restarts', 'In flight', 'Provides'].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, list.map((x) => h('tr', {},
          h('td', {}, h('strong', {}, x.name), x.builtin ? [' ', badge('built-in', 'muted')] : null, x.error ? h('div', {class: 'error-text'}, x.error) : null),
          h('td', {}, badge(x.state, x.state === 'running' ? 'ok' : x.state === 'failed' ? 'bad' : 'warn')),
          h('td', {}, x.version || '—'),
          h('td', {class: 'mono'}, (x.pids || []).join(', ') || '—'),
          h('td', {class: 'num'}, String(x.restarts)),
          h('td', {class: 'num'}, String(x.in_flight)),
          h('td', {class: 'small-text'}, [...(x.triggers || []), ...(x.commands || [])].join(', ')))))))
        : h('p', {class: 'muted'}, 'No extensions.'));
    } catch (e) { replace(exts, problemView(e)); }
  }
  loadExtensions();

  const hist = [];
  const series = {rps: [], err: [], p50: [], p95: [], p99: [], queued: []};
  function draw() {
    const last = (a) => (a.length ? a[a.length - 1] : NaN);
    const fmtMs = (v) => (Number.isFinite(v) ? (v * 1000).toFixed(v < 0.01 ? 2 : 0) + ' ms' : '—');
    const box = (title, now, svg, legend) => h('figure', {class: 'chart-box'}, h('figcaption', {}, h('span', {}, title), h('strong', {}, now)), svg, legend || null);
    replace(charts,
      box('Requests per second', Number.isFinite(last(series.rps)) ? last(series.rps).toFixed(2) : '—',
        lineChart([{values: series.rps}], {label: 'Requests per second'})),
      box('Error rate (4xx and 5xx)', Number.isFinite(last(series.err)) ? (100 * last(series.err)).toFixed(1) + ' %' : '—',
        lineChart([{values: series.err.map((v) => 100 * v)}], {label: 'Error rate in percent', unit: ' %', fmt: (v) => v.toFixed(1)})),
      box('Latency p50 / p95 / p99', `${fmtMs(last(series.p50))} / ${fmtMs(last(series.p95))} / ${fmtMs(last(series.p99))}`,
        lineChart([{values: series.p50.map((v) => v * 1000)}, {values: series.p95.map((v) => v * 1000)}, {values: series.p99.map((v) => v * 1000)}],
          {label: 'Latency percentiles in milliseconds', unit: ' ms', fmt: (v) => v.toFixed(1)}),
        h('p', {class: 'legend'}, h('span', {class: 'key l0'}, 'p50'), h('span', {class: 'key l1'}, 'p95'), h('span', {class: 'key l2'}, 'p99'))),
      box('Queued jobs', Number.isFinite(last(series.queued)) ? String(last(series.queued)) : '—',
        lineChart([{values: series.queued}], {label: 'Queued jobs', fmt: (v) => v.toFixed(0)})));
  }
  async function sample() {
    if (!ctx.alive()) return;
    try {
      const s = fromSummary(await get('/metrics/summary'));
      const prev = hist[hist.length - 1];
      hist.push(s);
      if (hist.length > 2) hist.shift();
      if (prev) {
        const dt = (s.t - prev.t) / 1000;
        const dreq = s.req - prev.req;
        series.rps.push(dreq / dt);
        series.err.push(dreq > 0 ? (s.err - prev.err) / dreq : 0);
        const db = diffBuckets(prev, s);
        const has = s.count - prev.count > 0;
        for (const [k, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]]) series[k].push(has ? quantile(q, db) : NaN);
      } else {
        // The first scrape: percentiles since the server started.
        for (const [k, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]]) series[k].push(quantile(q, s.buckets));
      }
      series.queued.push(s.queued ?? 0);
      for (const k of Object.keys(series)) while (series[k].length > KEEP) series[k].shift();
      draw();
    } catch (e) {
      replace(charts, problemView(e));
    }
  }
  draw();
  await sample();
  const timer = setInterval(sample, SAMPLE_MS);
  ctx.onLeave(() => clearInterval(timer));
}
