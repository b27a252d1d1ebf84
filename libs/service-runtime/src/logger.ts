import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** One JSON object per line on stdout, with the service name and an ISO time on every line. */
export function createLogger(service: string, level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    // Secrets must never reach logs, whatever a caller passes by mistake.
    redact: { paths: ['password', '*.password', 'secret', '*.secret', 'secrets', '*.secrets', 'token', '*.token', 'authorization', '*.authorization'], censor: '<redacted>' },
  };
  return destination ? pino(options, destination) : pino(options);
}
