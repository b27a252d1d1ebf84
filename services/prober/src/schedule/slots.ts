/**
 * Probe times. Each check runs on a fixed grid: slots at phase + k·interval
 * (ms since the epoch), where the phase comes from the check's uid. The grid
 * never drifts (a slot does not move because a probe started late or took
 * long), and the uid spreads ten thousand 30 s checks evenly over the 30 s
 * instead of firing them in the same second.
 */

/** A stable offset in [0, interval) from the first 48 bits of the uid (uniform for random uids). */
export function phaseOffset(uid: string, intervalMs: number): number {
  const bits = parseInt(uid.replace(/-/g, '').slice(0, 12), 16);
  return Number.isFinite(bits) ? bits % intervalMs : 0;
}

/** The first slot of the check's grid at or after `t` (ms since the epoch). */
export function slotAtOrAfter(t: number, uid: string, intervalMs: number): number {
  const phase = phaseOffset(uid, intervalMs);
  return Math.ceil((t - phase) / intervalMs) * intervalMs + phase;
}

/**
 * The slot after the one just probed (`dueAt`): one interval later on the
 * grid. A first probe (due "now" after a create or an edit) is usually off the
 * grid; its next slot is the first grid slot at least one interval later, so
 * no two probes of a check are ever less than an interval apart. A replica
 * that fell more than half an interval behind skips the missed slots instead
 * of firing them in a burst.
 */
export function nextSlot(dueAt: number, uid: string, intervalMs: number, now: number): number {
  return slotAtOrAfter(Math.max(dueAt + intervalMs, now + intervalMs / 2), uid, intervalMs);
}
