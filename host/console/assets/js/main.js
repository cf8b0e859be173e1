// The console's entry point: sign-in, the hash router and the navigation.
// Routes live in the URL's fragment (#/requests?status=4xx), so a page is
// linkable and the back button works, and the server serves one page.
import {call, token, setToken, clearToken, onUnauthorized, ApiError} from './api.js';
import {h, replace} from './dom.js';
import * as webhooks from './pages/webhooks.js';
import * as webhook from './pages/webhook.js';
import * as automations from './pages/automations.js';
import * as packages from './pages/packages.js';
import * as requests from './pages/requests.js';
import * as request from './pages/request.js';
import * as tail from './pages/tail.js';
import * as test from './pages/test.js';
import * as jobs from './pages/jobs.js';
import * as secrets from './pages/secrets.js';
import * as system from './pages/system.js';

// routes map the first path segment (and whether an id follows) to a page.
const routes = [
  {path: 'webhooks', list: webhooks.render, item: webhook.render},
  {path: 'automations', list: automations.renderList, item: automations.renderEditor},
  {path: 'packages', list: packages.render},
  {path: 'requests', list: requests.render, item: request.render},
  {path: 'tail', list: tail.render},
  {path: 'test', list: test.render},
  {path: 'jobs', list: jobs.renderList, item: jobs.renderJob},
  {path: 'secrets', list: secrets.render},
  {path: 'system', list: system.render},
];

let cleanup = null;
let renderSeq = 0;

// parseHash reads "#/requests/ID?x=1" into {page, id, params}.
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p, q] = raw.split('?');
  const segs = p.split('/').filter(Boolean).map(decodeURIComponent);
  return {page: segs[0] || 'webhooks', id: segs.slice(1).join('/'), params: new URLSearchParams(q || '')};
}

async function route() {
  if (cleanup) { try { cleanup(); } catch (_) { /* page already gone */ } cleanup = null; }
  const seq = ++renderSeq;
  const main = document.getElementById('page');
  if (!token()) { showSignin(); return; }
  document.getElementById('signin').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('signout').hidden = false;
  const {page, id, params} = parseHash();
  const r = routes.find((x) => x.path === page);
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  replace(main);
  const view = h('div', {class: 'view', 'data-page': page});
  main.append(view);
  if (!r) {
    view.append(h('h1', {}, 'Not found'), h('p', {}, 'No such page. ', h('a', {href: '#/webhooks'}, 'Go to the webhooks.')));
    return;
  }
  const fn = id && r.item ? r.item : r.list;
  const ctx = {
    // alive reports whether this render is still the current page.
    alive: () => seq === renderSeq,
    onLeave: (f) => { const prev = cleanup; cleanup = () => { if (prev) prev(); f(); }; },
  };
  try {
    await fn(view, id ? decodeURIComponent(id) : '', params, ctx);
  } catch (e) {
    if (!ctx.alive()) return;
    if (e instanceof ApiError && e.status === 401) return;
    view.append(h('div', {class: 'banner error', role: 'alert'}, 'This page could not be loaded: ' + e.message));
  }
  if (ctx.alive()) {
    const h1 = view.querySelector('h1');
    if (h1 && document.activeElement === document.body) { h1.tabIndex = -1; h1.focus({preventScroll: true}); }
    document.title = (h1 ? h1.textContent + ' · ' : '') + 'hookhost console';
  }
}

function showSignin(message) {
  replace(document.getElementById('page'));
  document.getElementById('nav').hidden = true;
  document.getElementById('signout').hidden = true;
  const s = document.getElementById('signin');
  s.hidden = false;
  document.getElementById('signin-error').textContent = message || '';
  document.getElementById('token').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const input = document.getElementById('token');
  const err = document.getElementById('signin-error');
  const t = input.value.trim();
  if (!t) return;
  setToken(t);
  try {
    await call('/version', {signingIn: true});
    input.value = '';
    route();
  } catch (e) {
    clearToken();
    err.textContent = e.status === 401 ? 'That token was refused. Check it and try again.'
      : e.status === 429 ? 'Too many failed sign-ins from this address: ' + e.message
        : 'Could not sign in: ' + e.message;
    input.select();
  }
}

function signOut() {
  clearToken();
  if (cleanup) { cleanup(); cleanup = null; }
  showSignin('Signed out.');
}

document.getElementById('signin-form').addEventListener('submit', signIn);
document.getElementById('signout').addEventListener('click', signOut);
onUnauthorized(() => {
  clearToken();
  if (cleanup) { cleanup(); cleanup = null; }
  showSignin('The server refused the token (it may have changed). Sign in again.');
});
window.addEventListener('hashchange', route);

// "/" focuses the page's search box, as in many consoles.
document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
  const s = document.querySelector('.view [data-search]');
  if (s) { e.preventDefault(); s.focus(); }
});

route();
