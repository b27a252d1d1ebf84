/** `["200-399", "418"]` as inclusive ranges; the CRD has validated the syntax, a bad entry matches nothing. */
export function parseStatusRanges(codes: readonly string[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const code of codes) {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3}))?\s*$/.exec(code);
    if (!m) continue;
    const low = Number(m[1]);
    ranges.push([low, m[2] ? Number(m[2]) : low]);
  }
  return ranges;
}

export function statusMatches(status: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  return ranges.some(([low, high]) => status >= low && status <= high);
}
