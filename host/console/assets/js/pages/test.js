// Test: compose a request (method, path, query, headers, body) and dry-run
// it through a webhook — verify blocks, handler choice, the automation
// with its side effects simulated — or dry-run a recorded request; and the
// verify lab: a correctly signed sample request for each verify block.
// The console does not hold webhook tokens (they are shown once), so
// composed requests go through the dry-run API, never to the webhook URL.
import {call, get, qs, webhookName} from '../api.js';
import {h, put, replace, clear, badge, problemView, codeBlock, pretty, field, kvTable} from '../dom.js';
import {webhookPicker} from './requests.js';
import {answerView, logTable} from './request.js';

// pairRows edits a list of [key, value] pairs.
function pairRows(label, initial, id) {
  const tbody = h('tbody', {});
  const add = (k = '', v = '') => {
    const kk = h('input', {type: 'text', value: k, 'aria-label': label + ' name', class: 'mono'});
    const vv = h('input', {type: 'text', value: v, 'aria-label': label + ' value', class: 'mono'});
    const tr = h('tr', {}, h('td', {}, kk), h('td', {}, vv),
      h('td', {}, h('button', {type: 'button', class: 'small', 'aria-label': 'Remove', onclick: () => tr.remove()}, '×')));
    tbody.append(tr);
  };
  for (const [k, v] of initial) add(k, v);
  const el = h('fieldset', {class: 'pairs', id}, h('legend', {}, label),
    h('table', {}, h('tbody', {}), tbody),
    h('button', {type: 'button', class: 'small', onclick: () => add()}, '+ Add'));
  return {
    el,
    set(pairs) { clear(tbody); for (const [k, v] of pairs) add(k, v); },
    get() {
      return Array.from(tbody.rows).map((tr) => {
        const [k, v] = tr.querySelectorAll('input');
        return [k.value.trim(), v.value];
      }).filter(([k]) => k);
    },
  };
}

export async function render(view, _id, params) {
  const webhook = params.get('webhook') || '';
  const record = params.get('record') || '';
  const picker = webhookPicker(webhook);
  const choose = h('form', {class: 'filters', role: 'search'}, picker.el,
    h('div', {class: 'field actions'}, h('button', {type: 'submit'}, 'Choose')));
  choose.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = '#/test' + qs({webhook: picker.id}); });
  const title = h('span', {}, '');
  if (webhook) webhookName(webhook).then((n) => replace(title, n));
  put(view, h('div', {class: 'page-head'}, h('h1', {}, 'Test and dry run', webhook ? [': ', title] : null),
    webhook ? h('a', {class: 'button', href: '#/webhooks/' + encodeURIComponent(webhook)}, 'Webhook') : null), choose);
  if (!webhook) {
    put(view, h('p', {class: 'muted'}, 'Choose a webhook to compose a request for it, or open a recorded request and pick Dry run.'));
    return;
  }

  const method = h('select', {id: 'dr-method'}, ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'].map((m) => h('option', {value: m}, m)));
  const path = h('input', {type: 'text', id: 'dr-path', placeholder: 'after the token, e.g. github/push', class: 'mono'});
  const query = pairRows('Query', [['key', 'value']], 'dr-query');
  const headers = pairRows('Headers', [['Content-Type', 'application/json']], 'dr-headers');
  const body = h('textarea', {id: 'dr-body', rows: 8, class: 'code-input', spellcheck: 'false', wrap: 'off'});
  body.value = '{"hello": "world"}';
  const clientIP = h('input', {type: 'text', id: 'dr-ip', value: '127.0.0.1', class: 'mono'});
  const result = h('div', {id: 'dry-run-result', 'aria-live': 'polite'});
  const useRecord = h('input', {type: 'checkbox', id: 'dr-use-record', checked: !!record});
  const recordNote = record ? h('div', {class: 'banner info'},
    h('label', {class: 'check'}, useRecord, ' Dry-run the recorded request ', h('a', {href: '#/requests/' + record}, record.slice(0, 8) + '…'),
      ' as it arrived (credentials stay redacted, so signature checks see the redacted values); untick to send the form below.')) : null;

  const form = h('form', {class: 'stack', id: 'compose'},
    recordNote,
    h('div', {class: 'row wrap'}, field('Method', method), h('div', {class: 'grow'}, field('Path', path))),
    query.el, headers.el, field('Body', body), field('Client address', clientIP),
    h('div', {class: 'row'}, h('button', {type: 'submit', class: 'primary', id: 'dry-run'}, 'Dry run')),
    h('p', {class: 'hint'}, 'A dry run goes through the webhook\'s verify blocks, picks its handler and runs the automation with side effects (http.request and other outbound commands) simulated. Nothing is recorded or sent.'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    replace(result, h('p', {class: 'muted'}, 'Running…'));
    const req = record && useRecord.checked ? {record_id: record} : {request: {
      method: method.value, path: path.value.trim(), query: query.get(), headers: headers.get(), body: body.value, client_ip: clientIP.value.trim()}};
    try {
      const {data} = await call(`/webhooks/${encodeURIComponent(webhook)}/dry-run`, {method: 'POST', json: req});
      replace(result, dryRunView(data));
    } catch (e) { replace(result, problemView(e)); }
  });

  if (record) {
    get('/requests/' + encodeURIComponent(record)).then((r) => {
      const inp = r.inputs || {};
      method.value = inp.method || 'POST';
      path.value = inp.path || '';
      query.set(Object.entries(inp.query || {}));
      headers.set(Object.entries(inp.headers || {}));
      body.value = inp.body || '';
      clientIP.value = inp.client_ip || '';
    }, () => {});
  }

  const lab = h('div', {id: 'verify-lab'}, h('p', {class: 'muted'}, 'Loading…'));
  put(view, h('div', {class: 'grid2'},
    h('section', {class: 'panel', 'aria-labelledby': 'compose-h'}, h('h2', {id: 'compose-h'}, 'Compose a request'), form),
    h('section', {class: 'panel', 'aria-labelledby': 'result-h'}, h('h2', {id: 'result-h'}, 'Dry-run result'), result)),
  h('section', {class: 'panel', 'aria-labelledby': 'lab-h'}, h('h2', {id: 'lab-h'}, 'Verify lab'), lab));

  try {
    const l = await get(`/webhooks/${encodeURIComponent(webhook)}/verify-lab`);
    const blocks = l.blocks || [];
    replace(lab, blocks.length ? blocks.map((b) => labBlock(b, (s) => {
      method.value = s.method || 'POST';
      headers.set(s.headers || []);
      body.value = s.body || '';
      useRecord.checked = false;
      form.scrollIntoView({block: 'start'});
      method.focus();
    })) : h('p', {class: 'muted'}, 'This webhook has no verify blocks: any request with its URL reaches its handlers.'));
  } catch (e) { replace(lab, problemView(e)); }
}

function labBlock(b, use) {
  const s = b.sample;
  const hs = s ? (Array.isArray(s.headers) ? s.headers : Object.entries(s.headers || {})) : [];
  return h('article', {class: 'lab-block'},
    h('h3', {}, h('code', {}, b.block), ' ', badge(b.type || '?', 'info')),
    b.notes ? (Array.isArray(b.notes) ? h('ul', {}, b.notes.map((n) => h('li', {}, n))) : h('p', {}, b.notes)) : null,
    b.error ? h('div', {class: 'banner warn'}, b.error) : null,
    (b.allowed || []).length ? h('p', {}, 'Addresses that pass: ', h('code', {}, b.allowed.join(', '))) : null,
    s ? [h('h4', {}, s.method || 'POST', ' with these headers'), kvTable(hs),
      s.placeholder ? h('p', {class: 'hint'}, 'A header holds a placeholder: put the real credential in its place.') : null,
      s.body ? h('pre', {class: 'body'}, s.body) : null,
      s.curl ? codeBlock(s.curl, 'curl (set WEBHOOK_URL to the webhook\'s URL)') : null,
      h('button', {type: 'button', onclick: () => use({...s, headers: hs})}, 'Use this sample in a dry run')] : null);
}

// verifyChecks lists verify blocks' verdicts, each with its steps.
export function verifyChecks(checks, id) {
  const mark = {pass: '✓', fail: '✗', unknown: '?'};
  return h('ol', {class: 'steps', id}, checks.map((v) => {
    const verdict = v.verdict || (v.ok ? 'pass' : 'fail');
    return h('li', {class: verdict === 'pass' ? 'ok' : verdict === 'fail' ? 'bad' : 'unknown'},
      (mark[verdict] || '') + ' ', h('code', {}, v.block), v.type ? [' ', badge(v.type, 'info')] : null, ' ',
      v.reason || (verdict === 'pass' ? 'passes' : verdict),
      (v.steps || []).length ? h('ul', {class: 'substeps'}, v.steps.map((s) => h('li', {class: 'r-' + s.result},
        h('span', {class: 'badge ' + ({ok: 'ok', failed: 'bad', unknown: 'warn', info: 'info'}[s.result] || '')}, s.result), ' ',
        h('strong', {}, s.check), s.detail ? ': ' + s.detail : ''))) : null);
  }));
}

// dryRunView shows a dry run: each verify block, the handler and its
// automation, the inputs and secrets it would get, the answer and the side
// effects that were simulated.
export function dryRunView(d) {
  const verify = d.verify || [];
  const effects = d.side_effects || [];
  return h('div', {class: 'stack'},
    (d.notes || []).length ? h('div', {class: 'banner info', id: 'dr-notes'}, h('ul', {}, d.notes.map((n) => h('li', {}, n)))) : null,
    h('h3', {}, 'Verify'),
    verify.length ? verifyChecks(verify, 'dr-verify') : h('p', {class: 'muted'}, 'No verify blocks.'),
    d.problem ? h('div', {class: 'banner error', id: 'dr-problem'}, h('strong', {}, `${d.problem.status || ''} ${d.problem.title || ''}`),
      d.problem.detail ? ': ' + d.problem.detail : '') : null,
    h('dl', {class: 'facts'},
      h('dt', {}, 'Handler'), h('dd', {}, d.handler ? h('code', {}, d.handler) : '—'),
      h('dt', {}, 'Automation'), h('dd', {}, d.automation ? h('a', {href: '#/automations/' + encodeURIComponent(d.automation)}, d.automation) : '—'),
      h('dt', {}, 'Secrets read'), h('dd', {}, (d.secrets || []).length ? d.secrets.join(', ') : 'none'),
      d.job ? [h('dt', {}, 'Job'), h('dd', {}, 'a job: handler; run here at once (a real request is answered 202 and queued)')] : null),
    h('h3', {}, 'Answer'), d.response ? h('div', {id: 'dr-response'}, answerView(d.response)) : h('p', {class: 'muted'}, 'No answer.'),
    h('h3', {}, 'Side effects (simulated)'),
    effects.length ? h('ul', {class: 'plain', id: 'dr-effects'}, effects.map((e) => h('li', {}, h('code', {}, e.command), ' at ', h('code', {}, e.node || ''),
      ' ', e.on_simulate ? badge('on_simulate ran', 'info') : e.simulated ? badge('simulated', 'info') : badge('refused by policy', 'warn'))))
      : h('p', {class: 'muted'}, 'None.'),
    d.inputs ? h('details', {}, h('summary', {}, 'Inputs the automation got'), h('pre', {class: 'body'}, pretty(d.inputs))) : null,
    h('h3', {}, 'Log'), logTable(d.log, 'dr-log'));
}
