import { Module } from '@nestjs/common';
import { StatusPageController } from './status-page.controller.js';

/** The public status page at `/`: plain HTML, CSS and JS served by the api itself. */
@Module({ controllers: [StatusPageController] })
export class StatusPageModule {}
