import { Controller, Get, Header, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PUBLIC_POLLING } from '../common/cache-control.js';
import { KubernetesNamePipe } from '../common/path-params.js';
import { CheckDetailDto, CheckDetailQuery, CheckListQuery, CheckPageDto } from './checks.dto.js';
import { ChecksService } from './checks.service.js';

@ApiTags('checks')
@Controller('api/v1/checks')
export class ChecksController {
  constructor(private readonly checks: ChecksService) {}

  @Get()
  @Header('Cache-Control', PUBLIC_POLLING)
  @ApiOperation({ summary: 'Published checks with their current state and uptime over 24h, 7d, 30d and 90d' })
  @ApiOkResponse({ type: CheckPageDto })
  @ApiBadRequestResponse({ description: 'a query parameter is invalid; the message names it' })
  list(@Query() query: CheckListQuery): Promise<CheckPageDto> {
    return this.checks.list(query);
  }

  @Get(':namespace/:name')
  @Header('Cache-Control', PUBLIC_POLLING)
  @ApiOperation({ summary: 'One published check: uptime windows, hourly and daily latency percentiles, latest results' })
  @ApiOkResponse({ type: CheckDetailDto })
  @ApiNotFoundResponse({ description: 'no published check of that name' })
  detail(@Param('namespace', KubernetesNamePipe) namespace: string, @Param('name', KubernetesNamePipe) name: string, @Query() query: CheckDetailQuery): Promise<CheckDetailDto> {
    return this.checks.detail(namespace, name, query.results);
  }
}
