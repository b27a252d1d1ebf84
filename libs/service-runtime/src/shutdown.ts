import type { Logger } from 'pino';

/**
 * Resolves with the signal name on the first SIGTERM or SIGINT. The caller
 * stops its work in order (stop taking work, finish or release in-flight work,
 * flush, close pools) and lets the process end by itself; a second signal is
 * logged so an impatient operator sees that shutdown is still under way.
 */
export function shutdownSignal(logger: Logger, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        logger.warn({ signal }, 'shutdown already in progress');
        return;
      }
      received = true;
      logger.info({ signal }, 'shutting down');
      resolve(signal);
    };
    for (const signal of signals) process.on(signal, onSignal);
  });
}
