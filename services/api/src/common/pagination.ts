import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const MAX_PAGE_SIZE = 500;

/** `limit` and `offset` query parameters, validated (400 with the reason when wrong). */
export class PageQuery {
  @ApiPropertyOptional({ description: 'page size', minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  @IsInt()
  limit: number = 50;

  @ApiPropertyOptional({ description: 'items to skip', minimum: 0, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @Min(0)
  @Max(1_000_000)
  @IsInt()
  offset: number = 0;
}

export class PageInfo {
  @ApiProperty({ description: 'items matching the filters, over all pages' })
  total!: number;
  @ApiProperty()
  limit!: number;
  @ApiProperty()
  offset!: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
