import { ALL_NAMESPACES } from '@vigil/contracts';
import type { Pool, PoolClient } from '@vigil/db';

export interface ReceiverRow {
  name: string;
  url: string;
  /** As in the file: names, or [ALL_NAMESPACES]. */
  namespaces: string[];
  matchLabels: Record<string, string>;
  events: string[];
}

/**
 * The table's spelling of a receiver's namespaces: vigil.matching_receivers
 * (migration 0006) reads an empty array as every namespace, which only the
 * file's explicit ["*"] becomes; the file refuses an empty list.
 */
export function storedNamespaces(namespaces: string[]): string[] {
  // Would silently widen to every namespace: a bug, never a configuration.
  if (namespaces.length === 0) throw new Error('a receiver without namespaces cannot be stored');
  return namespaces.includes(ALL_NAMESPACES) ? [] : namespaces;
}

/**
 * Upserts the configured receivers. A receiver disabled by a 410 stays
 * disabled until its URL changes; rows that did not change are not touched.
 */
export async function upsertReceivers(client: PoolClient, rows: ReceiverRow[]): Promise<void> {
  await client.query(
    `INSERT INTO vigil.webhook_receivers AS w (name, url, namespaces, match_labels, events)
     SELECT r.name, r.url, r.namespaces, r."matchLabels", r.events
       FROM jsonb_to_recordset($1::jsonb) AS r(name text, url text, namespaces text[], "matchLabels" jsonb, events text[])
     ON CONFLICT (name) DO UPDATE SET
       url = EXCLUDED.url,
       namespaces = EXCLUDED.namespaces,
       match_labels = EXCLUDED.match_labels,
       events = EXCLUDED.events,
       enabled = CASE WHEN w.url <> EXCLUDED.url THEN true ELSE w.enabled END,
       disabled_reason = CASE WHEN w.url <> EXCLUDED.url THEN NULL ELSE w.disabled_reason END,
       updated_at = now()
     WHERE (w.url, w.namespaces, w.match_labels, w.events) IS DISTINCT FROM (EXCLUDED.url, EXCLUDED.namespaces, EXCLUDED.match_labels, EXCLUDED.events)`,
    [JSON.stringify(rows.map((r) => ({ ...r, namespaces: storedNamespaces(r.namespaces) })))],
  );
}

/** Removes receivers that are no longer configured; returns their names. */
export async function deleteReceiversExcept(client: PoolClient, keep: string[]): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(`DELETE FROM vigil.webhook_receivers WHERE NOT (name = ANY($1::text[])) RETURNING name`, [keep]);
  return rows.map((r) => r.name);
}

/**
 * Pending deliveries whose receiver is gone from the configuration or
 * disabled can never be sent: they end as `disabled`.
 */
export async function disableUndeliverable(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query(
    `UPDATE vigil.webhook_deliveries d
        SET status = 'disabled',
            last_error = coalesce((SELECT 'receiver disabled: ' || r.disabled_reason FROM vigil.webhook_receivers r WHERE r.name = d.receiver),
                                  'receiver ' || d.receiver || ' is no longer configured'),
            locked_by = NULL, locked_until = NULL, report_pending = true, updated_at = now()
      WHERE d.status = 'pending'
        AND (d.locked_until IS NULL OR d.locked_until < now())
        AND NOT EXISTS (SELECT 1 FROM vigil.webhook_receivers r WHERE r.name = d.receiver AND r.enabled)`,
  );
  return rowCount ?? 0;
}

export async function receiverStates(pool: Pool): Promise<Array<{ name: string; enabled: boolean }>> {
  const { rows } = await pool.query<{ name: string; enabled: boolean }>(`SELECT name, enabled FROM vigil.webhook_receivers ORDER BY name`);
  return rows;
}
