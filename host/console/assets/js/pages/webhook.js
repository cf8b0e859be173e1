// One webhook: create (#/webhooks/new), or view and change it: settings,
// the event KATA with the API's diagnostics as you type, its verify blocks,
// token rotation with the overlap counting down, the job callback signing
// secret, and its latest requests.
import {call, get, qs, rememberWebhook, forgetWebhook, ApiError} from '../api.js';
import {h, put, replace, clear, ago, when, statusBadge, badge, secretField, codeBlock, toast, debounce, field,
  confirmDialog, problemView, countdown, toRFC3339, toLocalInput, duration} from '../dom.js';
import {editor, itemsFor} from '../editor.js';

const EXAMPLE = 'automation/webhook:\n  uri: cerb:automation:example.webhook.respond\n';

// validator checks event KATA as the user types (debounced), with
// POST /webhooks/validate: the same checks as saving, nothing saved.
function validator(ed) {
  let ctrl = null;
  const run = debounce(async () => {
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    const text = ed.value;
    if (!text.trim()) { ed.setDiagnostics(null); return; }
    ed.setStatus('Checking…');
    try {
      await call('/webhooks/validate', {method: 'POST', json: {event_kata: text}, signal: ctrl.signal});
      ed.setDiagnostics([], 'Valid event KATA.');
    } catch (e) {
      if (e.name === 'AbortError') return;
      if (e instanceof ApiError && e.status === 400) ed.setDiagnostics(itemsFor(e.problem, 'event_kata'));
      else ed.setStatus('Not checked: ' + e.message);
    }
  }, 400);
  ed.textarea.addEventListener('input', run);
  return run;
}

// urlPanel shows a webhook's URL once, with a copy button and a curl line.
function urlPanel(url, title) {
  const curl = `curl -i -X POST -H "Content-Type: application/json" -d '{"hello":"world"}' "${url}?key=value"`;
  return h('section', {class: 'panel once', id: 'url-panel', 'aria-labelledby': 'url-panel-h'},
    h('h2', {id: 'url-panel-h'}, title),
    h('p', {class: 'warn-text'}, 'This URL holds the webhook\'s secret token. It is shown only this once: copy it now.'),
    secretField('Webhook URL', url, 'webhook-url'),
    codeBlock(curl, 'Call it with curl'));
}

// verifyBlocks finds the verify/* blocks of event KATA and their types.
export function verifyBlocks(kata) {
  const out = [];
  const lines = kata.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^verify\/([^:\s]+)\s*:/.exec(lines[i]);
    if (!m) continue;
    const b = {name: 'verify/' + m[1], line: i + 1, type: '', secrets: []};
    for (let j = i + 1; j < lines.length && /^\s+\S|^\s*$/.test(lines[j]); j++) {
      const t = /^\s+type\s*:\s*(\S+)/.exec(lines[j]);
      if (t) b.type = t[1];
      for (const s of lines[j].matchAll(/secrets\.([A-Za-z0-9_]+)/g)) b.secrets.push(s[1]);
    }
    out.push(b);
  }
  return out;
}

export async function render(view, id) {
  if (id === 'new') return renderNew(view);
  const w = await get('/webhooks/' + encodeURIComponent(id));
  rememberWebhook(w);
  renderWebhook(view, w);
}

function renderNew(view) {
  const name = h('input', {type: 'text', id: 'wh-name', required: true, autocomplete: 'off', maxlength: 200});
  const ed = editor({label: 'Event KATA', rows: 10, name: 'event_kata',
    hint: 'Paste the event KATA: verify/* blocks, then automation/* handlers. It is checked as you type.', placeholder: EXAMPLE});
  validator(ed);
  const enabled = h('input', {type: 'checkbox', checked: true});
  const debug = h('input', {type: 'checkbox'});
  const expires = h('input', {type: 'datetime-local'});
  const out = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'stack', id: 'create-webhook', novalidate: true},
    field('Name', name),
    ed.el,
    h('div', {class: 'row wrap'},
      h('label', {class: 'check'}, enabled, ' Enabled'),
      h('label', {class: 'check'}, debug, ' Debug (callers see automation error messages)')),
    field('Expires (optional)', expires, 'Requests after this time are refused with 400.'),
    h('div', {class: 'row'}, h('button', {type: 'submit', class: 'primary'}, 'Create webhook'), h('a', {href: '#/webhooks', class: 'button'}, 'Cancel')),
    out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    const body = {name: name.value.trim(), event_kata: ed.value, enabled: enabled.checked, debug: debug.checked};
    if (expires.value) body.expires_at = toRFC3339(expires.value);
    try {
      const {data} = await call('/webhooks', {method: 'POST', json: body});
      rememberWebhook(data);
      replace(view,
        h('div', {class: 'page-head'}, h('h1', {}, 'Webhook created: ' + data.name)),
        urlPanel(data.url, 'Its URL'),
        h('p', {}, h('a', {href: '#/webhooks/' + encodeURIComponent(data.id), class: 'button primary', id: 'open-webhook'}, 'Open the webhook'), ' ',
          h('a', {href: '#/tail' + qs({webhook: data.id}), class: 'button'}, 'Watch its requests live')));
      view.querySelector('#webhook-url').focus();
    } catch (e) {
      if (e.status === 400) ed.setDiagnostics(itemsFor(e.problem, 'event_kata').filter((x) => !x.field || x.field === 'event_kata'));
      out.append(problemView(e));
    }
  });
  put(view, h('div', {class: 'page-head'}, h('h1', {}, 'New webhook'), h('a', {href: '#/webhooks'}, '← Webhooks')), form);
  name.focus();
}

function renderWebhook(view, w) {
  const expired = w.expires_at && new Date(w.expires_at) <= new Date();
  const head = h('div', {class: 'page-head'},
    h('div', {}, h('p', {class: 'crumbs'}, h('a', {href: '#/webhooks'}, 'Webhooks'), ' / '),
      h('h1', {}, w.name, ' ', w.enabled ? badge('enabled', 'ok') : badge('disabled', 'muted'), expired ? [' ', badge('expired', 'bad')] : null)),
    h('div', {class: 'row wrap'},
      h('a', {class: 'button', href: '#/requests' + qs({webhook: w.id})}, 'Requests'),
      h('a', {class: 'button', href: '#/tail' + qs({webhook: w.id})}, 'Live tail'),
      h('a', {class: 'button', href: '#/test' + qs({webhook: w.id})}, 'Test and dry run'),
      h('a', {class: 'button', href: '#/jobs' + qs({webhook: w.id})}, 'Jobs')));
  put(view, head,
    h('p', {class: 'meta'}, 'ID ', h('code', {}, w.id), ' · created ', ago(w.created_at), ' · changed ', ago(w.updated_at)),
    h('div', {class: 'grid2'},
      h('div', {class: 'stack'}, kataSection(w), verifySection(w), subscriptionsSection(w)),
      h('div', {class: 'stack'}, settingsSection(w), tokenSection(w, view), signingSection(w), recentSection(w))));
}

function settingsSection(w) {
  const name = h('input', {type: 'text', value: w.name, required: true});
  const enabled = h('input', {type: 'checkbox', checked: w.enabled, id: 'wh-enabled'});
  const debug = h('input', {type: 'checkbox', checked: w.debug});
  const expires = h('input', {type: 'datetime-local', value: toLocalInput(w.expires_at)});
  const out = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'stack', id: 'settings'},
    field('Name', name),
    h('div', {class: 'row wrap'},
      h('label', {class: 'check'}, enabled, ' Enabled'),
      h('label', {class: 'check'}, debug, ' Debug')),
    field('Expires', expires, w.expires_at ? 'Now: ' + when(w.expires_at) + '. Clear the field for no expiry.' : 'Never. Set a time to refuse requests after it (400).'),
    h('div', {class: 'row'}, h('button', {type: 'submit', class: 'primary'}, 'Save settings')),
    out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    const patch = {name: name.value.trim(), enabled: enabled.checked, debug: debug.checked,
      expires_at: expires.value ? toRFC3339(expires.value) : null};
    try {
      const {data} = await call('/webhooks/' + encodeURIComponent(w.id), {method: 'PATCH', json: patch});
      forgetWebhook(w.id);
      rememberWebhook(data);
      toast('Settings saved.', 'ok');
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (e) { out.append(problemView(e)); }
  });
  return h('section', {class: 'panel', 'aria-labelledby': 'settings-h'}, h('h2', {id: 'settings-h'}, 'Settings'), form);
}

function kataSection(w) {
  const ed = editor({label: 'Event KATA', hideLabel: true, value: w.event_kata, rows: Math.min(24, Math.max(8, w.event_kata.split('\n').length + 2)), name: 'event_kata',
    hint: 'Checked as you type; saved only with Save.'});
  validator(ed);
  const out = h('div', {'aria-live': 'polite'});
  const save = h('button', {type: 'submit', class: 'primary', id: 'save-kata'}, 'Save event KATA');
  const form = h('form', {class: 'stack', id: 'kata-form'}, ed.el, h('div', {class: 'row'}, save), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    try {
      await call('/webhooks/' + encodeURIComponent(w.id), {method: 'PATCH', json: {event_kata: ed.value}});
      ed.setDiagnostics([], 'Saved.');
      toast('Event KATA saved.', 'ok');
    } catch (e) {
      if (e.status === 400) ed.setDiagnostics(itemsFor(e.problem, 'event_kata'));
      out.append(problemView(e));
    }
  });
  return h('section', {class: 'panel', 'aria-labelledby': 'kata-h'}, h('h2', {id: 'kata-h'}, 'Event KATA'), form);
}

function verifySection(w) {
  const blocks = verifyBlocks(w.event_kata);
  return h('section', {class: 'panel', 'aria-labelledby': 'verify-h'},
    h('h2', {id: 'verify-h'}, 'Verify'),
    blocks.length
      ? [h('p', {}, 'Every block must pass before a handler runs (401, or 403 for ip_allow).'),
        h('ul', {class: 'plain', id: 'verify-summary'}, blocks.map((b) => h('li', {},
          h('code', {}, b.name), ' ', badge(b.type || 'no type', b.type ? 'info' : 'bad'),
          b.secrets.length ? [' secrets: ', b.secrets.map((s, i) => [i ? ', ' : '', h('a', {href: '#/secrets'}, s)])] : null,
          h('span', {class: 'muted'}, ` (line ${b.line})`)))),
        h('p', {}, h('a', {href: '#/test' + qs({webhook: w.id}) }, 'Open the verify lab'), ': a signed sample request for each block, and a dry run.')]
      : h('p', {class: 'muted'}, 'No verify blocks: anyone with the URL can call this webhook. Add verify/<name>: blocks (github, stripe, slack, standard_webhooks, hmac, basic, bearer, header, ip_allow) to check signatures or credentials.'));
}

// subscriptionsSection shows the upstream registrations of the event KATA's
// subscribe/<name>: blocks (state, location, the upstream's last answer),
// with a retry for a failed one; nothing when there are none.
function subscriptionsSection(w) {
  const subs = w.subscriptions || [];
  if (!subs.length) return null;
  const kinds = {active: 'ok', pending: 'info', deleting: 'muted', failed: 'bad'};
  const retry = (block) => {
    const b = h('button', {type: 'button', class: 'small', 'data-retry': block}, 'Retry');
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await call(`/webhooks/${encodeURIComponent(w.id)}/subscriptions/${encodeURIComponent(block)}/retry`, {method: 'POST'});
        toast(`subscribe/${block} queued again.`, 'ok');
        window.dispatchEvent(new HashChangeEvent('hashchange'));
      } catch (e) { b.disabled = false; toast(e.message, 'bad'); }
    });
    return b;
  };
  return h('section', {class: 'panel', 'aria-labelledby': 'subs-h'},
    h('h2', {id: 'subs-h'}, 'Upstream subscriptions'),
    h('ul', {class: 'plain', id: 'subscriptions'}, subs.map((s) => h('li', {'data-block': s.block, 'data-state': s.state},
      h('code', {}, 'subscribe/' + s.block), ' ', badge(s.state, kinds[s.state] || 'info'),
      s.current ? null : h('span', {class: 'muted'}, ' (being taken back)'),
      s.location ? [' ', h('code', {}, s.location)] : null,
      h('div', {class: 'muted'}, `${s.attempts || 0} attempt(s)` + (s.last_status ? ` · the upstream answered ${s.last_status}` : '') +
        (s.updated_at ? ` · ${when(s.updated_at)}` : '')),
      s.last_error ? h('p', {class: 'warn-text'}, s.last_error) : null,
      s.state === 'failed' && s.current ? retry(s.block) : null))));
}

function tokenSection(w, view) {
  const overlap = h('select', {id: 'overlap'},
    [['0s', 'no overlap (the old URL stops now)'], ['15m', '15 minutes'], ['1h', '1 hour'], ['24h', '24 hours'], ['168h', '7 days']]
      .map(([v, l]) => h('option', {value: v}, l)));
  overlap.value = '1h';
  const out = h('div', {'aria-live': 'polite'});
  const cd = h('p', {class: 'countdown', id: 'overlap-countdown'});
  let timer = 0;
  function tick(until) {
    clearInterval(timer);
    if (!until) { cd.textContent = ''; return; }
    const end = new Date(until).getTime();
    const upd = () => {
      const left = (end - Date.now()) / 1000;
      if (left <= 0 || !view.isConnected) { cd.textContent = left <= 0 ? 'The previous URL no longer works.' : ''; clearInterval(timer); return; }
      cd.textContent = `The previous URL still works for ${countdown(left)} (until ${when(until)}).`;
    };
    upd();
    timer = setInterval(upd, 1000);
  }
  tick(w.previous_token_valid_until);
  const form = h('form', {class: 'stack', id: 'rotate-form'},
    h('p', {}, 'A new token gives the webhook a new URL. The old URL can keep working for an overlap while senders move.'),
    field('Keep the old URL working for', overlap),
    h('div', {class: 'row'}, h('button', {type: 'submit'}, 'Rotate token')), cd, out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!await confirmDialog('Give this webhook a new URL? Senders must be told the new one.', 'Rotate')) return;
    clear(out);
    try {
      const {data} = await call(`/webhooks/${encodeURIComponent(w.id)}/rotate` + qs({overlap: overlap.value}), {method: 'POST'});
      out.append(urlPanel(data.url, 'The new URL'));
      tick(data.previous_token_valid_until);
    } catch (e) { out.append(problemView(e)); }
  });
  return h('section', {class: 'panel', 'aria-labelledby': 'token-h'}, h('h2', {id: 'token-h'}, 'URL and token'), form);
}

// receiverSnippet is how the receiver of a job completion callback checks
// its Standard Webhooks signature.
function receiverSnippet() {
  return `# Python: verify a hookhost job callback (Standard Webhooks)
import base64, hashlib, hmac, time

def verify(secret, headers, body: bytes):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id = headers["webhook-id"]
    ts = headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > 300:
        raise ValueError("timestamp too old or too new")
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in headers["webhook-signature"].split():
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    raise ValueError("bad signature")`;
}

function signingSection(w) {
  const out = h('div', {'aria-live': 'polite'});
  const show = async (rotate) => {
    if (rotate && !await confirmDialog('Make a new signing secret? Receivers that check callbacks with the old one will refuse them.', 'Rotate')) return;
    clear(out);
    try {
      const {data} = await call(`/webhooks/${encodeURIComponent(w.id)}/signing-secret`, {method: rotate ? 'POST' : 'GET'});
      out.append(secretField(rotate ? 'New signing secret' : 'Signing secret', data.signing_secret, 'signing-secret'));
    } catch (e) { out.append(problemView(e)); }
  };
  return h('section', {class: 'panel', 'aria-labelledby': 'signing-h'},
    h('h2', {id: 'signing-h'}, 'Job callbacks'),
    h('p', {}, 'When a job of this webhook ends, its callback is signed with this secret (Standard Webhooks: ',
      h('code', {}, 'webhook-id'), ', ', h('code', {}, 'webhook-timestamp'), ', ', h('code', {}, 'webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">'), ').'),
    h('div', {class: 'row wrap'},
      h('button', {type: 'button', onclick: () => show(false), id: 'show-signing'}, 'Show secret'),
      h('button', {type: 'button', onclick: () => show(true)}, 'Rotate secret')),
    out,
    h('details', {}, h('summary', {}, 'How a receiver checks the signature'), codeBlock(receiverSnippet(), 'Python')));
}

function recentSection(w) {
  const box = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  get('/requests' + qs({webhook: w.id, limit: 8})).then((l) => {
    const runs = l.runs || [];
    replace(box, runs.length
      ? h('ul', {class: 'plain recent'}, runs.map((r) => h('li', {},
        statusBadge(r.status), ' ', r.cause ? [badge(r.cause, 'bad'), ' '] : null,
        h('a', {href: '#/requests/' + r.id}, ago(r.created_at)), ' ', h('span', {class: 'muted'}, duration(r.duration_us)))))
      : h('p', {class: 'muted'}, 'No requests yet.'),
    h('p', {}, h('a', {href: '#/requests' + qs({webhook: w.id})}, 'All requests →')));
  }, (e) => replace(box, problemView(e)));
  const del = h('button', {type: 'button', class: 'danger', id: 'delete-webhook'}, 'Delete webhook');
  del.addEventListener('click', async () => {
    if (!await confirmDialog(`Delete the webhook “${w.name}”? Its URL stops working at once.`)) return;
    try {
      await call('/webhooks/' + encodeURIComponent(w.id), {method: 'DELETE'});
      forgetWebhook(w.id);
      toast('Webhook deleted.', 'ok');
      location.hash = '#/webhooks';
    } catch (e) { box.append(problemView(e)); }
  });
  return h('section', {class: 'panel', 'aria-labelledby': 'recent-h'}, h('h2', {id: 'recent-h'}, 'Latest requests'), box,
    h('hr'), del);
}
