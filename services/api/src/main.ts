import { serviceEnv } from '@vigil/config';
import { createPool, databaseReadiness } from '@vigil/db';
import { runService } from '@vigil/observability';

// A shell until the api is built: configuration, logs, metrics, health and
// shutdown are real; readiness reports whether Postgres has the current schema.
void runService({
  name: 'api',
  env: serviceEnv,
  opsPort: (config) => config.OPS_PORT,
  logLevel: (config) => config.LOG_LEVEL,
  async start({ config }) {
    const pool = createPool({ connectionString: config.DATABASE_URL.href, applicationName: 'vigil-api', max: 2 });
    return {
      async ready() {
        const db = await databaseReadiness(pool);
        return { ok: db.ok, checks: { postgres: db.detail } };
      },
      stop: () => pool.end(),
    };
  },
});
