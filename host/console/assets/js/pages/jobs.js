// Jobs: the durable jobs, filtered by state and webhook and paged by the
// server; a job's attempts, answer and log streams (completion callback
// deliveries are the entries of node "callback"); cancel and retry.
import {call, get, qs, webhookName} from '../api.js';
import {h, put, replace, clear, ago, when, badge, stateKinds, pager, problemView, pretty, shortID, field, toast} from '../dom.js';
import {webhookPicker} from './requests.js';
import {answerView} from './request.js';

const STATES = ['Queued', 'Running', 'Retrying', 'Completed', 'Failed', 'Stopped'];

export async function renderList(view, _id, params) {
  const f = {webhook: params.get('webhook') || '', state: params.get('state') || ''};
  const cursor = params.get('cursor') || '';
  const prev = (params.get('prev') || '').split(',').filter(Boolean);
  const picker = webhookPicker(f.webhook);
  const state = h('select', {id: 'job-state'}, h('option', {value: ''}, 'any'), STATES.map((s) => h('option', {value: s}, s)));
  state.value = f.state;
  const form = h('form', {class: 'filters', role: 'search'}, picker.el, field('State', state),
    h('div', {class: 'field actions'}, h('button', {type: 'submit', class: 'primary'}, 'Filter')));
  const go = (p) => { location.hash = '#/jobs' + qs(p); };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); go({webhook: picker.id, state: state.value}); });
  state.addEventListener('change', () => go({webhook: picker.id, state: state.value}));
  const body = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  put(view, h('div', {class: 'page-head'}, h('h1', {}, 'Jobs')), form, body);
  const l = await get('/jobs' + qs({...f, cursor, limit: 50}));
  const jobs = l.jobs || [];
  if (!jobs.length) {
    replace(body, h('div', {class: 'empty'}, h('p', {}, 'No jobs match. A handler with a job: block runs its automation as a durable job.')));
    return;
  }
  replace(body,
    h('div', {class: 'table-wrap'}, h('table', {class: 'list', id: 'job-list'},
      h('thead', {}, h('tr', {}, ['Job', 'State', 'Webhook', 'Automation', 'Attempt', 'Created', 'Finished'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, jobs.map((j) => {
        const name = h('span', {}, shortID(j.webhook_id));
        if (j.webhook_id) webhookName(j.webhook_id).then((n) => { if (n) replace(name, n); });
        return h('tr', {'data-id': j.id},
          h('td', {}, h('a', {href: '#/jobs/' + j.id, class: 'mono'}, j.id.slice(0, 8) + '…')),
          h('td', {}, badge(j.state, stateKinds[j.state])),
          h('td', {}, name),
          h('td', {}, j.automation || '—'),
          h('td', {class: 'num'}, `${j.attempt}/${j.max_attempts}`),
          h('td', {}, ago(j.created_at)),
          h('td', {}, j.finished_at ? ago(j.finished_at) : h('span', {class: 'muted'}, '—')));
      })))),
    pager({
      label: 'Job pages',
      onFirst: prev.length ? () => go(f) : null,
      onPrev: prev.length ? () => go({...f, cursor: prev[prev.length - 1] === '-' ? '' : prev[prev.length - 1], prev: prev.slice(0, -1).join(',')}) : null,
      onNext: l.next_cursor ? () => go({...f, cursor: l.next_cursor, prev: [...prev, cursor || '-'].join(',')}) : null,
    }));
}

const FINAL = new Set(['Completed', 'Failed', 'Stopped']);

export async function renderJob(view, id, _params, ctx) {
  const j = await get('/jobs/' + encodeURIComponent(id));
  const out = h('div', {'aria-live': 'polite', id: 'job-actions-out'});
  const cancel = h('button', {type: 'button', id: 'job-cancel', class: 'danger'}, 'Cancel job');
  const retry = h('button', {type: 'button', id: 'job-retry', class: 'primary'}, 'Retry job');
  cancel.addEventListener('click', async () => {
    clear(out);
    try {
      await call(`/jobs/${encodeURIComponent(j.id)}/cancel`, {method: 'POST'});
      toast('Job cancelled.', 'ok');
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (e) { out.append(problemView(e)); }
  });
  retry.addEventListener('click', async () => {
    clear(out);
    try {
      const {data} = await call(`/jobs/${encodeURIComponent(j.id)}/retry`, {method: 'POST'});
      const next = data.JobIds && data.JobIds[0];
      toast('Retry queued.', 'ok');
      if (next) location.hash = '#/jobs/' + next;
    } catch (e) { out.append(problemView(e)); }
  });
  const final = FINAL.has(j.state);
  const name = h('span', {}, shortID(j.webhook_id));
  if (j.webhook_id) webhookName(j.webhook_id).then((n) => { if (n) replace(name, n); });
  const streams = j.streams || {};
  const all = ['Output', 'Warning', 'Error', 'Verbose'].flatMap((s) => (streams[s] || []).map((e) => ({...e, stream: s})));
  const callbacks = all.filter((e) => e.node === 'callback');
  put(view, 
    h('div', {class: 'page-head'},
      h('div', {}, h('p', {class: 'crumbs'}, h('a', {href: '#/jobs'}, 'Jobs'), ' / '),
        h('h1', {}, 'Job ', h('span', {class: 'mono'}, j.id.slice(0, 8)), ' ', h('span', {id: 'job-state-badge'}, badge(j.state, stateKinds[j.state])))),
      h('div', {class: 'row wrap'}, final ? retry : cancel)),
    out,
    j.error ? h('div', {class: 'banner error', id: 'job-error'}, j.error) : null,
    h('dl', {class: 'facts'},
      fact('Webhook', j.webhook_id ? h('a', {href: '#/webhooks/' + encodeURIComponent(j.webhook_id)}, name) : '—'),
      fact('Handler', j.handler ? h('code', {}, j.handler) : '—'),
      fact('Automation', j.automation ? `${j.automation} (revision ${j.revision})` : '—'),
      fact('Attempt', `${j.attempt} of ${j.max_attempts}`),
      fact('Created', when(j.created_at)),
      fact('Started', when(j.started_at)),
      fact('Finished', when(j.finished_at)),
      j.retry_of ? fact('Retry of', h('a', {href: '#/jobs/' + j.retry_of}, j.retry_of)) : null,
      j.callback_url ? fact('Callback', h('code', {}, j.callback_url)) : null,
      fact('Id', h('code', {}, j.id))),
    h('div', {class: 'grid2'},
      h('section', {class: 'panel'}, h('h2', {}, 'Inputs'), h('pre', {class: 'body'}, pretty(j.inputs) || '—'),
        h('h2', {}, 'Output'), h('pre', {class: 'body'}, pretty(j.output) || '—')),
      h('section', {class: 'panel'}, h('h2', {}, 'Answer'), j.response ? answerView(j.response) : h('p', {class: 'muted'}, final ? 'None.' : 'Not yet.'))),
    h('section', {class: 'panel'}, h('h2', {}, 'Callback deliveries'),
      callbacks.length ? h('ul', {class: 'plain', id: 'job-callbacks'}, callbacks.map((e) => h('li', {}, badge(e.stream, e.stream === 'Error' ? 'bad' : e.stream === 'Warning' ? 'warn' : 'info'), ' ', e.message)))
        : h('p', {class: 'muted'}, j.callback_url ? 'None yet.' : 'This job has no callback URL.')),
    h('section', {class: 'panel'}, h('h2', {}, 'Log streams'), streamsView(streams)));
  if (!final) {
    // Follow the job until it ends.
    const t = setTimeout(() => { if (ctx.alive()) window.dispatchEvent(new HashChangeEvent('hashchange')); }, 2000);
    ctx.onLeave(() => clearTimeout(t));
  }
}

function fact(k, v) { return [h('dt', {}, k), h('dd', {}, v)]; }

function streamsView(streams) {
  const names = ['Output', 'Warning', 'Error', 'Verbose'];
  const total = names.reduce((n, s) => n + (streams[s] || []).length, 0);
  if (!total) return h('p', {class: 'muted'}, 'No log.');
  return h('div', {class: 'stack'}, names.filter((s) => (streams[s] || []).length).map((s) =>
    h('details', {open: s !== 'Verbose'}, h('summary', {}, `${s} (${streams[s].length})`),
      h('div', {class: 'table-wrap'}, h('table', {class: 'list log'},
        h('tbody', {}, streams[s].map((e) => h('tr', {class: e.node === 'callback' ? 'callback' : ''},
          h('td', {class: 'mono'}, e.node || ''), h('td', {class: 'pre'}, e.message)))))))));
}

