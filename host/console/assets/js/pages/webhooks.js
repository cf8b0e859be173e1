// Webhooks: the worklist, paged and searched on the server, with each
// webhook's last answer and its last 24 hours as a sparkline.
import {get, qs, rememberWebhook} from '../api.js';
import {h, put, replace, ago, statusBadge, badge, sparkline, debounce, pager} from '../dom.js';

const PAGE = 50;

export async function render(view, _id, params) {
  const q = params.get('q') || '';
  const cursor = params.get('cursor') || '';
  // prev holds the cursors of the pages before this one, for "Previous".
  const prev = (params.get('prev') || '').split(',').filter(Boolean);
  const search = h('input', {type: 'search', id: 'wh-search', value: q, placeholder: 'Search by name', 'data-search': '',
    'aria-label': 'Search webhooks by name', autocomplete: 'off'});
  const body = h('div', {class: 'list-body', 'aria-busy': 'true'}, h('p', {class: 'muted'}, 'Loading…'));
  put(view, 
    h('div', {class: 'page-head'},
      h('h1', {}, 'Webhooks'),
      h('a', {class: 'button primary', href: '#/webhooks/new', id: 'new-webhook'}, '+ New webhook')),
    h('div', {class: 'toolbar'}, search, h('span', {class: 'hint'}, 'Press / to search')),
    body);
  const go = (p) => { location.hash = '#/webhooks' + qs(p); };
  search.addEventListener('input', debounce(() => go({q: search.value.trim()}), 300));
  if (q) { search.focus(); search.setSelectionRange(q.length, q.length); }

  const list = await get('/webhooks' + qs({limit: PAGE, cursor, q, stats: '24h'}));
  const ws = list.webhooks || [];
  ws.forEach(rememberWebhook);
  body.removeAttribute('aria-busy');
  if (!ws.length) {
    replace(body, h('div', {class: 'empty'},
      q ? h('p', {}, `No webhook's name contains “${q}”.`)
        : [h('p', {}, 'No webhooks yet.'),
          h('p', {}, h('a', {href: '#/packages'}, 'Import a package'), ' with its automations, then ',
            h('a', {href: '#/webhooks/new'}, 'create a webhook'), ' by pasting its event KATA.')]));
    return;
  }
  const now = Date.now();
  const rows = ws.map((w) => {
    const s = w.stats || {requests: [], errors: [], total: 0, error_total: 0};
    const rate = s.total ? (100 * s.error_total / s.total) : 0;
    const expired = w.expires_at && new Date(w.expires_at).getTime() <= now;
    return h('tr', {'data-id': w.id},
      h('td', {}, h('a', {href: '#/webhooks/' + encodeURIComponent(w.id), class: 'strong'}, w.name),
        w.enabled ? null : h('span', {class: 'narrow'}, ' ', badge('disabled', 'muted')),
        expired ? h('span', {class: 'narrow'}, ' ', badge('expired', 'bad')) : null),
      h('td', {class: 'wide'}, w.enabled ? badge('enabled', 'ok') : badge('disabled', 'muted')),
      h('td', {class: 'wide'}, expired ? badge('expired', 'bad') : w.expires_at ? ago(w.expires_at) : h('span', {class: 'muted'}, 'never')),
      h('td', {}, s.last_status ? [statusBadge(s.last_status), ' ', ago(s.last_at)] : h('span', {class: 'muted'}, 'no requests')),
      h('td', {class: 'spark-cell'},
        sparkline(s.requests || [], s.errors || [], `${s.total} requests and ${s.error_total} errors in 24 hours`),
        h('span', {class: 'spark-label'}, `${s.total} req`, s.total ? h('span', {class: rate >= 5 ? 'bad-text' : 'muted'}, ` · ${rate.toFixed(rate < 10 ? 1 : 0)}% err`) : null)),
      h('td', {class: 'wide actions'},
        h('a', {href: '#/requests' + qs({webhook: w.id}), 'aria-label': 'Requests of ' + w.name}, 'Requests')));
  });
  replace(body,
    h('div', {class: 'table-wrap'}, h('table', {class: 'list', id: 'webhook-list'},
      h('thead', {}, h('tr', {},
        h('th', {scope: 'col'}, 'Name'), h('th', {scope: 'col', class: 'wide'}, 'State'), h('th', {scope: 'col', class: 'wide'}, 'Expires'),
        h('th', {scope: 'col'}, 'Last answer'), h('th', {scope: 'col'}, '24 hours'), h('th', {scope: 'col', class: 'wide'}, h('span', {class: 'sr-only'}, 'Links')))),
      h('tbody', {}, rows))),
    pager({
      label: 'Webhook pages',
      onFirst: prev.length ? () => go({q}) : null,
      onPrev: prev.length ? () => go({q, cursor: prev[prev.length - 1] === '-' ? '' : prev[prev.length - 1], prev: prev.slice(0, -1).join(',')}) : null,
      onNext: list.next_cursor ? () => go({q, cursor: list.next_cursor, prev: [...prev, cursor || '-'].join(',')}) : null,
    }));
}
