import { describe, expect, it } from '@jest/globals';
import { envProblems, parseEnv } from '@vigil/config';
import { apiEnv } from '../config/api-config.js';

const base = { DATABASE_URL: 'postgres://vigil@127.0.0.1:5432/vigil' };

describe('the status page publish scope (STATUS_PAGE_NAMESPACES, STATUS_PAGE_GROUPS)', () => {
  it('defaults to every namespace and group, as a single-team cluster expects', () => {
    const config = parseEnv(apiEnv, base);
    expect(config.STATUS_PAGE_NAMESPACES).toBeNull();
    expect(config.STATUS_PAGE_GROUPS).toBeNull();
    expect(parseEnv(apiEnv, { ...base, STATUS_PAGE_NAMESPACES: '*', STATUS_PAGE_GROUPS: ' * ' }).STATUS_PAGE_NAMESPACES).toBeNull();
  });

  it('reads comma lists', () => {
    const config = parseEnv(apiEnv, { ...base, STATUS_PAGE_NAMESPACES: 'shop, payments,shop', STATUS_PAGE_GROUPS: 'Websites,Public APIs' });
    expect(config.STATUS_PAGE_NAMESPACES).toEqual(['shop', 'payments']);
    expect(config.STATUS_PAGE_GROUPS).toEqual(['Websites', 'Public APIs']);
  });

  it('refuses what is not a namespace, "*" among names and a list of nothing, naming the variable', () => {
    expect(envProblems(apiEnv, { ...base, STATUS_PAGE_NAMESPACES: 'Shop,ok', STATUS_PAGE_GROUPS: 'Websites,*' })).toEqual([
      'STATUS_PAGE_NAMESPACES="Shop,ok" is invalid: "Shop" is not a namespace name (DNS label)',
      'STATUS_PAGE_GROUPS="Websites,*" is invalid: "*" (all) stands alone; remove the other entries or the "*"',
    ]);
    expect(envProblems(apiEnv, { ...base, STATUS_PAGE_NAMESPACES: ' , ' })).toEqual(['STATUS_PAGE_NAMESPACES=" , " is invalid: list at least one entry, or "*" for all']);
  });
});
