// Requests: the inspector's list. Every request to a known webhook is
// recorded, refused ones too (with their cause); filtering and paging are
// done by the server, so a million records page as fast as a hundred.
import {get, qs, webhookName} from '../api.js';
import {h, put, replace, ago, statusBadge, badge, duration, pager, toRFC3339, toLocalInput, shortID, field} from '../dom.js';

const PAGE = 50;

// causes are the values of a record's cause, with what each means.
export const causes = {
  verify: 'A verify block refused the request (signature, credentials or address).',
  rate_limit: 'The webhook\'s rate limit was exceeded (429).',
  concurrency: 'Too many requests of this webhook were running at once (429).',
  body_size: 'The body was larger than the webhook\'s limit (413).',
  disabled: 'The webhook is disabled (400).',
  expired: 'The webhook had expired (400).',
  no_handler: 'No automation handler of the event KATA was enabled for this request (404).',
  error: 'The automation ended in an error (500).',
  timeout: 'The automation ran past its time limit (504).',
  crash: 'The extension running the automation crashed (502).',
};

// webhookPicker is a text field that finds webhooks by name (on the
// server) and yields the chosen one's id.
export function webhookPicker(initialID, label = 'Webhook') {
  const listID = 'wh-options-' + Math.random().toString(36).slice(2, 7);
  const input = h('input', {type: 'text', list: listID, autocomplete: 'off', placeholder: 'any webhook', 'data-webhook-picker': ''});
  const dl = h('datalist', {id: listID});
  const hidden = {value: initialID || ''};
  const byName = new Map();
  if (initialID) webhookName(initialID).then((n) => { input.value = n; byName.set(n, initialID); });
  let last = '';
  input.addEventListener('input', async () => {
    const q = input.value.trim();
    if (byName.has(q)) { hidden.value = byName.get(q); return; }
    hidden.value = /^[0-9a-f-]{36}$/i.test(q) ? q : '';
    if (q === last) return;
    last = q;
    try {
      const l = await get('/webhooks' + qs({limit: 20, q}));
      replace(dl, (l.webhooks || []).map((w) => { byName.set(w.name, w.id); return h('option', {value: w.name}); }));
      if (byName.has(input.value.trim())) hidden.value = byName.get(input.value.trim());
    } catch (_) { /* suggestions are optional */ }
  });
  const el = field(label, input, 'Type a name to search; an id works too.');
  el.append(dl);
  return {el, input, get id() { return input.value.trim() ? hidden.value : ''; }};
}

export async function render(view, _id, params) {
  const f = {
    webhook: params.get('webhook') || '', status: params.get('status') || '', cause: params.get('cause') || '',
    since: params.get('since') || '', until: params.get('until') || '', q: params.get('q') || '',
  };
  const before = params.get('before') || '';
  const prev = (params.get('prev') || '').split(',').filter(Boolean);
  const picker = webhookPicker(f.webhook);
  const status = h('select', {name: 'status'}, [['', 'any'], ['2xx', '2xx'], ['3xx', '3xx'], ['4xx', '4xx'], ['5xx', '5xx']].map(([v, l]) => h('option', {value: v}, l)));
  status.value = f.status;
  const cause = h('select', {name: 'cause'}, h('option', {value: ''}, 'any'), h('option', {value: '-'}, 'not refused'),
    Object.keys(causes).map((c) => h('option', {value: c}, c)));
  cause.value = f.cause;
  const since = h('input', {type: 'datetime-local', value: toLocalInput(f.since)});
  const until = h('input', {type: 'datetime-local', value: toLocalInput(f.until)});
  const q = h('input', {type: 'search', value: f.q, placeholder: 'text in headers, query or body', 'data-search': '', maxlength: 256});
  const form = h('form', {class: 'filters', id: 'request-filters', role: 'search'},
    picker.el, field('Status', status), field('Cause', cause), field('Since', since), field('Until', until), field('Search', q),
    h('div', {class: 'field actions'}, h('button', {type: 'submit', class: 'primary'}, 'Filter'),
      h('a', {class: 'button', href: '#/requests'}, 'Clear')));
  const go = (p) => { location.hash = '#/requests' + qs(p); };
  const current = () => ({webhook: picker.id, status: status.value, cause: cause.value,
    since: toRFC3339(since.value), until: toRFC3339(until.value), q: q.value.trim()});
  form.addEventListener('submit', (ev) => { ev.preventDefault(); go(current()); });
  for (const sel of [status, cause]) sel.addEventListener('change', () => go(current()));
  const body = h('div', {'aria-busy': 'true'}, h('p', {class: 'muted'}, 'Loading…'));
  put(view, 
    h('div', {class: 'page-head'}, h('h1', {}, 'Requests'),
      h('a', {class: 'button', href: '#/tail' + qs({webhook: f.webhook})}, 'Live tail')),
    form, body);

  // The count stops at 10,000 ("10,000+"); a search is not counted.
  const list = await get('/requests' + qs({...f, limit: PAGE, before, count: f.q ? '' : 'true'}));
  const runs = list.runs || [];
  body.removeAttribute('aria-busy');
  // A search reads a bounded number of records per page: say how far it
  // went and offer to go on.
  const next = list.next_before ? () => go({...f, before: list.next_before, prev: [...prev, before || '-'].join(',')}) : null;
  const searched = list.searched ? h('p', {class: 'hint', id: 'search-scope', 'data-before': before},
    (before ? `Searched ${list.searched.toLocaleString()} older requests` : `Searched the ${list.searched.toLocaleString()} most recent requests`) +
    (f.webhook || f.status || f.cause || f.since || f.until ? ' that match the other filters' : '') +
    `: ${runs.length ? runs.length + ' found' : 'no match'}. `,
    h('button', {type: 'button', class: 'small', id: 'search-older', onclick: next}, 'Search older requests →')) : null;
  if (!runs.length) {
    replace(body, h('div', {class: 'empty'}, searched || h('p', {}, before ? 'No older requests.' : 'No request matches.'),
      prev.length || before ? pager({onFirst: () => go(f)}) : null));
    return;
  }
  const rows = runs.map((r) => {
    const name = h('span', {}, shortID(r.webhook_id));
    webhookName(r.webhook_id).then((n) => { if (n) replace(name, n); });
    return h('tr', {'data-id': r.id, class: r.cause ? 'refused' : ''},
      h('td', {}, h('a', {href: '#/requests/' + r.id, class: 'strong'}, ago(r.created_at))),
      h('td', {}, statusBadge(r.status)),
      h('td', {}, r.cause ? h('span', {title: causes[r.cause] || r.cause}, badge(r.cause, 'bad')) : h('span', {class: 'muted'}, '—')),
      h('td', {}, h('a', {href: '#/webhooks/' + encodeURIComponent(r.webhook_id)}, name)),
      h('td', {class: 'wide'}, r.automation || h('span', {class: 'muted'}, '—')),
      h('td', {class: 'num'}, duration(r.duration_us)),
      h('td', {class: 'wide'},
        r.job_id ? h('a', {href: '#/jobs/' + r.job_id}, badge('job', 'info')) : null,
        r.replay_of ? [' ', h('a', {href: '#/requests/' + r.replay_of, title: 'replay of ' + r.replay_of}, badge('replay', 'info'))] : null,
        r.error ? h('span', {class: 'error-text clip', title: r.error}, ' ' + r.error) : null));
  });
  const count = list.total !== undefined ? h('p', {class: 'hint', id: 'request-count'},
    `${list.total.toLocaleString()}${list.total_more ? '+' : ''} request${list.total === 1 && !list.total_more ? '' : 's'} match`) : null;
  replace(body, searched || count,
    h('div', {class: 'table-wrap'}, h('table', {class: 'list', id: 'request-list'},
      h('thead', {}, h('tr', {}, ['When', 'Status', 'Cause', 'Webhook'].map((t) => h('th', {scope: 'col'}, t)),
        h('th', {scope: 'col', class: 'wide'}, 'Automation'), h('th', {scope: 'col', class: 'num'}, 'Duration'), h('th', {scope: 'col', class: 'wide'}, 'Notes'))),
      h('tbody', {}, rows))),
    pager({
      label: 'Request pages',
      onFirst: before ? () => go(f) : null,
      onPrev: before ? () => go({...f, before: prev[prev.length - 1] === '-' ? '' : prev[prev.length - 1], prev: prev.slice(0, -1).join(',')}) : null,
      onNext: next,
    }));
}
