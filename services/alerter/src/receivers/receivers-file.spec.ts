import { describe, expect, it } from '@jest/globals';
import { generateSecret } from '@vigil/webhooks';
import { ReceiversFileError, displayUrl, parseReceiversFile } from './receivers-file.js';

describe('parseReceiversFile', () => {
  it('reads receivers with defaults for the optional fields', () => {
    const secret = generateSecret();
    const [ops, audit] = parseReceiversFile(
      JSON.stringify({
        receivers: [
          { name: 'ops', url: 'https://hooks.example.com/vigil', secrets: [secret], namespaces: ['prod'], matchLabels: { team: 'payments' }, events: ['check.down'] },
          { name: 'audit', url: 'http://audit.internal:8080/in', secrets: [secret, generateSecret()] },
        ],
      }),
    );
    expect(ops).toMatchObject({ name: 'ops', namespaces: ['prod'], matchLabels: { team: 'payments' }, events: ['check.down'] });
    expect(ops!.url.href).toBe('https://hooks.example.com/vigil');
    expect(ops!.secrets).toEqual([Buffer.from(secret.slice(6), 'base64')]);
    expect(audit).toMatchObject({ name: 'audit', namespaces: [], matchLabels: {}, events: ['check.down', 'check.up'] });
    expect(audit!.secrets).toHaveLength(2);
  });

  it('lists every problem at once and never repeats a secret', () => {
    const leaked = 'whsec_c2hvcnQ=';
    let error: unknown;
    try {
      parseReceiversFile(
        JSON.stringify({
          receivers: [
            { name: 'Ops', url: 'ftp://x', secrets: [leaked], events: ['check.sideways'], extra: 1 },
            { name: 'dup', url: 'https://a.example.com', secrets: [generateSecret()] },
            { name: 'dup', url: 'https://b.example.com', secrets: [] },
          ],
          version: 2,
        }),
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ReceiversFileError);
    expect((error as ReceiversFileError).problems).toEqual([
      'unknown top-level field(s): version',
      'receivers[0] has unknown field(s): extra',
      "receivers[0].name must be a DNS label (lower-case letters, digits and '-', at most 63)",
      'receivers[0].url must be an absolute http:// or https:// URL',
      'receivers[0].secrets[0]: a webhook secret must hold 24 to 64 bytes of key (this one holds 5)',
      'receivers[0].events must list one or both of check.down, check.up',
      'receivers[2].name "dup" is used twice',
      'receivers[2].secrets must list at least one whsec_ secret',
    ]);
    expect((error as Error).message).not.toContain('c2hvcnQ');
  });

  it('refuses a file that is not JSON without quoting secrets from it', () => {
    for (const text of ['{"receivers": [{"secrets": ["whsec_abcdef"] ', '{"receivers": [{"secrets": [whsec_abcdef]}]}']) {
      let error: unknown;
      try {
        parseReceiversFile(text);
      } catch (err) {
        error = err;
      }
      expect((error as ReceiversFileError).problems).toEqual([expect.stringMatching(/^not valid JSON/)]);
      expect((error as Error).message).not.toContain('abcdef');
    }
    expect(() => parseReceiversFile('[]')).toThrow(/expected an object/);
  });
});

describe('displayUrl', () => {
  it('drops user info and the query, where credentials hide', () => {
    expect(displayUrl(new URL('https://user:pw@hooks.example.com/a/b?token=s3cret#x'))).toBe('https://hooks.example.com/a/b?redacted');
    expect(displayUrl(new URL('http://127.0.0.1:8080/hook'))).toBe('http://127.0.0.1:8080/hook');
  });
});
