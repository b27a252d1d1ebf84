// Applies pending migrations and exits: every pod's `migrate` init container
// (charts/vigil/templates/_helpers.tpl; no Helm hook), `make dev` and
// operators run this before the services start.
import { parseEnv, url } from '@vigil/config';
import { reportFatal } from '@vigil/service-runtime';
import { createPool } from './pool.js';
import { migrate, migrationStatus } from './migrate.js';

async function main(): Promise<void> {
  const config = parseEnv({ DATABASE_URL: url({ description: 'PostgreSQL connection URL', protocols: ['postgres', 'postgresql'] }) });
  const pool = createPool({ connectionString: config.DATABASE_URL.href, applicationName: 'vigil-migrate', max: 1 });
  try {
    const applied = await migrate(pool);
    const status = await migrationStatus(pool);
    process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'migrate', msg: 'schema is current', applied, version: status.databaseVersion })}\n`);
  } finally {
    await pool.end();
  }
}

main().catch((err) => reportFatal('migrate', err));
