import { hostname } from 'node:os';
import { duration, int, parseDuration, serviceEnv, str, type ConfigOf, type EnvVar } from '@vigil/config';
import { ssrfEnv } from '@vigil/net-guard';

/** A comma list of durations: the delays before the 2nd, 3rd, ... attempt. */
function durationList(options: { description: string; default: number[] }): EnvVar<number[]> {
  return {
    description: options.description,
    fallback: { value: options.default },
    parse: (raw) => {
      const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (items.length === 0) throw new Error('expected a comma list of durations');
      const delays = items.map(parseDuration);
      if (delays.some((ms) => ms <= 0)) throw new Error('every delay must be positive');
      return delays;
    },
  };
}

export const alerterEnv = {
  ...serviceEnv,
  POD_NAME: str({ description: 'identity recorded on claimed deliveries and attempts (downward API)', default: hostname() }),
  RECEIVERS_FILE: str({ description: 'JSON file with the webhook receivers and their secrets (mounted from a Secret)', default: '/etc/vigil/receivers/receivers.json' }),
  RECEIVERS_RELOAD_INTERVAL: duration({ description: 'how often the receivers file is re-read besides file-change events', default: 30_000, min: 1000 }),
  WEBHOOK_TIMEOUT: duration({ description: 'deadline of one delivery attempt (connect, headers and the response excerpt)', default: 15_000, min: 100, max: 300_000 }),
  WEBHOOK_RETRY_SCHEDULE: durationList({
    description: 'delays before each retry; after the last one fails the delivery is dead',
    default: ['5s', '5m', '30m', '2h', '5h', '10h', '10h'].map(parseDuration),
  }),
  WEBHOOK_RECEIVER_CONCURRENCY: int({ description: 'deliveries in flight per receiver and alerter replica', default: 4, min: 1, max: 256 }),
  BACKSTOP_POLL_INTERVAL: duration({ description: 'how often work is looked for without a notification (a lost NOTIFY delays work by at most this)', default: 10_000, min: 100 }),
  STATUS_REFRESH_PERIOD: duration({ description: 'minimum time between two status refreshes of one check without a state change', default: 60_000, min: 1000 }),
  STATUS_PATCH_QPS: int({ description: 'client-side budget of UptimeCheck status patches and Event writes per second', default: 10, min: 1, max: 1000 }),
  ...ssrfEnv,
};

export type AlerterConfig = ConfigOf<typeof alerterEnv>;
