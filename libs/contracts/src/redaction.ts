// What of a check may leave it. A check's URL can carry credentials (a query
// token; userinfo in objects stored before the CRD refused it), and messages
// quote what targets answered. Every copy outside the check's own spec (the
// transition log, webhook bodies, Events, status messages, logs, the api)
// goes through these. vigil.redact_url() and vigil.cap_message() (migration
// 0007) are the same rules in SQL, tested against these in
// libs/db/src/contracts.int-spec.ts.

/** What a redacted userinfo or query value reads as. */
export const REDACTED = 'REDACTED';

/** The longest stored message (probe failures, transitions, delivery errors), in characters (code points). */
export const MESSAGE_MAX_CHARS = 1024;

// scheme://authority, the rest of the path, the query; a fragment is left out.
// The authority ends where WHATWG URL ends it for http(s): / ? # or \.
const URL_PARTS = /^(?:([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#\\]*))?([^?#]*)(\?[^#]*)?/s;

/**
 * `url` as it may be shown outside the check: userinfo becomes `REDACTED@`,
 * every query value `REDACTED` (names stay: `?token=REDACTED&page=REDACTED`;
 * a bare name, which may itself be a secret, becomes `REDACTED`), the fragment
 * is dropped. Scheme, host, port and path are kept as written (no
 * normalisation), so a URL without credentials or query comes back unchanged.
 * Works on any string, a URL or not.
 */
export function redactUrl(url: string): string {
  const [, scheme = '', authority = '', path = '', query = ''] = URL_PARTS.exec(url)!;
  const at = authority.lastIndexOf('@');
  const host = at === -1 ? authority : `${REDACTED}@${authority.slice(at + 1)}`;
  const params = query.slice(1);
  const redactedQuery =
    params === '' ? '' : `?${params.split('&').map((p) => (p === '' ? '' : p.includes('=') ? `${p.slice(0, p.indexOf('='))}=${REDACTED}` : REDACTED)).join('&')}`;
  return `${scheme}${host}${path}${redactedQuery}`;
}

/**
 * `url` with its userinfo (`user:password@`, which Vigil never sends, stores
 * or shows) replaced by `REDACTED@`, the rest untouched: what vigil.checks
 * stores of an object that names userinfo (the prober then refuses it).
 */
export function redactUserinfo(url: string): string {
  const [, scheme, authority] = URL_PARTS.exec(url)!;
  const at = authority?.lastIndexOf('@') ?? -1;
  return scheme === undefined || at === -1 ? url : `${scheme}${REDACTED}@${url.slice(scheme.length + at + 1)}`;
}

/** `message` cut to MESSAGE_MAX_CHARS code points, the last one an ellipsis when cut; null stays null. */
export function capMessage<T extends string | null>(message: T): T {
  // A code point is at most two UTF-16 units: a string this short cannot be over.
  if (message === null || message.length <= MESSAGE_MAX_CHARS) return message;
  const points = Array.from(message);
  return (points.length <= MESSAGE_MAX_CHARS ? message : `${points.slice(0, MESSAGE_MAX_CHARS - 1).join('')}…`) as T;
}
