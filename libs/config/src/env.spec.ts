import { describe, expect, it } from '@jest/globals';
import { ConfigError, bool, duration, envProblems, int, list, oneOf, parseEnv, port, requiredEnvNames, rulesOf, str, url, withRules } from './env.js';

const spec = {
  DATABASE_URL: url({ description: 'Postgres connection URL', protocols: ['postgres', 'postgresql'] }),
  PORT: port({ description: 'HTTP port', default: 8080 }),
  LOG_LEVEL: oneOf(['debug', 'info', 'warn', 'error'], { description: 'log level', default: 'info' }),
  WORKERS: int({ description: 'worker count', min: 1, max: 64, default: 4 }),
  REFRESH: duration({ description: 'refresh period', default: 60_000, min: 1000 }),
  NAMESPACES: list({ description: 'namespaces to watch', default: [] }),
  DRY_RUN: bool({ description: 'dry run', default: false }),
  NAME: str({ description: 'instance name' }),
};

describe('parseEnv', () => {
  it('returns typed values and applies defaults', () => {
    const config = parseEnv(spec, { DATABASE_URL: 'postgres://u@h/db', NAME: 'a', NAMESPACES: 'x, y,,', REFRESH: '1m30s' });
    expect(config).toEqual({
      DATABASE_URL: new URL('postgres://u@h/db'),
      PORT: 8080,
      LOG_LEVEL: 'info',
      WORKERS: 4,
      REFRESH: 90_000,
      NAMESPACES: ['x', 'y'],
      DRY_RUN: false,
      NAME: 'a',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every bad variable in one error, and never prints secret values', () => {
    let error: unknown;
    try {
      parseEnv(spec, { DATABASE_URL: 'mysql://root:hunter2@h/db', PORT: '70000', LOG_LEVEL: 'loud', WORKERS: '0', REFRESH: '10', DRY_RUN: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      'DATABASE_URL=<redacted> is invalid: expected a URL with scheme postgres or postgresql',
      'PORT="70000" is invalid: must be at most 65535',
      'LOG_LEVEL="loud" is invalid: expected one of debug, info, warn, error',
      'WORKERS="0" is invalid: must be at least 1',
      'REFRESH="10" is invalid: expected a duration like 500ms, 30s, 5m, 1h30m or 7d, got "10"',
      'DRY_RUN="maybe" is invalid: expected true or false',
      'NAME is required (instance name)',
    ]);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('withRules', () => {
  const timing = withRules(
    { LOG_LEVEL: spec.LOG_LEVEL, LEASE: duration({ description: 'lease', default: 15_000 }), RENEW: duration({ description: 'renew', default: 10_000 }) },
    { uses: ['LEASE', 'RENEW'], check: (c) => (c.RENEW < c.LEASE ? [] : [`RENEW must be less than LEASE`]) },
  );

  const problems = (env: NodeJS.ProcessEnv, s: Parameters<typeof parseEnv>[0] = timing) => envProblems(s, env);

  it('reports a broken rule in the same report as the other bad variables', () => {
    expect(() => parseEnv(timing, { LEASE: '5s', RENEW: '10s' })).toThrow(new ConfigError(['RENEW must be less than LEASE']));
    expect(problems({ LEASE: '5s', RENEW: '10s', LOG_LEVEL: 'loud' })).toEqual([
      'LOG_LEVEL="loud" is invalid: expected one of debug, info, warn, error',
      'RENEW must be less than LEASE',
    ]);
    expect(problems({ LEASE: '20s' })).toEqual([]);
  });

  it('skips a rule over a variable that is already reported', () => {
    expect(problems({ LEASE: 'soon', RENEW: '10s' })).toEqual(['LEASE="soon" is invalid: expected a duration like 500ms, 30s, 5m, 1h30m or 7d, got "soon"']);
  });

  it('keeps its rules when spread into a larger spec, and they stay out of the variable names', () => {
    const larger = { ...timing, NAME: str({ description: 'name' }) };
    expect(Object.keys(larger)).toEqual(['LOG_LEVEL', 'LEASE', 'RENEW', 'NAME']);
    expect(rulesOf(larger)).toHaveLength(1);
    expect(problems({ LEASE: '5s' }, larger)).toEqual(['NAME is required (name)', 'RENEW must be less than LEASE']);
  });
});

describe('requiredEnvNames', () => {
  it('lists the variables without a default', () => expect(requiredEnvNames(spec)).toEqual(['DATABASE_URL', 'NAME']));
});
