import { ApiProperty } from '@nestjs/swagger';

/** How every public view names a check: its object and the name the page shows. */
export class PublicCheckRefDto {
  @ApiProperty()
  namespace!: string;
  @ApiProperty()
  name!: string;
  @ApiProperty()
  displayName!: string;
  @ApiProperty({ type: String, nullable: true })
  group!: string | null;
}
