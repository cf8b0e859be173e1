// A text editor for KATA, scripts and packages: a textarea with line
// numbers, and the API's diagnostics (line:col and message) shown on their
// lines and listed under it. Each listed problem moves the caret to its
// place.
import {h, clear} from './dom.js';

let seq = 0;

export function editor({label, value = '', rows = 12, name, hint, placeholder, hideLabel}) {
  const id = 'ed' + (++seq);
  const ta = h('textarea', {id, name, rows, wrap: 'off', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    class: 'code-input', 'aria-describedby': id + '-diags', placeholder});
  ta.value = value;
  // The numbers sit in an absolutely placed list, so that the gutter is as
  // tall as the textarea, not as the text.
  const nums = h('div', {class: 'gutter-nums'});
  const gutter = h('div', {class: 'gutter', 'aria-hidden': 'true'}, nums);
  const diags = h('ul', {id: id + '-diags', class: 'diags', 'aria-live': 'polite'});
  const status = h('span', {class: 'ed-status', 'aria-live': 'polite'});
  let marks = new Map();

  function lines() {
    const n = ta.value.split('\n').length;
    if (nums.childElementCount !== n || marks.size || gutter.dataset.marked) {
      clear(nums);
      for (let i = 1; i <= n; i++) {
        const m = marks.get(i);
        nums.append(h('div', {class: m ? 'ln bad' : 'ln', title: m || null}, String(i)));
      }
      gutter.dataset.marked = marks.size ? '1' : '';
    }
    gutter.scrollTop = ta.scrollTop;
  }
  ta.addEventListener('input', lines);
  ta.addEventListener('scroll', () => { gutter.scrollTop = ta.scrollTop; });

  // goto puts the caret at line:col (1-based) and scrolls to it.
  function goto(line, col) {
    const ls = ta.value.split('\n');
    let pos = 0;
    for (let i = 0; i < Math.min(line - 1, ls.length); i++) pos += ls[i].length + 1;
    pos += Math.max(0, Math.min((col || 1) - 1, (ls[line - 1] || '').length));
    ta.focus();
    ta.setSelectionRange(pos, pos);
    const lh = ta.scrollHeight / Math.max(1, ls.length);
    ta.scrollTop = Math.max(0, (line - 3) * lh);
  }

  // setDiagnostics shows problems ([{line, column, message, field}]);
  // an empty list says the text is valid, null clears the state.
  function setDiagnostics(items, okText = 'No problems found.') {
    clear(diags);
    marks = new Map();
    if (items === null) {
      status.textContent = '';
      ta.removeAttribute('aria-invalid');
      wrap.classList.remove('invalid', 'valid');
      lines();
      return;
    }
    for (const it of items) {
      if (it.line) marks.set(it.line, (marks.get(it.line) ? marks.get(it.line) + '\n' : '') + it.message);
      const where = it.line ? `Line ${it.line}, column ${it.column || 1}` : (it.field || 'Problem');
      diags.append(h('li', {'data-line': it.line || '', 'data-column': it.column || ''},
        it.line ? h('button', {type: 'button', class: 'link', onclick: () => goto(it.line, it.column)}, where) : h('strong', {}, where),
        ': ', it.message));
    }
    ta.setAttribute('aria-invalid', items.length ? 'true' : 'false');
    wrap.classList.toggle('invalid', items.length > 0);
    wrap.classList.toggle('valid', items.length === 0);
    status.textContent = items.length ? `${items.length} problem${items.length > 1 ? 's' : ''}` : okText;
    gutter.dataset.marked = '1';
    lines();
  }

  function setStatus(text) { status.textContent = text; }

  const wrap = h('div', {class: 'editor'},
    h('div', {class: 'ed-head'}, h('label', {for: id, class: hideLabel ? 'sr-only' : null}, label), status),
    hint ? h('p', {class: 'hint'}, hint) : null,
    h('div', {class: 'ed-body'}, gutter, ta),
    diags);
  lines();
  return {el: wrap, textarea: ta, setDiagnostics, setStatus, goto, get value() { return ta.value; }, set value(v) { ta.value = v; lines(); }};
}

// itemsFor picks a problem's items for one field (all when field is
// empty), keeping those without a field when nothing matches.
export function itemsFor(problem, field) {
  const items = (problem && problem.errors) || [];
  if (!field) return items;
  const mine = items.filter((e) => e.field === field || (e.field || '').endsWith('.' + field));
  if (mine.length) return mine;
  const none = items.filter((e) => !e.field);
  if (none.length) return none;
  if (problem && problem.detail && !items.length) return [{message: problem.detail}];
  return items;
}
