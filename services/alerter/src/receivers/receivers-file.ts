import { ALL_NAMESPACES, CHECK_EVENT_TYPES, isCheckEventType, type CheckEventType } from '@vigil/contracts';
import { parseSecret } from '@vigil/webhooks';

/** One receiver as the alerter uses it; the secrets stay in memory only. */
export interface Receiver {
  name: string;
  url: URL;
  /** Key bytes of every active secret: the first is the newest, all of them sign. */
  secrets: Buffer[];
  /** Namespace names, or exactly [ALL_NAMESPACES]; never empty. */
  namespaces: string[];
  matchLabels: Record<string, string>;
  events: CheckEventType[];
}

export class ReceiversFileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid receivers file:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ReceiversFileError';
  }
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Parses the receivers file (see README, "Receivers file"). Every problem is
 * listed at once; a secret's value never appears in a message.
 */
export function parseReceiversFile(text: string): Receiver[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // V8's message may quote the text around the error, which can be a secret: keep only where it is.
    const where = /line \d+ column \d+|position \d+/.exec((err as Error).message)?.[0];
    throw new ReceiversFileError([`not valid JSON${where ? ` (at ${where})` : ''}`]);
  }
  const problems: string[] = [];
  if (!isObject(doc) || !Array.isArray(doc.receivers)) throw new ReceiversFileError(['expected an object {"receivers": [...]}']);
  const unknownTop = Object.keys(doc).filter((k) => k !== 'receivers');
  if (unknownTop.length > 0) problems.push(`unknown top-level field(s): ${unknownTop.join(', ')}`);
  const receivers: Receiver[] = [];
  const seen = new Set<string>();
  doc.receivers.forEach((raw: unknown, i: number) => {
    const at = `receivers[${i}]`;
    if (!isObject(raw)) {
      problems.push(`${at} must be an object`);
      return;
    }
    const before = problems.length;
    const unknown = Object.keys(raw).filter((k) => !['name', 'url', 'secrets', 'namespaces', 'matchLabels', 'events'].includes(k));
    if (unknown.length > 0) problems.push(`${at} has unknown field(s): ${unknown.join(', ')}`);
    const name = raw.name;
    if (typeof name !== 'string' || name.length > 63 || !NAME.test(name)) problems.push(`${at}.name must be a DNS label (lower-case letters, digits and '-', at most 63)`);
    else if (seen.has(name)) problems.push(`${at}.name "${name}" is used twice`);
    else seen.add(name);
    let url: URL | undefined;
    try {
      url = new URL(String(raw.url));
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
    } catch {
      problems.push(`${at}.url must be an absolute http:// or https:// URL`);
    }
    const secrets: Buffer[] = [];
    if (!Array.isArray(raw.secrets) || raw.secrets.length === 0) problems.push(`${at}.secrets must list at least one whsec_ secret`);
    else
      raw.secrets.forEach((s: unknown, j: number) => {
        try {
          secrets.push(parseSecret(String(s)));
        } catch (err) {
          problems.push(`${at}.secrets[${j}]: ${(err as Error).message}`);
        }
      });
    const namespaces = raw.namespaces;
    problems.push(...namespacesProblems(at, namespaces));
    const matchLabels = raw.matchLabels ?? {};
    if (!isObject(matchLabels) || !Object.values(matchLabels).every((v) => typeof v === 'string')) problems.push(`${at}.matchLabels must map label keys to string values`);
    const events = raw.events ?? CHECK_EVENT_TYPES;
    if (!Array.isArray(events) || events.length === 0 || !events.every(isCheckEventType)) {
      problems.push(`${at}.events must list one or both of ${CHECK_EVENT_TYPES.join(', ')}`);
    }
    if (problems.length === before) {
      receivers.push({
        name: name as string,
        url: url!,
        secrets,
        namespaces: namespaces as string[],
        matchLabels: matchLabels as Record<string, string>,
        events: [...new Set(events as CheckEventType[])],
      });
    }
  });
  if (problems.length > 0) throw new ReceiversFileError(problems);
  return receivers;
}

/**
 * A receiver hears only about the namespaces it names: any tenant can create
 * checks in its own namespace, so an unfiltered receiver would page its owner
 * for every tenant. "Every namespace" must be said, as ["*"].
 */
function namespacesProblems(at: string, namespaces: unknown): string[] {
  const how = `list the namespaces whose checks it hears about, or ["${ALL_NAMESPACES}"] for every namespace`;
  if (namespaces === undefined) return [`${at}.namespaces is required: ${how}`];
  if (!Array.isArray(namespaces)) return [`${at}.namespaces must be a list: ${how}`];
  if (namespaces.length === 0) return [`${at}.namespaces must not be empty (an empty list does not mean every namespace): ${how}`];
  if (namespaces.includes(ALL_NAMESPACES)) {
    return namespaces.length === 1 ? [] : [`${at}.namespaces: "${ALL_NAMESPACES}" (every namespace) stands alone; remove the other names or the "${ALL_NAMESPACES}"`];
  }
  if (!namespaces.every((n) => typeof n === 'string' && NAME.test(n))) return [`${at}.namespaces must hold namespace names (DNS labels): ${how}`];
  return [];
}

/**
 * The URL as stored in Postgres and logged: without user info and query,
 * which is where credentials hide when people put them in a URL.
 */
export function displayUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  copy.search = copy.search ? '?redacted' : '';
  copy.hash = '';
  return copy.href;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
