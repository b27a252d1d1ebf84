import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * How every public view names a check: the name the page shows and its group;
 * the object's namespace and name only where the caller named them (a
 * check's own routes) or the operator opted in (STATUS_PAGE_SHOW_NAMES),
 * since they describe the cluster, not the service.
 */
export class PublicCheckRefDto {
  @ApiPropertyOptional({ description: "the check's namespace: on a check's own routes, elsewhere only when STATUS_PAGE_SHOW_NAMES=true" })
  namespace?: string;
  @ApiPropertyOptional({ description: "the check's object name: on a check's own routes, elsewhere only when STATUS_PAGE_SHOW_NAMES=true" })
  name?: string;
  @ApiProperty({ description: 'spec.statusPage.displayName, or the object name when it is empty' })
  displayName!: string;
  @ApiProperty({ type: String, nullable: true })
  group!: string | null;
}
