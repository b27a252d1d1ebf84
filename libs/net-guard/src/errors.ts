/** A connection refused by the SSRF guard: `address` is what `hostname` resolved to (or was). */
export class BlockedAddressError extends Error {
  readonly code = 'VIGIL_BLOCKED';
  override name = 'BlockedAddressError';

  constructor(
    readonly address: string,
    readonly hostname: string,
  ) {
    super(
      address === hostname
        ? `${address} is a blocked address (SSRF guard)`
        : `${hostname} resolves to ${address}, a blocked address (SSRF guard)`,
    );
  }
}

/** A name that could not be resolved; `code` is the resolver's (ENOTFOUND, ETIMEOUT, ESERVFAIL, ...). */
export class DnsLookupError extends Error {
  override name = 'DnsLookupError';

  constructor(
    readonly code: string,
    readonly hostname: string,
    detail?: string,
  ) {
    super(`cannot resolve ${hostname}: ${code}${detail ? ` (${detail})` : ''}`);
  }
}
