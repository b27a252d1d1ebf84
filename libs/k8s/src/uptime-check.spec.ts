import { describe, expect, it } from '@jest/globals';
import { parseStatusCodes } from './uptime-check.js';

describe('parseStatusCodes', () => {
  it('turns codes and ranges into inclusive pairs', () => {
    expect(parseStatusCodes(['200', '300-308', '200-399'])).toEqual([
      [200, 200],
      [300, 308],
      [200, 399],
    ]);
  });

  it.each(['2xx', '399-200', '', '200-'])('refuses %p', (pattern) => {
    expect(() => parseStatusCodes([pattern])).toThrow('invalid status code pattern');
  });
});
