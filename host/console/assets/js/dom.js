// DOM helpers: building elements, formatting values, small widgets.
// Everything is built with createElement and textContent: no HTML strings,
// so nothing a request carries can become markup.

// h builds an element: h('a', {href: '#/x', class: 'btn'}, 'text', child).
// Attributes starting with "on" are listeners; true sets a boolean
// attribute, false/null/undefined leave it out.
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el && !tag.startsWith('svg:')) el.value = v;
    else if (k === 'checked' && tag === 'input') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// put appends children to an element as h() does: null, undefined and
// false are left out, arrays are flattened (Element.append would print
// "null").
export function put(el, ...children) {
  append(el, children);
  return el;
}

// clear empties an element and returns it.
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// replace puts children in place of an element's content.
export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

let toastTimer = 0;

// toast shows a short message in the polite live region.
export function toast(msg, kind) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = 'toast show' + (kind ? ' ' + kind : '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = 'toast'; }, 4000);
}

// debounce calls fn once calls stop for ms.
export function debounce(fn, ms) {
  let t = 0;
  const d = (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  d.cancel = () => clearTimeout(t);
  return d;
}

// ago formats a time as "3 min ago" (title: the exact time).
export function ago(iso) {
  if (!iso) return h('span', {class: 'muted'}, '—');
  const t = new Date(iso);
  return h('time', {datetime: iso, title: t.toLocaleString()}, relative(t));
}

export function relative(t) {
  const s = Math.round((Date.now() - t.getTime()) / 1000);
  const abs = Math.abs(s);
  const unit = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.floor(abs / 60), 'min'] :
    abs < 86400 ? [Math.floor(abs / 3600), 'h'] : [Math.floor(abs / 86400), 'd'];
  if (abs < 5) return 'just now';
  return s >= 0 ? `${unit[0]} ${unit[1]} ago` : `in ${unit[0]} ${unit[1]}`;
}

// when formats a time as the browser's local date and time.
export function when(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString();
}

// duration formats microseconds.
export function duration(us) {
  if (us === undefined || us === null) return '—';
  if (us < 1000) return us + ' µs';
  if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 1 : 0) + ' ms';
  return (us / 1e6).toFixed(2) + ' s';
}

// countdown formats seconds as h:mm:ss or m:ss.
export function countdown(secs) {
  secs = Math.max(0, Math.floor(secs));
  const hh = Math.floor(secs / 3600), mm = Math.floor(secs / 60) % 60, ss = secs % 60;
  const p = (n) => String(n).padStart(2, '0');
  return hh ? `${hh}:${p(mm)}:${p(ss)}` : `${mm}:${p(ss)}`;
}

// statusBadge shows an HTTP status coloured by class.
export function statusBadge(status) {
  if (!status) return h('span', {class: 'badge'}, '—');
  return h('span', {class: 'badge s' + String(status)[0] + 'xx', title: 'HTTP ' + status}, String(status));
}

// badge is a small label; kind picks the colour (ok, warn, bad, info).
export function badge(text, kind) {
  return h('span', {class: 'badge' + (kind ? ' ' + kind : '')}, text);
}

// stateKinds colours job states.
export const stateKinds = {Queued: 'info', Running: 'info', Retrying: 'warn', Completed: 'ok', Failed: 'bad', Stopped: 'muted'};

// copyButton copies text() to the clipboard (with a fallback for pages
// that are not a secure context, where navigator.clipboard is missing).
export function copyButton(text, label = 'Copy') {
  const b = h('button', {type: 'button', class: 'small', 'data-copy': ''}, label);
  b.addEventListener('click', async () => {
    const v = typeof text === 'function' ? text() : text;
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(v);
        ok = true;
      }
    } catch (_) { /* fall back below */ }
    if (!ok) {
      const ta = h('textarea', {class: 'offscreen', 'aria-hidden': 'true'});
      ta.value = v;
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
      ta.remove();
    }
    b.textContent = ok ? 'Copied' : 'Select and copy';
    b.dataset.copied = ok ? 'true' : 'false';
    setTimeout(() => { b.textContent = label; }, 2000);
  });
  return b;
}

// secretField shows a value once: a read-only field with a copy button.
export function secretField(label, value, id) {
  const input = h('input', {id, type: 'text', readonly: true, value, class: 'mono', spellcheck: 'false'});
  input.addEventListener('focus', () => input.select());
  return h('div', {class: 'field'}, h('label', {for: id}, label), h('div', {class: 'row'}, input, copyButton(() => input.value)));
}

// codeBlock is a <pre> with a copy button.
export function codeBlock(text, label) {
  return h('div', {class: 'code'}, label ? h('div', {class: 'code-head'}, h('span', {}, label), copyButton(text)) : copyButton(text),
    h('pre', {}, h('code', {}, text)));
}

// pretty shows a value as indented JSON.
export function pretty(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}

// isBinary reports whether a string decoded from a body holds bytes that
// are not text: control characters or replacement characters.
export function isBinary(s) {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(s);
}

// hexdump shows a string's UTF-8 bytes 16 to a line, with offsets and the
// printable ASCII beside them.
export function hexdump(s, max = 4096) {
  const bytes = new TextEncoder().encode(s);
  const lines = [];
  for (let i = 0; i < Math.min(bytes.length, max); i += 16) {
    const row = bytes.slice(i, i + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const txt = Array.from(row, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(i.toString(16).padStart(8, '0') + '  ' + hex.padEnd(48) + ' ' + txt);
  }
  if (bytes.length > max) lines.push(`… ${bytes.length - max} more bytes`);
  return lines.join('\n');
}

// bodyView shows a request or response body: pretty JSON when it parses,
// a hex dump when it is binary, else the text.
export function bodyView(body, contentType) {
  if (body === undefined || body === null || body === '') return h('p', {class: 'muted'}, 'No body.');
  if (typeof body !== 'string') return h('pre', {class: 'body json'}, JSON.stringify(body, null, 2));
  if (isBinary(body)) {
    return h('div', {}, badge('binary', 'info'), h('pre', {class: 'body hex'}, hexdump(body)));
  }
  const t = body.trim();
  if ((t.startsWith('{') || t.startsWith('[')) || /json/i.test(contentType || '')) {
    try {
      return h('div', {}, badge('JSON', 'info'), h('pre', {class: 'body json'}, JSON.stringify(JSON.parse(t), null, 2)));
    } catch (_) { /* not JSON after all */ }
  }
  return h('pre', {class: 'body'}, body);
}

// kvTable shows pairs ([[k, v]] or an object) as a two-column table.
export function kvTable(pairs, caption) {
  if (!pairs) pairs = [];
  if (!Array.isArray(pairs)) pairs = Object.entries(pairs);
  if (!pairs.length) return h('p', {class: 'muted'}, 'None.');
  return h('div', {class: 'table-wrap'}, h('table', {class: 'kv'},
    caption ? h('caption', {}, caption) : null,
    h('tbody', {}, pairs.map(([k, v]) => h('tr', {}, h('th', {scope: 'row'}, k),
      h('td', {class: String(v).includes('[redacted]') ? 'redacted' : ''}, typeof v === 'string' ? v : JSON.stringify(v)))))));
}

// sparkline draws requests (bars) and errors (red bars over them) as a
// small SVG.
export function sparkline(requests, errors, label) {
  const n = requests.length || 24;
  const w = 96, hgt = 22, bw = w / n;
  const max = Math.max(1, ...requests);
  const svg = h('svg:svg', {viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, class: 'spark', role: 'img', 'aria-label': label});
  svg.append(h('svg:title', {}, label));
  requests.forEach((r, i) => {
    if (!r) return;
    const rh = Math.max(1, (r / max) * hgt);
    svg.append(h('svg:rect', {x: (i * bw).toFixed(2), y: (hgt - rh).toFixed(2), width: Math.max(1, bw - 1).toFixed(2), height: rh.toFixed(2), class: 'req'}));
    const e = errors[i] || 0;
    if (e) {
      const eh = Math.max(1, (e / max) * hgt);
      svg.append(h('svg:rect', {x: (i * bw).toFixed(2), y: (hgt - eh).toFixed(2), width: Math.max(1, bw - 1).toFixed(2), height: eh.toFixed(2), class: 'err'}));
    }
  });
  svg.append(h('svg:line', {x1: 0, y1: hgt - 0.5, x2: w, y2: hgt - 0.5, class: 'base'}));
  return svg;
}

// lineChart draws series of numbers (same length, oldest first) as an SVG
// line chart with the maximum labelled.
export function lineChart(series, {label, unit = '', height = 120, width = 360, fmt = (v) => v.toFixed(2)}) {
  const svg = h('svg:svg', {viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label});
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const max = Math.max(1e-9, ...all);
  const top = 14, bottom = height - 4;
  svg.append(h('svg:line', {x1: 0, y1: bottom, x2: width, y2: bottom, class: 'axis'}));
  svg.append(h('svg:line', {x1: 0, y1: top, x2: width, y2: top, class: 'grid'}));
  svg.append(h('svg:text', {x: 2, y: 11, class: 'tick'}, all.length ? fmt(max) + unit : 'no data yet'));
  series.forEach((s, si) => {
    const vals = s.values;
    if (vals.length < 1) return;
    const step = vals.length > 1 ? width / (vals.length - 1) : width;
    const pts = vals.map((v, i) => `${(i * step).toFixed(1)},${(bottom - ((Number.isFinite(v) ? v : 0) / max) * (bottom - top)).toFixed(1)}`);
    svg.append(h('svg:polyline', {points: pts.join(' '), class: 'line l' + si}));
  });
  return svg;
}

// field builds a labelled control.
export function field(label, control, hint) {
  const id = control.id || ('f' + Math.random().toString(36).slice(2, 9));
  control.id = id;
  return h('div', {class: 'field'}, h('label', {for: id}, label), control, hint ? h('p', {class: 'hint'}, hint) : null);
}

// confirmDialog asks a yes/no question in a modal <dialog>.
export function confirmDialog(question, yes = 'Delete') {
  return new Promise((resolve) => {
    const d = h('dialog', {class: 'dialog', 'aria-label': 'Confirm'},
      h('form', {method: 'dialog'},
        h('p', {}, question),
        h('div', {class: 'row end'},
          h('button', {value: 'no', type: 'submit'}, 'Cancel'),
          h('button', {value: 'yes', type: 'submit', class: 'danger'}, yes))));
    document.body.append(d);
    d.addEventListener('close', () => { resolve(d.returnValue === 'yes'); d.remove(); });
    d.showModal();
  });
}

// problemView shows an API problem: its detail and every item with its
// position.
export function problemView(err) {
  const p = err && err.problem;
  if (!p) return h('div', {class: 'banner error', role: 'alert'}, String(err && err.message || err));
  return h('div', {class: 'banner error', role: 'alert'},
    h('strong', {}, `${p.status || ''} ${p.title || 'Error'}`), p.detail ? ': ' + p.detail : '',
    p.errors && p.errors.length ? h('ul', {}, p.errors.map((e) => h('li', {},
      e.field ? h('code', {}, e.field + (e.line ? `:${e.line}:${e.column || 1}` : '')) : null, e.field ? ' ' : '', e.message))) : null);
}

// pager builds previous/next controls.
export function pager({onPrev, onNext, onFirst, label}) {
  return h('nav', {class: 'pager', 'aria-label': label || 'Pages'},
    onFirst ? h('button', {type: 'button', onclick: onFirst}, '⇤ Newest') : null,
    onPrev ? h('button', {type: 'button', onclick: onPrev}, '← Previous') : null,
    onNext ? h('button', {type: 'button', onclick: onNext, 'data-next': ''}, 'Next →') : null);
}

// shortID shows the start of a long id, the whole id as its title.
export function shortID(id) {
  if (!id) return '';
  return h('span', {class: 'mono', title: id}, id.length > 13 ? id.slice(0, 8) + '…' + id.slice(-4) : id);
}

// toRFC3339 turns a datetime-local value into an RFC 3339 time.
export function toRFC3339(local) {
  if (!local) return '';
  const d = new Date(local);
  return isNaN(d) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// toLocalInput turns an RFC 3339 time into a datetime-local value.
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
