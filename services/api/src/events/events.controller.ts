import { Controller, Get, Header, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { ChecksRepository } from '../checks/checks.repository.js';
import { PUBLIC_POLLING } from '../common/cache-control.js';
import { KubernetesNamePipe } from '../common/path-params.js';
import { PageQuery } from '../common/pagination.js';
import { ResponseCache } from '../common/response-cache.js';
import { API_CONFIG, type ApiConfig } from '../config/api-config.js';
import { EventDto, EventPageDto } from './events.dto.js';
import { EventsRepository, type TransitionRow } from './events.repository.js';

export class RecentEventsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(100)
  @IsInt()
  limit: number = 20;
}

export class RecentEventsDto {
  @ApiProperty({ type: [EventDto] })
  items!: EventDto[];
}

@ApiTags('events')
@Controller('api/v1')
export class EventsController {
  constructor(
    private readonly events: EventsRepository,
    private readonly checks: ChecksRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly cache: ResponseCache,
  ) {}

  @Get('checks/:namespace/:name/events')
  @Header('Cache-Control', PUBLIC_POLLING)
  @ApiOperation({ summary: "A published check's state transitions, newest first" })
  @ApiOkResponse({ type: EventPageDto })
  @ApiNotFoundResponse({ description: 'no published check of that name' })
  forCheck(@Param('namespace', KubernetesNamePipe) namespace: string, @Param('name', KubernetesNamePipe) name: string, @Query() query: PageQuery): Promise<EventPageDto> {
    return this.cache.get(JSON.stringify(['check-events', namespace, name, query.limit, query.offset]), () => this.loadForCheck(namespace, name, query));
  }

  @Get('events')
  @Header('Cache-Control', PUBLIC_POLLING)
  @ApiOperation({ summary: 'The latest state transitions of all published checks, newest first' })
  @ApiOkResponse({ type: RecentEventsDto })
  recent(@Query() query: RecentEventsQuery): Promise<RecentEventsDto> {
    return this.cache.get(JSON.stringify(['events', query.limit]), async () => ({ items: (await this.events.recent(query.limit)).map((r) => this.toDto(r, this.config.STATUS_PAGE_SHOW_NAMES)) }));
  }

  private async loadForCheck(namespace: string, name: string, query: PageQuery): Promise<EventPageDto> {
    const check = await this.checks.findPublished(namespace, name);
    if (!check) throw new NotFoundException(`no published check ${namespace}/${name}`);
    const [rows, total] = await Promise.all([this.events.forCheck(check.uid, query.limit, query.offset), this.events.countForCheck(check.uid)]);
    // The caller named the check, so naming it back reveals nothing.
    return { items: rows.map((r) => this.toDto(r, true)), total, limit: query.limit, offset: query.offset };
  }

  /** The probe's message names the target host, so it is public only when the operator opted in; so are namespace and name (`withNames`). */
  private toDto(row: TransitionRow, withNames: boolean): EventDto {
    return {
      id: row.id,
      ...(withNames ? { namespace: row.namespace, name: row.name } : {}),
      displayName: row.display_name || row.name,
      group: row.group_name || null,
      from: row.from_state,
      to: row.to_state,
      at: row.at.toISOString(),
      code: row.code,
      latencyMs: row.latency_ms,
      reason: row.reason,
      ...(this.config.STATUS_PAGE_SHOW_URLS ? { message: row.message } : {}),
    };
  }
}
