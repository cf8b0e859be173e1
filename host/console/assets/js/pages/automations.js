// Automations: the list, and an editor for the script and policy whose
// problems (from PUT /automations/{name}) are shown on their lines.
import {call, get, qs} from '../api.js';
import {h, put, replace, clear, ago, badge, field, toast, problemView, confirmDialog} from '../dom.js';
import {editor, itemsFor} from '../editor.js';

const WEBHOOK_TRIGGER = 'cerb.trigger.webhook.respond';

export async function renderList(view, _id, params) {
  const filter = h('input', {type: 'search', placeholder: 'Filter by name or description', 'data-search': '', value: params.get('q') || ''});
  const body = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  put(view, 
    h('div', {class: 'page-head'}, h('h1', {}, 'Automations'),
      h('div', {class: 'row wrap'},
        h('a', {class: 'button', href: '#/packages'}, 'Import a package'),
        h('a', {class: 'button primary', href: '#/automations/new'}, '+ New automation'))),
    h('div', {class: 'toolbar'}, field('Filter', filter)), body);
  const l = await get('/automations');
  const all = l.automations || [];
  const draw = () => {
    const f = filter.value.trim().toLowerCase();
    const shown = all.filter((a) => !f || a.name.toLowerCase().includes(f) || (a.description || '').toLowerCase().includes(f));
    replace(body, shown.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'list', id: 'automation-list'},
      h('thead', {}, h('tr', {}, ['Name', 'Trigger', 'Revision', 'Changed', 'Description'].map((t, i) => h('th', {scope: 'col', class: i === 4 ? 'wide' : ''}, t)))),
      h('tbody', {}, shown.map((a) => h('tr', {},
        h('td', {}, h('a', {href: '#/automations/' + encodeURIComponent(a.name), class: 'strong mono'}, a.name)),
        h('td', {}, badge(a.extension_id.replace(/^cerb\.trigger\./, ''), 'info')),
        h('td', {class: 'num'}, String(a.revision)),
        h('td', {}, ago(a.updated_at)),
        h('td', {class: 'wide muted'}, a.description || ''))))))
      : h('div', {class: 'empty'}, h('p', {}, all.length ? 'No automation matches.' : 'No automations yet. Import a package, or create one.')));
  };
  filter.addEventListener('input', draw);
  draw();
}

export async function renderEditor(view, name) {
  const isNew = name === 'new';
  let a = {name: '', extension_id: WEBHOOK_TRIGGER, description: '', script: 'start:\n  return:\n    status_code: 200\n    body: Hello\n', policy_kata: '', revision: 0};
  if (!isNew) a = await get('/automations/' + encodeURIComponent(name));
  const nameIn = h('input', {type: 'text', value: a.name, required: true, readonly: !isNew, class: 'mono', placeholder: 'example.webhook.respond'});
  const trigger = h('input', {type: 'text', value: a.extension_id, list: 'triggers', class: 'mono'});
  const triggers = h('datalist', {id: 'triggers'}, [WEBHOOK_TRIGGER, 'cerb.trigger.automation.function'].map((t) => h('option', {value: t})));
  const desc = h('input', {type: 'text', value: a.description});
  const script = editor({label: 'Script', value: a.script, rows: Math.min(30, Math.max(12, a.script.split('\n').length + 2)), name: 'script'});
  const policy = editor({label: 'Policy KATA', value: a.policy_kata, rows: Math.min(16, Math.max(4, a.policy_kata.split('\n').length + 2)), name: 'policy_kata',
    hint: 'Which commands the script may run (empty: none of the outbound ones).'});
  const out = h('div', {'aria-live': 'polite', id: 'automation-out'});
  const rev = h('span', {class: 'muted', id: 'automation-rev'}, isNew ? '' : `revision ${a.revision}`);
  const form = h('form', {class: 'stack', id: 'automation-form'},
    h('div', {class: 'grid2 tight'}, field('Name', nameIn), field('Trigger', trigger)), triggers,
    field('Description', desc), script.el, policy.el,
    h('div', {class: 'row'}, h('button', {type: 'submit', class: 'primary', id: 'save-automation'}, isNew ? 'Create automation' : 'Save'), rev),
    out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    const n = nameIn.value.trim();
    const body = {name: n, extension_id: trigger.value.trim(), description: desc.value, script: script.value, policy_kata: policy.value};
    try {
      const {data} = await call('/automations/' + encodeURIComponent(n), {method: 'PUT', json: body});
      script.setDiagnostics([], 'Saved.');
      policy.setDiagnostics(null);
      rev.textContent = `revision ${data.revision}`;
      toast(`Saved ${data.name} (revision ${data.revision}).`, 'ok');
      if (isNew) location.hash = '#/automations/' + encodeURIComponent(n);
    } catch (e) {
      if (e.status === 400 && e.problem) {
        script.setDiagnostics(itemsFor(e.problem, 'script').filter((x) => x.field !== 'policy_kata'));
        const pol = (e.problem.errors || []).filter((x) => x.field === 'policy_kata');
        policy.setDiagnostics(pol.length ? pol : null);
      }
      out.append(problemView(e));
    }
  });
  const del = h('button', {type: 'button', class: 'danger'}, 'Delete automation');
  del.addEventListener('click', async () => {
    if (!await confirmDialog(`Delete the automation ${a.name}?`)) return;
    clear(out);
    try {
      await call('/automations/' + encodeURIComponent(a.name), {method: 'DELETE'});
      location.hash = '#/automations';
    } catch (e) {
      out.append(problemView(e));
      if (e.status === 409 && await confirmDialog(e.message + ' Delete it anyway?', 'Delete anyway')) {
        await call('/automations/' + encodeURIComponent(a.name) + qs({force: 'true'}), {method: 'DELETE'});
        location.hash = '#/automations';
      }
    }
  });
  put(view, 
    h('div', {class: 'page-head'},
      h('div', {}, h('p', {class: 'crumbs'}, h('a', {href: '#/automations'}, 'Automations'), ' / '),
        h('h1', {}, isNew ? 'New automation' : a.name)),
      isNew ? null : del),
    form);
  if (isNew) nameIn.focus();
}
