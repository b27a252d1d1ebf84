/**
 * Cache-Control values. Public data may be cached briefly by proxies and
 * revalidated with the ETag Express sets on every body (304 when unchanged);
 * the status page itself fetches with `cache: 'no-cache'`, so it always
 * revalidates and sees a change on its next poll.
 */
export const PUBLIC_POLLING = 'public, max-age=5, stale-while-revalidate=10';
/** Static files of the status page: they change only with a new release. */
export const PUBLIC_STATIC = 'public, max-age=300';
/** Anything behind authentication, and health and metrics. */
export const NO_STORE = 'private, no-store';
