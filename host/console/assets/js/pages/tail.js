// Live tail: GET /api/v1/events read with fetch() and a stream reader
// (EventSource cannot send the bearer header), reconnecting when the
// stream drops. Pausing keeps the stream open and holds new events back;
// the text filter works in the page.
import {token, qs, webhookName} from '../api.js';
import {h, put, replace, clear, statusBadge, badge, duration, shortID, stateKinds, field} from '../dom.js';
import {webhookPicker} from './requests.js';

const MAX_ROWS = 500;

// readEvents reads a server-sent event stream from a fetch response,
// calling onEvent(type, data) for each event; it resolves when the stream
// ends.
export async function readEvents(res, onEvent) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let type = 'message';
      const data = [];
      for (const line of chunk.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const c = line.indexOf(':');
        const k = c < 0 ? line : line.slice(0, c);
        const v = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
        if (k === 'event') type = v;
        else if (k === 'data') data.push(v);
      }
      if (data.length) onEvent(type, data.join('\n'));
    }
  }
}

export async function render(view, _id, params, ctx) {
  const webhook = params.get('webhook') || '';
  const types = params.get('types') || 'request,job';
  const picker = webhookPicker(webhook);
  const showReq = h('input', {type: 'checkbox', checked: types.includes('request')});
  const showJob = h('input', {type: 'checkbox', checked: types.includes('job')});
  const filter = h('input', {type: 'search', placeholder: 'status, cause, webhook, automation…', 'data-search': '', id: 'tail-filter'});
  const pause = h('button', {type: 'button', id: 'tail-pause', 'aria-pressed': 'false'}, 'Pause');
  const clearBtn = h('button', {type: 'button'}, 'Clear');
  const state = h('span', {class: 'conn', id: 'tail-state', role: 'status'}, 'Connecting…');
  const tbody = h('tbody', {id: 'tail-rows'});
  const empty = h('p', {class: 'muted', id: 'tail-empty'}, 'Waiting for requests… Call a webhook and it appears here.');
  const apply = h('form', {class: 'filters', role: 'search'},
    picker.el,
    h('fieldset', {class: 'field'}, h('legend', {}, 'Show'),
      h('label', {class: 'check'}, showReq, ' requests'), h('label', {class: 'check'}, showJob, ' jobs')),
    h('div', {class: 'field actions'}, h('button', {type: 'submit'}, 'Apply')));
  apply.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = [showReq.checked && 'request', showJob.checked && 'job'].filter(Boolean).join(',');
    location.hash = '#/tail' + qs({webhook: picker.id, types: t === 'request,job' ? '' : t || 'request'});
  });
  put(view, 
    h('div', {class: 'page-head'}, h('h1', {}, 'Live tail'), state),
    apply,
    h('div', {class: 'toolbar'}, field('Filter shown events', filter), pause, clearBtn),
    empty,
    h('div', {class: 'table-wrap'}, h('table', {class: 'list tail'},
      h('thead', {}, h('tr', {}, ['Time', 'Kind', 'Status', 'Webhook', 'Detail'].map((t) => h('th', {scope: 'col'}, t)))),
      tbody)));

  let paused = false;
  const held = [];
  function matches(tr) {
    const f = filter.value.trim().toLowerCase();
    return !f || tr.textContent.toLowerCase().includes(f);
  }
  filter.addEventListener('input', () => { for (const tr of tbody.rows) tr.hidden = !matches(tr); });
  clearBtn.addEventListener('click', () => { clear(tbody); held.length = 0; empty.hidden = false; });
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    if (!paused) { held.splice(0).forEach(show); }
    status();
  });

  function show(tr) {
    empty.hidden = true;
    tr.hidden = !matches(tr);
    tbody.prepend(tr);
    while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild.remove();
  }

  function row(type, ev) {
    const d = ev.data || {};
    const t = new Date(d.created_at || d.at || Date.now());
    const time = h('time', {datetime: t.toISOString(), title: t.toLocaleString()}, t.toLocaleTimeString());
    if (type === 'request') {
      const name = h('span', {}, shortID(d.webhook_id || ev.webhook_id));
      webhookName(d.webhook_id || ev.webhook_id).then((n) => { if (n) replace(name, n); });
      return h('tr', {class: 'ev-request' + (d.cause ? ' refused' : ''), 'data-id': d.id},
        h('td', {}, h('a', {href: '#/requests/' + d.id}, time)),
        h('td', {}, badge('request')),
        h('td', {}, statusBadge(d.status)),
        h('td', {}, name),
        h('td', {}, d.cause ? [badge(d.cause, 'bad'), ' '] : null, d.replay_of ? [badge('replay', 'info'), ' '] : null,
          d.automation || '', ' ', h('span', {class: 'muted'}, duration(d.duration_us)),
          d.job_id ? [' ', h('a', {href: '#/jobs/' + d.job_id}, 'job')] : null,
          d.error ? h('span', {class: 'error-text'}, ' ' + d.error) : null));
    }
    return h('tr', {class: 'ev-job', 'data-id': d.job_id},
      h('td', {}, h('a', {href: '#/jobs/' + d.job_id}, time)),
      h('td', {}, badge('job')),
      h('td', {}, badge(d.state || '?', stateKinds[d.state])),
      h('td', {}, shortID(d.job_id)),
      h('td', {}, d.attempt ? `attempt ${d.attempt}` : ''));
  }

  function status(text) {
    if (text !== undefined) state.dataset.conn = text;
    const base = state.dataset.conn || '';
    state.textContent = base + (paused ? ` · paused, ${held.length} new held back` : '');
    state.className = 'conn ' + (base.startsWith('Live') ? 'ok' : 'warn');
  }

  const ctrl = new AbortController();
  ctx.onLeave(() => ctrl.abort());
  let delay = 1000;
  (async () => {
    while (!ctrl.signal.aborted && ctx.alive()) {
      try {
        const res = await fetch('/api/v1/events' + qs({webhook, types: types === 'request,job' ? '' : types}), {
          headers: {Authorization: 'Bearer ' + token(), Accept: 'text/event-stream'},
          signal: ctrl.signal, cache: 'no-store', credentials: 'omit'});
        if (res.status === 401) { status('The token was refused; sign in again.'); return; }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        status('Live');
        view.dataset.live = 'true';
        delay = 1000;
        await readEvents(res, (type, data) => {
          let ev;
          try { ev = JSON.parse(data); } catch (_) { return; }
          const tr = row(type, ev);
          if (paused) { held.push(tr); status(); } else show(tr);
        });
      } catch (e) {
        if (ctrl.signal.aborted) return;
      }
      view.dataset.live = 'false';
      const secs = Math.round(delay / 1000);
      status(`Disconnected; reconnecting in ${secs} s…`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  })();
}
