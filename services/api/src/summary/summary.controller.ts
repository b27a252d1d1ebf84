import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { PUBLIC_POLLING } from '../common/cache-control.js';
import { CLOCK, type Clock } from '../common/clock.js';
import { ResponseCache } from '../common/response-cache.js';
import { SummaryRepository } from './summary.repository.js';

export const OVERALL_STATES = ['operational', 'partial_outage', 'major_outage', 'unknown'] as const;
export type OverallState = (typeof OVERALL_STATES)[number];

export class StateCountsDto {
  @ApiProperty() up!: number;
  @ApiProperty() down!: number;
  @ApiProperty() pending!: number;
  @ApiProperty() paused!: number;
  @ApiProperty() total!: number;
}

export class SummaryDto {
  @ApiProperty({
    enum: OVERALL_STATES,
    description: 'operational: nothing down; partial_outage: some checks down; major_outage: every probed check down; unknown: nothing probed yet',
  })
  state!: OverallState;
  @ApiProperty({ type: StateCountsDto })
  counts!: StateCountsDto;
  @ApiProperty({ description: 'when this summary was computed' })
  generatedAt!: string;
}

/** The banner of the status page: one word for everything published, and the counts behind it. */
export function overallState(counts: StateCountsDto): OverallState {
  if (counts.down > 0) return counts.up === 0 ? 'major_outage' : 'partial_outage';
  return counts.up > 0 ? 'operational' : 'unknown';
}

@ApiTags('summary')
@Controller('api/v1/summary')
export class SummaryController {
  constructor(
    private readonly repository: SummaryRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly cache: ResponseCache,
  ) {}

  @Get()
  @Header('Cache-Control', PUBLIC_POLLING)
  @ApiOperation({ summary: 'Overall state and the number of published checks in each state' })
  @ApiOkResponse({ type: SummaryDto })
  summary(): Promise<SummaryDto> {
    return this.cache.get(JSON.stringify(['summary']), () => this.load());
  }

  private async load(): Promise<SummaryDto> {
    const counts: StateCountsDto = { up: 0, down: 0, pending: 0, paused: 0, total: 0 };
    for (const row of await this.repository.countByState()) {
      counts[row.state] = row.n;
      counts.total += row.n;
    }
    return { state: overallState(counts), counts, generatedAt: this.clock().toISOString() };
  }
}
