/** Why a probe failed: `last_reason`, the UptimeCheck's status.reason and the webhook's data.reason. */
export const PROBE_FAILURE_REASONS = [
  'Timeout',
  'ConnectionRefused',
  'ConnectionReset',
  'DNSFailure',
  'TLSError',
  'UnexpectedStatus',
  'BodyMismatch',
  'Blocked',
  'TooManyRedirects',
  'ProtocolError',
  /** A redirect from https to http, refused unless the check sets spec.allowInsecureRedirects. */
  'InsecureRedirect',
  /** The stored URL has userinfo (user:password@), which the CRD refuses only for new objects: nothing is sent. */
  'CredentialsInUrl',
] as const;
export type ProbeFailureReason = (typeof PROBE_FAILURE_REASONS)[number];

/** The reason written with a transition into `paused` (no probe failed). */
export const PAUSED_REASON = 'Paused';
