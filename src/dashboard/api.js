// The public API, called with the key the user signed in with. Every call goes through here so
// that a 401 signs the user out and errors read the same everywhere.

const KEY_ITEM = 'surgewatch.key';

export const session = {
  get key() {
    return sessionStorage.getItem(KEY_ITEM);
  },
  set key(value) {
    if (value) sessionStorage.setItem(KEY_ITEM, value);
    else sessionStorage.removeItem(KEY_ITEM);
  },
  /** Called when the server refuses the key (set by app.js). */
  onUnauthorized: () => {},
};

/** An API error response: `code` from the API's closed set, `details` when the route gives them. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The route is not on this server (yet): the page says so instead of failing. */
  get missing() {
    return this.status === 404 && this.code === 'NOT_FOUND' && /^no route /.test(this.message);
  }
}

export function authHeaders(extra = {}) {
  return { authorization: `Bearer ${session.key}`, ...extra };
}

/** JSON request to the API; throws ApiError for any answer but 2xx. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = authHeaders(body === undefined ? {} : { 'content-type': 'application/json' });
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'the server does not answer; retrying');
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : { code: 'HTTP_' + res.status, message: `the server answered ${res.status}` };
    if (res.status === 401) session.onUnauthorized(e.message);
    throw new ApiError(res.status, e.code, e.message, e.details);
  }
  return data;
}

/** A sentence for an error, in terms of what the user can do about it. */
export function explain(err, what = 'this') {
  if (!(err instanceof ApiError)) return `${what} failed: ${err && err.message ? err.message : err}`;
  if (err.missing) return `${what} is not available on this server version.`;
  if (err.status === 403) return `Your key's role may not do ${what}. ${err.message}`;
  if (err.status === 429) return `Too many requests; wait a moment. (${err.message})`;
  return `${what} failed: ${err.message}`;
}
