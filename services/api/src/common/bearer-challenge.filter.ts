import { Catch, UnauthorizedException, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';

/** A 401 tells the client how to authenticate (RFC 6750): with a bearer token. */
@Catch(UnauthorizedException)
export class BearerChallengeFilter extends BaseExceptionFilter {
  override catch(exception: UnauthorizedException, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer realm="vigil"');
    super.catch(exception, host);
  }
}
