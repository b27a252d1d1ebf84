import { formatDuration, parseDuration } from './duration.js';

/**
 * Typed environment parsing. A service declares its variables once; parsing
 * checks every variable and reports all problems together, so an operator fixes
 * a broken Deployment in one round instead of one variable per crash.
 */

export interface EnvVar<T> {
  readonly description: string;
  /** Parses a present, non-empty value; throws an Error whose message says what is wrong. */
  parse(raw: string): T;
  /** Used when the variable is unset or empty; absent means the variable is required. */
  readonly fallback?: { value: T };
}

export type EnvSpec = Record<string, EnvVar<unknown>>;
export type ConfigOf<S extends EnvSpec> = { readonly [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

/**
 * A rule over several variables (a pair that must agree). parseEnv checks it
 * with the per-variable checks, so its problems are reported together with
 * every other bad variable, once each variable it `uses` has parsed.
 */
export interface EnvRule<C> {
  readonly uses: ReadonlyArray<keyof C & string>;
  /** Problems, each naming the variables involved; empty when they agree. Reads only `uses`. */
  check(config: C): readonly string[];
}

const registeredRules = new WeakSet<object>();

/**
 * `spec` with cross-variable rules attached. The rules ride along when the
 * spec is spread into a larger one (`{ ...ssrfEnv, ... }`): each sits under its
 * own symbol key, which spreading copies and Object.keys/entries skip.
 */
export function withRules<S extends EnvSpec>(spec: S, ...rules: Array<EnvRule<ConfigOf<S>>>): S {
  const out: Record<string | symbol, unknown> = { ...spec };
  for (const rule of rules) {
    registeredRules.add(rule);
    out[Symbol(`rule(${rule.uses.join(', ')})`)] = rule;
  }
  return out as S;
}

/** The cross-variable rules attached to `spec` with withRules. */
export function rulesOf(spec: EnvSpec): Array<EnvRule<Record<string, unknown>>> {
  return Object.getOwnPropertySymbols(spec)
    .map((key) => (spec as Record<symbol, unknown>)[key])
    .filter((value): value is EnvRule<Record<string, unknown>> => typeof value === 'object' && value !== null && registeredRules.has(value));
}

/** The names of the variables `spec` cannot do without (no default); `Object.keys(spec)` are all it reads. */
export function requiredEnvNames(spec: EnvSpec): string[] {
  return Object.entries(spec)
    .filter(([, variable]) => !variable.fallback)
    .map(([name]) => name);
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads every variable of `spec` from `env` and checks its rules; throws one
 * ConfigError listing every bad variable and every broken rule.
 */
export function parseEnv<S extends EnvSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const { config, problems } = read(spec, env);
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ConfigOf<S>;
}

/** What parseEnv would report for `env`, without throwing: empty when the configuration is valid. */
export function envProblems(spec: EnvSpec, env: NodeJS.ProcessEnv): readonly string[] {
  return read(spec, env).problems;
}

function read(spec: EnvSpec, env: NodeJS.ProcessEnv): { config: Readonly<Record<string, unknown>>; problems: string[] } {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, variable] of Object.entries(spec)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      if (variable.fallback) out[name] = variable.fallback.value;
      else problems.push(`${name} is required (${variable.description})`);
      continue;
    }
    try {
      out[name] = variable.parse(raw.trim());
    } catch (err) {
      problems.push(`${name}=${redact(name, raw)} is invalid: ${(err as Error).message}`);
    }
  }
  // A rule over a variable that is already reported would only repeat it.
  for (const rule of rulesOf(spec)) {
    if (rule.uses.every((name) => name in out)) problems.push(...rule.check(out));
  }
  return { config: Object.freeze(out), problems };
}

const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEY|DATABASE_URL|_URL$/i;

/** Values of secret-looking variables never reach logs, even when they are wrong. */
function redact(name: string, raw: string): string {
  return SECRET_NAME.test(name) ? '<redacted>' : JSON.stringify(raw);
}

interface Options<T> {
  description: string;
  default?: T;
}

function variable<T>(options: Options<T>, parse: (raw: string) => T): EnvVar<T> {
  return {
    description: options.description,
    parse,
    ...(options.default !== undefined ? { fallback: { value: options.default } } : {}),
  };
}

export function str(options: Options<string>): EnvVar<string> {
  return variable(options, (raw) => raw);
}

export function int(options: Options<number> & { min?: number; max?: number }): EnvVar<number> {
  return variable(options, (raw) => {
    if (!/^-?\d+$/.test(raw)) throw new Error('expected an integer');
    const value = Number(raw);
    if (options.min !== undefined && value < options.min) throw new Error(`must be at least ${options.min}`);
    if (options.max !== undefined && value > options.max) throw new Error(`must be at most ${options.max}`);
    return value;
  });
}

export function port(options: Options<number>): EnvVar<number> {
  return int({ ...options, min: 0, max: 65535 });
}

export function bool(options: Options<boolean>): EnvVar<boolean> {
  return variable(options, (raw) => {
    const v = raw.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    throw new Error('expected true or false');
  });
}

export function oneOf<const T extends string>(values: readonly T[], options: Options<T>): EnvVar<T> {
  return variable(options, (raw) => {
    if (!(values as readonly string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}`);
    return raw as T;
  });
}

export function url(options: Options<URL> & { protocols?: string[] }): EnvVar<URL> {
  return variable(options, (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error('expected an absolute URL');
    }
    if (options.protocols && !options.protocols.includes(parsed.protocol.replace(/:$/, ''))) {
      throw new Error(`expected a URL with scheme ${options.protocols.join(' or ')}`);
    }
    return parsed;
  });
}

/** A comma-separated list; empty items are dropped. */
export function list(options: Options<string[]>): EnvVar<string[]> {
  return variable(options, (raw) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

/** A duration of the one grammar (duration.ts: "1h30m", "500ms", "15s", "7d") returned in milliseconds. */
export function duration(options: Options<number> & { min?: number; max?: number }): EnvVar<number> {
  return variable(options, (raw) => {
    const ms = parseDuration(raw);
    if (options.min !== undefined && ms < options.min) throw new Error(`must be at least ${formatDuration(options.min)}`);
    if (options.max !== undefined && ms > options.max) throw new Error(`must be at most ${formatDuration(options.max)}`);
    return ms;
  });
}
