// The admin API client. The admin token lives in sessionStorage (this tab
// only) and goes out as an Authorization header: never in a URL, never in
// a cookie.

const KEY = 'hookhost.adminToken';

export function token() { return sessionStorage.getItem(KEY) || ''; }
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function clearToken() { sessionStorage.removeItem(KEY); }

// ApiError is a refused or failed call; problem is the problem+json body.
export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message || (problem && (problem.detail || problem.title)) || ('HTTP ' + status));
    this.status = status;
    this.problem = problem;
  }
}

// onUnauthorized is called when the API refuses the token (set by main).
let unauthorized = () => {};
export function onUnauthorized(fn) { unauthorized = fn; }

// api calls the admin API: api('/webhooks?limit=50'), api('/webhooks',
// {method: 'POST', json: {...}}), {body, type} for a raw body. It resolves
// to the decoded JSON (or text), with the answer's status and headers in
// api.last-style fields of the result object: {status, data, headers}.
export async function call(path, opts = {}) {
  const headers = {Authorization: 'Bearer ' + token(), Accept: 'application/json'};
  let body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = opts.type || 'text/plain';
    body = opts.body;
  }
  const url = path.startsWith('/') && !path.startsWith('/api/') && !opts.root ? '/api/v1' + path : path;
  let res;
  try {
    res = await fetch(url, {method: opts.method || 'GET', headers, body, signal: opts.signal,
      credentials: 'omit', cache: 'no-store', redirect: 'error'});
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, null, 'The server did not answer (' + e.message + ')');
  }
  const ct = res.headers.get('Content-Type') || '';
  const text = res.status === 204 ? '' : await res.text();
  let data = text;
  if (/json/.test(ct) && text) {
    try { data = JSON.parse(text); } catch (_) { /* keep the text */ }
  }
  if (res.status === 401 && !opts.signingIn) {
    unauthorized();
  }
  if (!res.ok) {
    throw new ApiError(res.status, typeof data === 'object' ? data : null, typeof data === 'string' && data ? data.slice(0, 300) : undefined);
  }
  return {status: res.status, data, headers: res.headers};
}

// get returns the decoded body of a GET.
export async function get(path, opts) {
  return (await call(path, opts)).data;
}

// qs builds a query string from the set values of an object.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, v);
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

// webhookName resolves a webhook id to its name, asking once per id: the
// ids asked for in one turn (a page of records) go out as one call,
// GET /webhooks?ids=a,b,c.
const names = new Map();
let pending = null;
export function webhookName(id) {
  if (!id) return Promise.resolve('');
  if (!names.has(id)) {
    if (!pending) {
      pending = new Map();
      queueMicrotask(flushNames);
    }
    let resolve;
    names.set(id, new Promise((r) => { resolve = r; }));
    pending.set(id, resolve);
  }
  return names.get(id);
}

async function flushNames() {
  const batch = pending;
  pending = null;
  const ids = [...batch.keys()];
  for (let i = 0; i < ids.length; i += 100) {
    const part = ids.slice(i, i + 100);
    let found = null;
    try {
      const l = await get('/webhooks' + qs({ids: part.join(','), limit: part.length}));
      found = new Map((l.webhooks || []).map((w) => [w.id, w.name]));
    } catch (_) {
      for (const id of part) names.delete(id); // ask again next time
    }
    for (const id of part) batch.get(id)(found ? (found.get(id) || '(deleted webhook)') : '');
  }
}
export function rememberWebhook(w) { if (w && w.id) names.set(w.id, Promise.resolve(w.name)); }
export function forgetWebhook(id) { names.delete(id); }
