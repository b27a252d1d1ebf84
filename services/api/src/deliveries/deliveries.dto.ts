import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { CHECK_EVENT_TYPES, CHECK_STATES, DELIVERY_STATUSES, type CheckEventType, type CheckState, type DeliveryStatus } from '@vigil/contracts';
import { PageInfo, PageQuery } from '../common/pagination.js';
import { DNS_LABEL, DNS_SUBDOMAIN } from '../common/path-params.js';

export class DeliveryListQuery extends PageQuery {
  @ApiProperty({ description: 'namespace of the checks; the caller must be allowed to get uptimechecks there' })
  @Matches(DNS_LABEL, { message: 'namespace must be a Kubernetes namespace name (lowercase letters, digits and -)' })
  @Length(1, 63)
  @IsString()
  @IsDefined({ message: 'namespace is required' })
  namespace!: string;

  @ApiPropertyOptional({ description: 'name of one UptimeCheck' })
  @IsOptional()
  @Matches(DNS_SUBDOMAIN, { message: 'check must be a Kubernetes object name (lowercase letters, digits, - and .)' })
  @Length(1, 253)
  @IsString()
  check?: string;

  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export class DeliveryCheckDto {
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
}

export class DeliveryTransitionDto {
  @ApiProperty({ enum: CHECK_STATES }) from!: CheckState;
  @ApiProperty({ enum: CHECK_STATES }) to!: CheckState;
  @ApiProperty() at!: string;
}

export class DeliveryDto {
  @ApiProperty({ description: 'the webhook-id header, stable across retries' })
  id!: string;
  @ApiProperty() receiver!: string;
  @ApiProperty({ enum: CHECK_EVENT_TYPES })
  event!: CheckEventType;
  @ApiProperty({ enum: DELIVERY_STATUSES })
  status!: DeliveryStatus;
  @ApiProperty({ description: 'attempts made so far' })
  attemptCount!: number;
  @ApiProperty({ type: DeliveryCheckDto })
  check!: DeliveryCheckDto;
  @ApiProperty({ type: DeliveryTransitionDto })
  transition!: DeliveryTransitionDto;
  @ApiProperty({ type: Number, nullable: true })
  lastStatusCode!: number | null;
  @ApiProperty({ type: String, nullable: true })
  lastError!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'when the next attempt is due (pending only)' })
  nextAttemptAt!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ type: String, nullable: true })
  deliveredAt!: string | null;
}

export class DeliveryPageDto extends PageInfo {
  @ApiProperty({ type: [DeliveryDto] })
  items!: DeliveryDto[];
}

export class AttemptDto {
  @ApiProperty() attempt!: number;
  @ApiProperty() startedAt!: string;
  @ApiProperty() durationMs!: number;
  @ApiProperty({ type: Number, nullable: true })
  statusCode!: number | null;
  @ApiProperty({ type: String, nullable: true })
  error!: string | null;
  @ApiProperty({ type: String, nullable: true })
  responseExcerpt!: string | null;
  @ApiProperty({ type: String, nullable: true })
  alerter!: string | null;
}

export class DeliveryDetailDto extends DeliveryDto {
  @ApiProperty({ description: 'the webhook body as sent', type: 'object', additionalProperties: true })
  payload!: unknown;
  @ApiProperty({ type: [AttemptDto], description: 'every attempt, first first' })
  attempts!: AttemptDto[];
}
