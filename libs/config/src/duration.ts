/**
 * Vigil's one duration grammar: one or more `<number><unit>` terms, the number
 * a decimal ("1.5h"), the units below. The services' config, the chart's
 * values schema and the UptimeCheck CRD all derive their patterns from here,
 * so a value one of them accepts is never refused by another (a unit test
 * compares the shipped patterns with these).
 */
export const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export type DurationUnit = keyof typeof DURATION_UNIT_MS;

export const DURATION_UNITS = Object.keys(DURATION_UNIT_MS) as DurationUnit[];

/**
 * The units the CRD accepts: all but `d`. The API server's CEL `duration()`
 * (Go's time.ParseDuration), which checks the CRD's bounds, has no day unit,
 * and an interval is at most 24h anyway.
 */
export const CRD_DURATION_UNITS: readonly DurationUnit[] = DURATION_UNITS.filter((unit) => unit !== 'd');

/** The unanchored regex source of one duration over `units`; "ms" is tried before "m". */
export function durationSource(units: readonly DurationUnit[] = DURATION_UNITS): string {
  const alternation = [...units].sort((a, b) => b.length - a.length).join('|');
  return `([0-9]+(\\.[0-9]+)?(${alternation}))+`;
}

/** A whole string that is one duration (JSON Schema / OpenAPI `pattern` syntax, which JS RegExp reads too). */
export const DURATION_PATTERN = `^${durationSource()}$`;
/** The CRD's interval and timeout pattern. */
export const CRD_DURATION_PATTERN = `^${durationSource(CRD_DURATION_UNITS)}$`;
/** A comma-separated list of durations (the alerter's retry schedule). */
export const DURATION_LIST_PATTERN = `^${durationSource()}(,${durationSource()})*$`;

const WHOLE = new RegExp(DURATION_PATTERN);
const TERM = new RegExp(`([0-9]+(?:\\.[0-9]+)?)(${[...DURATION_UNITS].sort((a, b) => b.length - a.length).join('|')})`, 'g');
const EXPECTED = 'expected a duration like 500ms, 30s, 5m, 1h30m or 7d';

/** A duration of the grammar above, in whole milliseconds; throws saying what is expected. */
export function parseDuration(raw: string): number {
  const text = raw.trim();
  if (!WHOLE.test(text)) throw new Error(`${EXPECTED}, got ${JSON.stringify(raw)}`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(TERM)) total += Number(amount) * DURATION_UNIT_MS[unit as DurationUnit];
  return Math.round(total);
}

/** `ms` spelt in the largest of h, m, s that divides it (hours, not days: bounds in messages read as 24h, 168h). */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
