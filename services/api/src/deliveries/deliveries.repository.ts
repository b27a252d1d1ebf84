import { Inject, Injectable } from '@nestjs/common';
import type { TransitionsRow, WebhookDeliveriesRow } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import { PG_POOL } from '../common/tokens.js';

export type DeliveryRow = Pick<
  WebhookDeliveriesRow,
  'id' | 'receiver' | 'event_type' | 'status' | 'attempts' | 'next_attempt_at' | 'last_status_code' | 'last_error' | 'created_at' | 'updated_at' | 'delivered_at'
> &
  Pick<TransitionsRow, 'namespace' | 'name' | 'from_state' | 'to_state' | 'at'>;

export type DeliveryDetailRow = DeliveryRow & Pick<WebhookDeliveriesRow, 'payload'>;

export interface AttemptRow {
  attempt: number;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
  alerter: string | null;
}

export interface DeliveryFilters {
  namespace: string;
  check?: string;
  status?: string;
}

const DELIVERY_COLUMNS = `d.id, d.receiver, d.event_type, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error,
  d.created_at, d.updated_at, d.delivered_at, t.namespace, t.name, t.from_state, t.to_state, t.at`;

/** Webhook outbox rows and their attempts, located through their transition's check. */
@Injectable()
export class DeliveriesRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async list(filters: DeliveryFilters, limit: number, offset: number): Promise<DeliveryRow[]> {
    const { rows } = await this.pool.query<DeliveryRow>({
      name: 'api_list_deliveries',
      text: `SELECT ${DELIVERY_COLUMNS}
        FROM vigil.webhook_deliveries d JOIN vigil.transitions t ON t.id = d.transition_id
        WHERE t.namespace = $1 AND ($2::text IS NULL OR t.name = $2) AND ($3::text IS NULL OR d.status = $3)
        ORDER BY d.created_at DESC, d.id DESC
        LIMIT $4 OFFSET $5`,
      values: [filters.namespace, filters.check ?? null, filters.status ?? null, limit, offset],
    });
    return rows;
  }

  async count(filters: DeliveryFilters): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>({
      name: 'api_count_deliveries',
      text: `SELECT count(*)::int AS n
        FROM vigil.webhook_deliveries d JOIN vigil.transitions t ON t.id = d.transition_id
        WHERE t.namespace = $1 AND ($2::text IS NULL OR t.name = $2) AND ($3::text IS NULL OR d.status = $3)`,
      values: [filters.namespace, filters.check ?? null, filters.status ?? null],
    });
    return rows[0]!.n;
  }

  async find(id: string): Promise<DeliveryDetailRow | null> {
    const { rows } = await this.pool.query<DeliveryDetailRow>({
      name: 'api_find_delivery',
      text: `SELECT ${DELIVERY_COLUMNS}, d.payload
        FROM vigil.webhook_deliveries d JOIN vigil.transitions t ON t.id = d.transition_id
        WHERE d.id = $1`,
      values: [id],
    });
    return rows[0] ?? null;
  }

  async attempts(deliveryId: string): Promise<AttemptRow[]> {
    const { rows } = await this.pool.query<AttemptRow>({
      name: 'api_delivery_attempts',
      text: `SELECT attempt, started_at, duration_ms, status_code, error, response_excerpt, alerter
        FROM vigil.webhook_attempts
        WHERE delivery_id = $1
        ORDER BY attempt, id`,
      values: [deliveryId],
    });
    return rows;
  }
}
