import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { CHECK_STATES, type CheckState } from '@vigil/contracts';
import { PageInfo, PageQuery } from '../common/pagination.js';
import { PublicCheckRefDto } from '../common/check-ref.dto.js';

export class CheckListQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'only checks in this status-page group' })
  @IsOptional()
  @IsString()
  @Length(1, 253)
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'group must not contain control characters' })
  group?: string;

  @ApiPropertyOptional({ enum: CHECK_STATES, description: 'only checks in this state' })
  @IsOptional()
  @IsIn(CHECK_STATES)
  state?: CheckState;

  @ApiPropertyOptional({ enum: ['history'], description: '`history` adds 90 daily uptime values and 24 hourly latencies to each check' })
  @IsOptional()
  @IsIn(['history'])
  include?: 'history';
}

export class CheckDetailQuery {
  @ApiPropertyOptional({ description: 'how many of the latest probe results to include', minimum: 0, maximum: 100, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @Min(0)
  @Max(100)
  @IsInt()
  results: number = 10;
}

export class UptimeDto {
  @ApiProperty({ type: Number, nullable: true, description: 'percent of successful probes in the current hour and the 23 before it; null without probes' })
  '24h'!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'today (UTC) and the 6 days before it' })
  '7d'!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'today (UTC) and the 29 days before it' })
  '30d'!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'today (UTC) and the 89 days before it' })
  '90d'!: number | null;
}

export class DayHistoryDto {
  @ApiProperty({ example: '2026-06-06', description: 'UTC day' })
  date!: string;
  @ApiProperty()
  probes!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'null: no probes that day (e.g. before the check existed)' })
  uptime!: number | null;
}

export class HourLatencyDto {
  @ApiProperty({ example: '2026-06-06T22:00:00.000Z' })
  hour!: string;
  @ApiProperty({ type: Number, nullable: true, description: 'mean latency of successful probes in ms' })
  avgMs!: number | null;
}

export class CheckHistoryDto {
  @ApiProperty({ type: [DayHistoryDto], description: '90 UTC days, oldest first' })
  days!: DayHistoryDto[];
  @ApiProperty({ type: [HourLatencyDto], description: '24 hours, oldest first' })
  latency!: HourLatencyDto[];
}

export class CheckDto extends PublicCheckRefDto {
  @ApiProperty({ description: "the check object's uid: a stable key that names nothing in the cluster" })
  id!: string;
  @ApiProperty({ enum: CHECK_STATES })
  state!: CheckState;
  @ApiProperty({ description: 'when the current state began' })
  since!: string;
  @ApiProperty({ type: Number, nullable: true, description: 'last HTTP status code (0: no response)' })
  code!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  latencyMs!: number | null;
  @ApiProperty({ type: String, nullable: true })
  lastProbeAt!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'Timeout' })
  reason!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'only when the operator sets STATUS_PAGE_SHOW_URLS=true' })
  message?: string | null;
  @ApiPropertyOptional({ description: 'only when the operator sets STATUS_PAGE_SHOW_URLS=true' })
  url?: string;
  @ApiProperty({ type: UptimeDto })
  uptime!: UptimeDto;
  @ApiPropertyOptional({ type: CheckHistoryDto, description: 'with include=history' })
  history?: CheckHistoryDto;
}

export class CheckPageDto extends PageInfo {
  @ApiProperty({ type: [CheckDto] })
  items!: CheckDto[];
}

export class LatencyPointDto {
  @ApiProperty({ description: 'start of the hour or day (UTC)' })
  start!: string;
  @ApiProperty()
  probes!: number;
  @ApiProperty({ type: Number, nullable: true })
  uptime!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'estimated from the rollup histogram' })
  p50Ms!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  p95Ms!: number | null;
  @ApiProperty({ type: Number, nullable: true })
  maxMs!: number | null;
}

export class ProbeResultDto {
  @ApiProperty()
  at!: string;
  @ApiProperty()
  ok!: boolean;
  @ApiProperty()
  code!: number;
  @ApiProperty({ type: Number, nullable: true })
  latencyMs!: number | null;
  @ApiProperty({ type: String, nullable: true })
  reason!: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'only when STATUS_PAGE_SHOW_URLS=true' })
  message?: string | null;
}

export class CheckDetailDto extends CheckDto {
  @ApiProperty({ type: [LatencyPointDto], description: 'the last 24 hours, oldest first' })
  hourly!: LatencyPointDto[];
  @ApiProperty({ type: [LatencyPointDto], description: 'the last 90 UTC days, oldest first' })
  daily!: LatencyPointDto[];
  @ApiProperty({ type: [ProbeResultDto], description: 'the latest probe results, newest first' })
  results!: ProbeResultDto[];
}
