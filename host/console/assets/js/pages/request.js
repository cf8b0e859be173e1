// One request record: why it was refused (its cause), what arrived
// (headers redacted, the body pretty, or in hex when binary), what was
// answered, how long it took and the run log; replay it, dry-run it, or
// have the server explain a failure step by step.
import {call, get, qs, webhookName} from '../api.js';
import {h, put, replace, clear, when, ago, statusBadge, badge, duration, bodyView, kvTable, problemView, codeBlock, pretty, shortID} from '../dom.js';
import {causes} from './requests.js';
import {verifyChecks} from './test.js';

// logTable shows a run log: [{level, node, message}].
export function logTable(log, id) {
  if (!Array.isArray(log) || !log.length) return h('p', {class: 'muted'}, 'No log.');
  const levels = {1: 'alert', 3: 'error', 4: 'warning', 6: 'info', 7: 'debug'};
  return h('div', {class: 'table-wrap'}, h('table', {class: 'list log', id},
    h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Level'), h('th', {scope: 'col'}, 'Node'), h('th', {scope: 'col'}, 'Message'))),
    h('tbody', {}, log.map((e) => h('tr', {class: 'lv' + e.level},
      h('td', {}, levels[e.level] || String(e.level)), h('td', {class: 'mono'}, e.node || ''), h('td', {class: 'pre'}, e.message))))));
}

// answerView shows an answer: {status, headers: [[k, v]] or {k: v}, body}.
export function answerView(a) {
  if (!a) return h('p', {class: 'muted'}, 'No answer recorded.');
  const status = a.status || a.status_code;
  const hs = a.headers || {};
  const ct = Array.isArray(hs) ? (hs.find(([k]) => /^content-type$/i.test(k)) || [])[1] : Object.entries(hs).find(([k]) => /^content-type$/i.test(k))?.[1];
  return h('div', {class: 'stack'},
    h('p', {}, 'Status ', statusBadge(Number(status))),
    h('h3', {}, 'Headers'), kvTable(hs),
    h('h3', {}, 'Body'),
    a.body_base64 ? h('div', {}, badge('base64', 'info'), h('pre', {class: 'body'}, a.body_base64)) : bodyView(a.body, ct));
}

// curlFor rebuilds a recorded request as a curl line for the webhook URL
// (which the console does not know: it holds the token).
function curlFor(inp) {
  const q = Object.entries(inp.query || {}).map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
  const parts = [`curl -i -X ${inp.method || 'POST'}`];
  for (const [k, v] of Object.entries(inp.headers || {})) {
    if (/^(host|content-length|user-agent|accept-encoding|connection)$/i.test(k)) continue;
    parts.push(`-H ${shq(k + ': ' + v)}`);
  }
  if (inp.body) parts.push(`--data-binary ${shq(inp.body)}`);
  parts.push(`"$WEBHOOK_URL${inp.path ? '/' + inp.path.replace(/^\//, '') : ''}${q ? '?' + q : ''}"`);
  return parts.join(' \\\n  ');
}

function shq(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }

// load gets a record; one that was just made (a replay, a request seen in
// the live tail) may still be on its way to the store, so a 404 is asked
// again a few times.
async function load(id, ctx) {
  for (let i = 0; ; i++) {
    try {
      return await get('/requests/' + encodeURIComponent(id));
    } catch (e) {
      if (e.status !== 404 || i >= 10 || !ctx.alive()) throw e;
      await new Promise((res) => setTimeout(res, 250 * Math.min(i + 1, 4)));
    }
  }
}

export async function render(view, id, _params, ctx) {
  const r = await load(id, ctx);
  const inp = r.inputs || {};
  const name = h('span', {}, shortID(r.webhook_id));
  const crumb = h('span', {}, shortID(r.webhook_id));
  webhookName(r.webhook_id).then((n) => { if (n) { replace(name, n); replace(crumb, n); } });
  const actionsOut = h('div', {id: 'request-actions-out', 'aria-live': 'polite'});
  const replayBtn = h('button', {type: 'button', class: 'primary', id: 'replay'}, 'Replay');
  replayBtn.addEventListener('click', async () => {
    clear(actionsOut);
    replayBtn.disabled = true;
    try {
      const {data} = await call(`/requests/${encodeURIComponent(r.id)}/replay`, {method: 'POST'});
      actionsOut.append(h('section', {class: 'panel', id: 'replay-result'},
        h('h2', {}, 'Replayed'),
        h('p', {}, 'Its record: ', h('a', {href: '#/requests/' + data.record_id, id: 'replay-record'}, data.record_id)),
        data.response ? answerView(data.response) : null,
        data.problem ? h('pre', {class: 'body'}, pretty(data.problem)) : null));
    } catch (e) { actionsOut.append(problemView(e)); } finally { replayBtn.disabled = false; }
  });
  const explainBtn = h('button', {type: 'button', id: 'explain'}, 'Explain');
  explainBtn.addEventListener('click', async () => {
    clear(actionsOut);
    try {
      const ex = await get(`/requests/${encodeURIComponent(r.id)}/explain`);
      actionsOut.append(explainView(ex));
    } catch (e) { actionsOut.append(problemView(e)); }
  });

  const isReplay = !!r.replay_of;
  put(view, 
    h('div', {class: 'page-head'},
      h('div', {}, h('p', {class: 'crumbs'}, h('a', {href: '#/requests'}, 'Requests'), ' / ',
        h('a', {href: '#/requests' + qs({webhook: r.webhook_id})}, crumb), ' / '),
      h('h1', {}, `${inp.method || ''} request `, statusBadge(r.status), r.cause ? [' ', badge(r.cause, 'bad')] : null, isReplay ? [' ', badge('replay', 'info')] : null)),
      h('div', {class: 'row wrap'}, replayBtn,
        h('a', {class: 'button', id: 'dry-run-link', href: '#/test' + qs({webhook: r.webhook_id, record: r.id})}, 'Dry run'),
        r.status >= 400 || r.cause ? explainBtn : null)),
    r.cause ? h('div', {class: 'banner warn', id: 'cause'}, h('strong', {}, 'Cause: ' + r.cause), ' — ', causes[r.cause] || '',
      r.error ? h('div', {class: 'pre'}, r.error) : null) : r.error ? h('div', {class: 'banner error', id: 'run-error'}, r.error) : null,
    h('dl', {class: 'facts'},
      fact('When', [when(r.created_at), ' (', ago(r.created_at), ')']),
      fact('Duration', duration(r.duration_us)),
      fact('Webhook', h('a', {href: '#/webhooks/' + encodeURIComponent(r.webhook_id)}, name)),
      fact('Automation', r.automation ? `${r.automation} (revision ${r.revision})` : '—'),
      fact('Exit', r.exit || '—'),
      fact('Client', inp.client_ip || '—'),
      fact('Request id', r.request_id ? h('code', {}, r.request_id) : '—'),
      r.job_id ? fact('Job', h('a', {href: '#/jobs/' + r.job_id}, r.job_id)) : null,
      isReplay ? fact('Replay of', h('a', {href: '#/requests/' + r.replay_of}, r.replay_of)) : null,
      fact('Record', h('code', {}, r.id))),
    actionsOut,
    h('div', {class: 'grid2'},
      h('section', {class: 'panel', 'aria-labelledby': 'req-h'},
        h('h2', {id: 'req-h'}, 'Request'),
        h('p', {class: 'mono reqline'}, `${inp.method || '?'} /${(inp.path || '').replace(/^\//, '')}`),
        h('h3', {}, 'Query'), kvTable(inp.query),
        h('h3', {}, 'Headers'), kvTable(inp.headers),
        h('h3', {}, 'Body', inp.body_truncated ? [' ', badge('truncated', 'warn')] : null),
        h('div', {id: 'request-body'}, bodyView(inp.body, (inp.headers || {})['Content-Type'])),
        h('details', {}, h('summary', {}, 'As curl'), codeBlock(curlFor(inp)))),
      h('section', {class: 'panel', 'aria-labelledby': 'ans-h'},
        h('h2', {id: 'ans-h'}, 'Answer'),
        r.output && r.output.output_truncated ? h('pre', {class: 'body'}, r.output.head) : r.output ? answerView(r.output)
          : h('p', {}, 'Answered ', statusBadge(r.status), r.cause ? ' before any automation ran.' : '.'))),
    h('section', {class: 'panel', 'aria-labelledby': 'log-h'}, h('h2', {id: 'log-h'}, 'Run log'), logTable(r.log, 'run-log')));
}

function fact(k, v) { return [h('dt', {}, k), h('dd', {}, v)]; }

// explainView shows GET /requests/{id}/explain: its steps when it has
// them, else the whole answer.
export function explainView(ex) {
  return h('section', {class: 'panel', id: 'explain-result'}, h('h2', {}, 'Why it was answered ', statusBadge(ex.status)),
    ex.recorded_reason ? h('p', {}, 'Recorded: ', h('code', {}, ex.recorded_reason)) : null,
    ex.block ? h('p', {}, 'Refused by ', h('code', {}, ex.block), '.') : null,
    ex.event_changed ? h('div', {class: 'banner warn'}, 'The webhook changed after this request: the blocks below are its current ones.') : null,
    (ex.blocks || []).length ? verifyChecks(ex.blocks, 'explain-blocks') : h('p', {class: 'muted'}, 'No verify blocks to explain.'),
    (ex.notes || []).length ? h('ul', {class: 'notes'}, ex.notes.map((n) => h('li', {}, n))) : null);
}
