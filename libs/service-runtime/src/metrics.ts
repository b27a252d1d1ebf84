import { Registry, collectDefaultMetrics } from 'prom-client';

/** A registry with the process metrics (CPU, RSS, event-loop lag, GC) and a `service` label on everything. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'vigil_' });
  return registry;
}
