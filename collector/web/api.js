// api.js - the public JSON API (docs/openapi.yaml) with the signed-in
// token.  The token lives in sessionStorage (this tab only) and travels in
// the Authorization header; it never goes into a URL.

const KEY = 'posture.token';

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export function forget() {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
    this.title = status === 401 ? 'Not signed in.'
      : status === 403 ? 'Not allowed.'
        : status === 404 ? 'Not found.'
          : status === 0 ? 'The collector cannot be reached.'
            : `The collector answered ${status}.`;
  }
}

// Listeners told when the token is refused (401), so the page signs out.
const onUnauthorized = [];
export function whenUnauthorized(fn) {
  onUnauthorized.push(fn);
}

export async function request(method, path, { body, tok = token(), raw = false } = {}) {
  const headers = { Accept: raw ? '*/*' : 'application/json' };
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit', redirect: 'error', referrerPolicy: 'no-referrer',
    });
  } catch (e) {
    throw new ApiError(0, 'network', `${method} ${path}: ${e.message}. Is the collector running?`);
  }
  if (!res.ok) {
    let code = 'error';
    let message = `${method} ${path} answered ${res.status}`;
    try {
      const doc = await res.json();
      if (doc && doc.error) {
        code = String(doc.error.code || code);
        message = String(doc.error.message || message);
      }
    } catch (_) { /* not JSON: keep the generic message */ }
    const err = new ApiError(res.status, code, message);
    if (res.status === 401 && tok === token()) onUnauthorized.forEach((fn) => fn(err));
    throw err;
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

export const get = (path, opts) => request('GET', path, opts);

// Every page of a paginated list, up to max items: {items, truncated}.
export async function getAll(path, field, { max = 5000, params = {} } = {}) {
  const items = [];
  let cursor = null;
  do {
    const q = new URLSearchParams(params);
    q.set('limit', '1000');
    if (cursor) q.set('cursor', cursor);
    const doc = await get(`${path}?${q}`);
    items.push(...(doc[field] || []));
    cursor = doc.next_cursor;
  } while (cursor && items.length < max);
  return { items, truncated: Boolean(cursor) };
}

export function enc(s) {
  return encodeURIComponent(s);
}
