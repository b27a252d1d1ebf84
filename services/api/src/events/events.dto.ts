import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CHECK_STATES, type CheckState } from '@vigil/contracts';
import { PublicCheckRefDto } from '../common/check-ref.dto.js';
import { PageInfo } from '../common/pagination.js';

export class EventDto extends PublicCheckRefDto {
  @ApiProperty()
  id!: number;
  @ApiProperty({ enum: CHECK_STATES })
  from!: CheckState;
  @ApiProperty({ enum: CHECK_STATES })
  to!: CheckState;
  @ApiProperty({ description: 'when the new state began' })
  at!: string;
  @ApiProperty({ description: 'HTTP status code of the probe that decided it (0: no response)' })
  code!: number;
  @ApiProperty({ type: Number, nullable: true })
  latencyMs!: number | null;
  @ApiProperty({ type: String, nullable: true })
  reason!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'only when STATUS_PAGE_SHOW_URLS=true' })
  message?: string | null;
}

export class EventPageDto extends PageInfo {
  @ApiProperty({ type: [EventDto] })
  items!: EventDto[];
}
