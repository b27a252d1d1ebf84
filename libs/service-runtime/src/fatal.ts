import { ConfigError } from '@vigil/config';

/**
 * Reports an error that ends start-up as one JSON log line on stderr and marks
 * the process as failed (exit code 1) without cutting off pending output. Works
 * before a logger exists, which is when configuration errors happen.
 */
export function reportFatal(service: string, err: unknown): void {
  const line =
    err instanceof ConfigError
      ? { level: 'fatal', time: new Date().toISOString(), service, msg: 'invalid configuration', problems: err.problems }
      : { level: 'fatal', time: new Date().toISOString(), service, msg: (err as Error)?.message ?? String(err), stack: (err as Error)?.stack };
  process.stderr.write(`${JSON.stringify(line)}\n`);
  process.exitCode = 1;
}
