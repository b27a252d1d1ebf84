import { ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { PostgresServer } from './postgres.js';

/**
 * A control plane and a Postgres server, started side by side. If either
 * fails to start, the other is stopped before the error is thrown: a Postgres
 * left running keeps Jest from ever exiting, so a failed start would hang the
 * whole run instead of failing it.
 */
export async function startControlPlaneAndPostgres(options?: ControlPlaneOptions): Promise<{ plane: ControlPlane; postgres: PostgresServer }> {
  const [plane, postgres] = await Promise.allSettled([ControlPlane.start(options), PostgresServer.start()]);
  if (plane.status === 'fulfilled' && postgres.status === 'fulfilled') return { plane: plane.value, postgres: postgres.value };
  await Promise.allSettled([
    plane.status === 'fulfilled' ? plane.value.stop() : undefined,
    postgres.status === 'fulfilled' ? postgres.value.destroy() : undefined,
  ]);
  throw plane.status === 'rejected' ? plane.reason : (postgres as PromiseRejectedResult).reason;
}
