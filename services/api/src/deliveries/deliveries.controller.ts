import { Controller, Get, Header, Headers, Ip, NotFoundException, Param, Query, UseFilters } from '@nestjs/common';
import { isDeliveryId } from '../common/path-params.js';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { BearerChallengeFilter } from '../common/bearer-challenge.filter.js';
import { NO_STORE } from '../common/cache-control.js';
import { RetryAfterFilter } from '../common/retry-after.filter.js';
import { DeliveryDetailDto, DeliveryDto, DeliveryListQuery, DeliveryPageDto } from './deliveries.dto.js';
import { DeliveriesRepository, type DeliveryRow } from './deliveries.repository.js';
import { KubeAuthService } from './kube-auth.service.js';

@ApiTags('deliveries')
@ApiBearerAuth('kubernetes')
@ApiUnauthorizedResponse({ description: 'no bearer token, or the API server did not accept it for the audience (default vigil)' })
@ApiForbiddenResponse({ description: 'the caller may not get uptimechecks in that namespace' })
@ApiServiceUnavailableResponse({ description: 'the Kubernetes API server could not be asked' })
@ApiTooManyRequestsResponse({ description: 'too many refused tokens from this client lately; see Retry-After' })
@UseFilters(BearerChallengeFilter, RetryAfterFilter)
@Controller('api/v1/deliveries')
export class DeliveriesController {
  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly auth: KubeAuthService,
  ) {}

  @Get()
  @Header('Cache-Control', NO_STORE)
  @ApiOperation({ summary: 'Webhook deliveries of the checks in a namespace, newest first' })
  @ApiOkResponse({ type: DeliveryPageDto })
  async list(@Headers('authorization') authorization: string | undefined, @Ip() client: string, @Query() query: DeliveryListQuery): Promise<DeliveryPageDto> {
    const user = await this.auth.authenticate(authorization, client);
    await this.auth.authorize(user, query.namespace, query.check);
    const filters = { namespace: query.namespace, check: query.check, status: query.status };
    const [rows, total] = await Promise.all([this.deliveries.list(filters, query.limit, query.offset), this.deliveries.count(filters)]);
    return { items: rows.map(toDto), total, limit: query.limit, offset: query.offset };
  }

  @Get(':id')
  @Header('Cache-Control', NO_STORE)
  @ApiOperation({ summary: 'One webhook delivery with its payload and every attempt' })
  @ApiOkResponse({ type: DeliveryDetailDto })
  @ApiNotFoundResponse({ description: 'no such delivery' })
  async detail(@Headers('authorization') authorization: string | undefined, @Ip() client: string, @Param('id') id: string): Promise<DeliveryDetailDto> {
    // Authenticate before looking anything up, so strangers learn nothing, not even whether an id exists.
    const user = await this.auth.authenticate(authorization, client);
    // An id no delivery can have (a NUL byte would reach Postgres as an error) is simply unknown.
    const row = isDeliveryId(id) ? await this.deliveries.find(id) : null;
    if (!row) throw new NotFoundException(`no delivery ${id}`);
    await this.auth.authorize(user, row.namespace, row.name);
    const attempts = await this.deliveries.attempts(id);
    return {
      ...toDto(row),
      payload: row.payload,
      attempts: attempts.map((a) => ({
        attempt: a.attempt,
        startedAt: a.started_at.toISOString(),
        durationMs: a.duration_ms,
        statusCode: a.status_code,
        error: a.error,
        responseExcerpt: a.response_excerpt,
        alerter: a.alerter,
      })),
    };
  }
}

function toDto(row: DeliveryRow): DeliveryDto {
  return {
    id: row.id,
    receiver: row.receiver,
    event: row.event_type,
    status: row.status,
    attemptCount: row.attempts,
    check: { namespace: row.namespace, name: row.name },
    transition: { from: row.from_state, to: row.to_state, at: row.at.toISOString() },
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    deliveredAt: row.delivered_at?.toISOString() ?? null,
  };
}
