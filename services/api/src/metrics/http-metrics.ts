import { Inject, Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../common/tokens.js';

/** Request counts and latencies per matched route (the template, never the raw path, to bound label cardinality). */
@Injectable()
export class HttpMetrics {
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.requests = new Counter({
      name: 'vigil_api_http_requests_total',
      help: 'HTTP requests served, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'vigil_api_http_request_duration_seconds',
      help: 'Time to serve an HTTP request, by method and route template',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  }

  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      const end = this.duration.startTimer();
      res.once('finish', () => {
        // Express sets req.route once a handler matched; anything else (404s, Swagger assets) shares one label.
        const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
        this.requests.inc({ method: req.method, route, status: String(res.statusCode) });
        end({ method: req.method, route });
      });
      next();
    };
  }
}
