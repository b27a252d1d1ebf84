import { Controller, Get, Inject, NotFoundException, Param, Res, type OnModuleInit } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { readFile } from 'node:fs/promises';
import { NO_STORE, PUBLIC_STATIC } from '../common/cache-control.js';
import { API_CONFIG, type ApiConfig } from '../config/api-config.js';

// The page's files sit beside this module (copied to dist by the build), and
// are read once at start-up: the page needs no CDN and no disk access per request.
const PUBLIC_DIR = new URL('./public/', import.meta.url);
const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};
// Everything the page loads comes from this origin; nothing inline runs.
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

@ApiExcludeController()
@Controller()
export class StatusPageController implements OnModuleInit {
  private index = '';
  private readonly assets = new Map<string, Buffer>();

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  async onModuleInit(): Promise<void> {
    // The refresh period reaches the page as a data attribute, so it needs no extra request to learn it.
    const html = await readFile(new URL('index.html', PUBLIC_DIR), 'utf8');
    this.index = html.replace('data-refresh-ms="15000"', `data-refresh-ms="${this.config.STATUS_PAGE_REFRESH}"`);
    for (const file of Object.keys(ASSETS)) this.assets.set(file, await readFile(new URL(file, PUBLIC_DIR)));
  }

  @Get()
  page(@Res() res: Response): void {
    res
      .set({ 'Cache-Control': NO_STORE, 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' })
      .type('html')
      .send(this.index);
  }

  @Get('status-page/:file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    const body = this.assets.get(file);
    if (!body) throw new NotFoundException(`no status page file ${file}`);
    res.set({ 'Cache-Control': PUBLIC_STATIC, 'X-Content-Type-Options': 'nosniff' }).type(ASSETS[file]!).send(body);
  }
}
