import { describe, expect, it } from '@jest/globals';
import { generateSecret } from '@vigil/webhooks';
import { ReceiversFileError, displayUrl, parseReceiversFile } from './receivers-file.js';
import { storedNamespaces } from './receivers.queries.js';

function problemsOf(text: string): readonly string[] {
  try {
    parseReceiversFile(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ReceiversFileError);
    return (err as ReceiversFileError).problems;
  }
  throw new Error('the file was accepted');
}

describe('parseReceiversFile', () => {
  it('reads receivers with defaults for the optional fields', () => {
    const secret = generateSecret();
    const [ops, audit] = parseReceiversFile(
      JSON.stringify({
        receivers: [
          { name: 'ops', url: 'https://hooks.example.com/vigil', secrets: [secret], namespaces: ['prod'], matchLabels: { team: 'payments' }, events: ['check.down'] },
          { name: 'audit', url: 'http://audit.internal:8080/in', secrets: [secret, generateSecret()], namespaces: ['*'] },
        ],
      }),
    );
    expect(ops).toMatchObject({ name: 'ops', namespaces: ['prod'], matchLabels: { team: 'payments' }, events: ['check.down'] });
    expect(ops!.url.href).toBe('https://hooks.example.com/vigil');
    expect(ops!.secrets).toEqual([Buffer.from(secret.slice(6), 'base64')]);
    expect(audit).toMatchObject({ name: 'audit', namespaces: ['*'], matchLabels: {}, events: ['check.down', 'check.up'] });
    expect(audit!.secrets).toHaveLength(2);
  });

  it('lists every problem at once and never repeats a secret', () => {
    const leaked = 'whsec_c2hvcnQ=';
    let error: unknown;
    try {
      parseReceiversFile(
        JSON.stringify({
          receivers: [
            { name: 'Ops', url: 'ftp://x', secrets: [leaked], namespaces: ['prod'], events: ['check.sideways'], extra: 1 },
            { name: 'dup', url: 'https://a.example.com', secrets: [generateSecret()], namespaces: ['*'] },
            { name: 'dup', url: 'https://b.example.com', secrets: [], namespaces: ['a', 'b'] },
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

  it('refuses a receiver whose namespaces are missing, empty, mixed with "*" or not names, saying how to fix it', () => {
    const secret = generateSecret();
    const file = (namespaces: unknown) => JSON.stringify({ receivers: [{ name: 'ops', url: 'https://hooks.example.com/vigil', secrets: [secret], ...(namespaces === undefined ? {} : { namespaces }) }] });
    const how = 'list the namespaces whose checks it hears about, or ["*"] for every namespace';
    expect(problemsOf(file(undefined))).toEqual([`receivers[0].namespaces is required: ${how}`]);
    expect(problemsOf(file([]))).toEqual([`receivers[0].namespaces must not be empty (an empty list does not mean every namespace): ${how}`]);
    expect(problemsOf(file('prod'))).toEqual([`receivers[0].namespaces must be a list: ${how}`]);
    expect(problemsOf(file(null))).toEqual([`receivers[0].namespaces must be a list: ${how}`]);
    expect(problemsOf(file(['*', 'prod']))).toEqual(['receivers[0].namespaces: "*" (every namespace) stands alone; remove the other names or the "*"']);
    expect(problemsOf(file(['Prod', 'a b']))).toEqual([`receivers[0].namespaces must hold namespace names (DNS labels): ${how}`]);
    expect(problemsOf(file([1]))).toEqual([`receivers[0].namespaces must hold namespace names (DNS labels): ${how}`]);
  });

  it('accepts ["*"] for every namespace and a list of names for those only', () => {
    const secret = generateSecret();
    const [all, some] = parseReceiversFile(
      JSON.stringify({
        receivers: [
          { name: 'all', url: 'https://a.example.com', secrets: [secret], namespaces: ['*'] },
          { name: 'some', url: 'https://b.example.com', secrets: [secret], namespaces: ['team-a', 'team-b'] },
        ],
      }),
    );
    expect(all!.namespaces).toEqual(['*']);
    expect(some!.namespaces).toEqual(['team-a', 'team-b']);
    // The table's spelling (vigil.matching_receivers: empty = every namespace) comes only from ["*"].
    expect(storedNamespaces(all!.namespaces)).toEqual([]);
    expect(storedNamespaces(some!.namespaces)).toEqual(['team-a', 'team-b']);
    expect(() => storedNamespaces([])).toThrow(/without namespaces/);
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
