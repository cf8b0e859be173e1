// Packages: paste a Cerb package to import it (as in Cerb's Setup »
// Packages » Import), answering its prompts in a form; or import a
// built-in one. The result lists every record created, and the URL of each
// webhook the package made (shown once).
import {call, get, qs} from '../api.js';
import {h, put, replace, clear, badge, secretField, problemView, field, debounce} from '../dom.js';
import {editor} from '../editor.js';

// promptForm builds inputs for package.configure.prompts; values() reads
// the answers.
function promptForm(prompts) {
  const inputs = [];
  const el = h('fieldset', {class: 'stack prompts', id: 'package-prompts'}, h('legend', {}, 'Prompts'),
    prompts.map((p) => {
      const params = p.params || {};
      let input;
      if (p.type === 'picklist') {
        // Options are a list of values, or (as Cerb writes them) an object
        // of label: value.
        const raw = params.options;
        const opts = Array.isArray(raw) ? raw.map((o) => (typeof o === 'object' && o !== null ? [o.value ?? o.label, o.label ?? o.value] : [o, o]))
          : raw && typeof raw === 'object' ? Object.entries(raw).map(([label, value]) => [value, label]) : [];
        input = h('select', {multiple: !!params.multiple, 'data-key': p.key}, opts.map(([v, l]) => h('option', {value: String(v)}, String(l))));
        if (params.default !== undefined) {
          const defs = [].concat(params.default).map(String);
          for (const o of input.options) o.selected = defs.includes(o.value);
        }
      } else {
        input = h('input', {type: 'text', 'data-key': p.key, value: params.default ?? '', placeholder: params.placeholder || ''});
      }
      inputs.push({p, input});
      return field(`${p.label || p.key} (${p.key})`, input, p.type === 'chooser' ? 'Chooser prompts are not supported by hookhost.' : null);
    }));
  return {
    el,
    values() {
      const out = {};
      for (const {p, input} of inputs) {
        out[p.key] = input.multiple ? Array.from(input.selectedOptions, (o) => o.value) : input.value;
      }
      return out;
    },
  };
}

// resultView lists an import's records and its webhooks' URLs.
function resultView(res) {
  const created = res.records_created || {};
  const rows = [];
  for (const [kind, recs] of Object.entries(created)) {
    for (const [uid, r] of Object.entries(recs || {})) rows.push({kind, uid, ...r});
  }
  const link = (r) => r.kind === 'automation' ? '#/automations/' + encodeURIComponent(r.id)
    : r.kind === 'webhook_listener' ? '#/webhooks/' + encodeURIComponent(r.id) : null;
  return h('section', {class: 'panel once', id: 'import-result'},
    h('h2', {}, `Imported ${res.package || 'the package'}`, res.revision ? ` (revision ${res.revision})` : ''),
    rows.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'list', id: 'import-records'},
      h('thead', {}, h('tr', {}, ['Record', 'Type', 'Package uid'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {},
        h('td', {}, link(r) ? h('a', {href: link(r)}, r.label || r.id) : (r.label || r.id)),
        h('td', {}, badge(r.kind, 'info')),
        h('td', {class: 'mono'}, r.uid))))))
      : h('p', {}, 'No records were created.'),
    (res.webhooks || []).length ? [h('h3', {}, 'Webhook URLs (shown only this once)'),
      res.webhooks.map((w, i) => secretField(w.name, w.url, 'import-url-' + i))] : null,
    (res.warnings || []).length ? h('div', {class: 'banner warn'}, h('strong', {}, 'Warnings'), h('ul', {}, res.warnings.map((w) => h('li', {}, w)))) : null);
}

export async function render(view) {
  const ed = editor({label: 'Package JSON', rows: 16, name: 'package',
    hint: 'Paste a package exported from Cerb or written by hand: {"package": {...}, "records": [...]}.', placeholder: '{\n  "package": {"name": "..."},\n  "records": []\n}'});
  const prompts = h('div', {});
  const out = h('div', {'aria-live': 'polite'});
  let form = null;
  let parsed = null;
  const check = debounce(() => {
    clear(prompts);
    form = null;
    parsed = null;
    const text = ed.value.trim();
    if (!text) { ed.setDiagnostics(null); return; }
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      // The server says where the syntax breaks when it is sent; here, just
      // say that it does not parse yet.
      ed.setDiagnostics(null);
      ed.setStatus('Not valid JSON yet: ' + e.message);
      return;
    }
    const pkg = parsed && parsed.package && parsed.package.package ? parsed.package : parsed;
    const ps = (pkg && pkg.package && pkg.package.configure && pkg.package.configure.prompts) || [];
    ed.setDiagnostics(null);
    ed.setStatus(`${(pkg.records || []).length} record(s)` + (ps.length ? `, ${ps.length} prompt(s)` : ''));
    if (ps.length) {
      form = promptForm(ps);
      prompts.append(form.el);
    }
  }, 250);
  ed.textarea.addEventListener('input', check);
  const importBtn = h('button', {type: 'submit', class: 'primary', id: 'import-package'}, 'Import');
  const paste = h('form', {class: 'stack', id: 'import-form'}, ed.el, prompts, h('div', {class: 'row'}, importBtn), out);
  paste.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    check.cancel();
    clear(out);
    const text = ed.value;
    let req = {body: text, type: 'application/json'};
    if (form && parsed) {
      const pkg = parsed.package && parsed.package.package ? parsed.package : parsed;
      req = {json: {package: pkg, prompts: {...(parsed.prompts || {}), ...form.values()}}};
    }
    importBtn.disabled = true;
    try {
      const {data} = await call('/packages/import', {method: 'POST', ...req});
      out.append(resultView(data));
      ed.setDiagnostics([], 'Imported.');
      out.scrollIntoView({block: 'start'});
    } catch (e) {
      if (e.status === 400 && e.problem) {
        // Positions in the pasted text are marked on their lines; the
        // others (a record's script) are listed with their field.
        ed.setDiagnostics((e.problem.errors || []).map((it) => it.field === 'package' && !req.json
          ? it : {message: (it.field ? it.field + (it.line ? `:${it.line}:${it.column || 1}` : '') + ': ' : '') + it.message}));
      }
      out.append(problemView(e));
    } finally { importBtn.disabled = false; }
  });

  const lib = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  put(view, h('div', {class: 'page-head'}, h('h1', {}, 'Packages')),
    h('div', {class: 'grid2 wide-left'},
      h('section', {class: 'panel', 'aria-labelledby': 'paste-h'}, h('h2', {id: 'paste-h'}, 'Import a package'), paste),
      h('section', {class: 'panel', 'aria-labelledby': 'lib-h'}, h('h2', {id: 'lib-h'}, 'Built-in packages'), lib)));
  try {
    const l = await get('/packages/library');
    replace(lib, h('ul', {class: 'plain'}, (l.packages || []).map((name) => {
      const b = h('button', {type: 'button', class: 'small'}, 'Import');
      b.addEventListener('click', async () => {
        clear(out);
        try {
          const {data} = await call('/packages/import' + qs({name}), {method: 'POST'});
          out.append(resultView(data));
          out.scrollIntoView({block: 'nearest'});
        } catch (e) { out.append(problemView(e)); }
      });
      return h('li', {class: 'row'}, h('code', {class: 'grow'}, name), b);
    })));
  } catch (e) { replace(lib, problemView(e)); }
}
