/** vigil.webhook_deliveries.status; the SQL CHECK is tested against this list. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'disabled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * A delivery's outcome as the UptimeCheck's status.lastDelivery shows it: a
 * delivery still `pending` after an attempt has `failed` (and will be retried).
 */
export const DELIVERY_OUTCOMES = ['delivered', 'failed', 'dead', 'disabled'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

export function deliveryOutcomeOf(status: DeliveryStatus): DeliveryOutcome {
  return status === 'pending' ? 'failed' : status;
}
