// Secrets: names only (values are write-only), which webhooks and
// automations refer to each one, setting and deleting them. Deleting one
// that a verify block uses is refused (409) unless forced.
import {call, get, qs} from '../api.js';
import {h, put, replace, clear, badge, field, toast, problemView, confirmDialog} from '../dom.js';

export async function render(view) {
  const name = h('input', {type: 'text', id: 'secret-name', pattern: '[A-Za-z0-9_]{1,64}', required: true, class: 'mono', autocomplete: 'off',
    placeholder: 'github_hook'});
  const value = h('input', {type: 'password', id: 'secret-value', required: true, autocomplete: 'new-password', minlength: 4});
  const out = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'row wrap align-end', id: 'secret-form'},
    field('Name', name), field('Value', value),
    h('div', {class: 'field actions'}, h('button', {type: 'submit', class: 'primary'}, 'Save secret')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    try {
      const {status} = await call('/secrets/' + encodeURIComponent(name.value.trim()), {method: 'PUT', json: {value: value.value}});
      value.value = '';
      toast(status === 201 ? 'Secret created.' : 'Secret replaced.', 'ok');
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (e) { out.append(problemView(e)); }
  });
  const body = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  put(view, h('div', {class: 'page-head'}, h('h1', {}, 'Secrets')),
    h('section', {class: 'panel'}, h('h2', {}, 'Set a secret'),
      h('p', {}, 'Use it as ', h('code', {}, '{{secrets.NAME}}'), ' in event KATA (verify blocks, rules, inputs) and in scripts. Values are write-only: no page or API shows them again.'),
      form, out),
    body);
  const usage = await get('/secrets/usage');
  const list = usage.secrets || [];
  if (!list.length) { replace(body, h('p', {class: 'empty'}, 'No secrets yet.')); return; }
  replace(body, h('div', {class: 'table-wrap'}, h('table', {class: 'list', id: 'secret-list'},
    h('thead', {}, h('tr', {}, ['Name', 'Used by webhooks', 'Used by automations', ''].map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', {}, list.map((s) => {
      const del = h('button', {type: 'button', class: 'small danger', 'aria-label': 'Delete ' + s.name}, 'Delete');
      del.addEventListener('click', () => remove(s, out));
      return h('tr', {'data-name': s.name},
        h('td', {}, h('code', {}, s.name), ' ', s.set ? null : badge('not set', 'bad')),
        h('td', {}, (s.webhooks || []).length ? (s.webhooks).map((w, i) => [i ? ', ' : '',
          h('a', {href: '#/webhooks/' + encodeURIComponent(w.id)}, w.name), w.verify ? [' ', badge('verify', 'warn')] : null])
          .concat(s.webhook_count > s.webhooks.length ? [h('span', {class: 'muted more'}, ` and ${(s.webhook_count - s.webhooks.length).toLocaleString()} more`)] : [])
          : h('span', {class: 'muted'}, '—')),
        h('td', {}, (s.automations || []).length ? s.automations.map((a, i) => [i ? ', ' : '',
          h('a', {href: '#/automations/' + encodeURIComponent(a), class: 'mono'}, a)]) : h('span', {class: 'muted'}, '—')),
        h('td', {class: 'actions'}, s.set ? del : null));
    })))));
}

async function remove(s, out) {
  clear(out);
  if (!await confirmDialog(`Delete the secret ${s.name}?`)) return;
  try {
    await call('/secrets/' + encodeURIComponent(s.name), {method: 'DELETE'});
    toast('Secret deleted.', 'ok');
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } catch (e) {
    out.append(problemView(e));
    if (e.status === 409 && await confirmDialog(e.message + ' Delete it anyway? Those webhooks answer 500 until it is set again.', 'Delete anyway')) {
      await call('/secrets/' + encodeURIComponent(s.name) + qs({force: 'true'}), {method: 'DELETE'});
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    }
  }
}
