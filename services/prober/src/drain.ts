/**
 * On shutdown: calls `drain` until nothing is `pending` or `deadline` (ms,
 * epoch) passes, pausing between failed rounds; returns what is still pending.
 */
export async function drainUntil(deadline: number, pending: () => number, drain: () => Promise<void>): Promise<number> {
  while (pending() > 0 && Date.now() < deadline) {
    await drain();
    if (pending() > 0) await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, deadline - Date.now()))));
  }
  return pending();
}
