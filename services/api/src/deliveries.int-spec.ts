import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ApiextensionsV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { webhookPayloadOf } from '@vigil/contracts';
import { loadUptimeCheckCrd } from '@vigil/k8s';
import { createPool, migrate, type Pool } from '@vigil/db';
import { ControlPlane, PostgresServer, startControlPlaneAndPostgres, type TestDatabase } from '@vigil/testing';
import { createTestApp } from './testing/app.js';
import { insertCheck, insertDelivery, insertTransition } from './testing/seed.js';

// Delivery logs against a real kube-apiserver with RBAC: the api runs with its
// own ServiceAccount's token (KUBECONFIG), bound only to system:auth-delegator
// and read-only uptimechecks, as in the chart.
let plane: ControlPlane;
let server: PostgresServer;
let db: TestDatabase;
let pool: Pool;
let app: INestApplication;
const tokens: Record<'alice' | 'bob' | 'carol', string> = { alice: '', bob: '', carol: '' };
let teamADelivery: string;
let teamBDelivery: string;
let webUid: string;
const previousKubeconfig = process.env.KUBECONFIG;

async function setUpCluster(): Promise<string> {
  const kc = plane.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: await loadUptimeCheckCrd() });
  for (const name of ['vigil-system', 'team-a', 'team-b']) await core.createNamespace({ body: { metadata: { name } } });
  await core.createNamespacedServiceAccount({ namespace: 'vigil-system', body: { metadata: { name: 'vigil-api' } } });
  for (const name of ['alice', 'bob', 'carol']) await core.createNamespacedServiceAccount({ namespace: 'team-a', body: { metadata: { name } } });

  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'vigil-api:auth-delegator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'vigil-api', namespace: 'vigil-system' }],
    },
  });
  await rbac.createClusterRole({
    body: { metadata: { name: 'vigil-api' }, rules: [{ apiGroups: ['vigil.dev'], resources: ['uptimechecks'], verbs: ['get', 'list', 'watch'] }] },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'vigil-api' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'vigil-api' },
      subjects: [{ kind: 'ServiceAccount', name: 'vigil-api', namespace: 'vigil-system' }],
    },
  });
  // alice may get every check in team-a; carol only the check named "web"; bob nothing.
  await rbac.createNamespacedRole({
    namespace: 'team-a',
    body: { metadata: { name: 'check-reader' }, rules: [{ apiGroups: ['vigil.dev'], resources: ['uptimechecks'], verbs: ['get', 'list'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: 'team-a',
    body: {
      metadata: { name: 'alice-reads-checks' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'check-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'alice', namespace: 'team-a' }],
    },
  });
  await rbac.createNamespacedRole({
    namespace: 'team-a',
    body: { metadata: { name: 'web-reader' }, rules: [{ apiGroups: ['vigil.dev'], resources: ['uptimechecks'], resourceNames: ['web'], verbs: ['get'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: 'team-a',
    body: {
      metadata: { name: 'carol-reads-web' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'web-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'carol', namespace: 'team-a' }],
    },
  });
  for (const name of ['alice', 'bob', 'carol'] as const) tokens[name] = await plane.tokenFor('team-a', name);
  return plane.writeTokenKubeconfig(await plane.tokenFor('vigil-system', 'vigil-api'), 'vigil-api');
}

beforeAll(async () => {
  ({ plane, postgres: server } = await startControlPlaneAndPostgres());
  db = await server.createDatabase();
  pool = createPool({ connectionString: db.url, applicationName: 'api-test', max: 4 });
  await migrate(pool);

  const web = await insertCheck(pool, { namespace: 'team-a', name: 'web' });
  webUid = web;
  const api = await insertCheck(pool, { namespace: 'team-a', name: 'api' });
  const other = await insertCheck(pool, { namespace: 'team-b', name: 'web' });
  const t1 = await insertTransition(pool, { uid: web, namespace: 'team-a', name: 'web', from: 'up', to: 'down', at: new Date('2026-03-01T10:00:00Z') });
  const t2 = await insertTransition(pool, { uid: api, namespace: 'team-a', name: 'api', from: 'down', to: 'up', at: new Date('2026-03-01T11:00:00Z') });
  const t3 = await insertTransition(pool, { uid: other, namespace: 'team-b', name: 'web', from: 'up', to: 'down', at: new Date('2026-03-01T12:00:00Z') });
  teamADelivery = await insertDelivery(pool, {
    transitionId: t1,
    receiver: 'ops-slack',
    event: 'check.down',
    status: 'delivered',
    createdAt: new Date('2026-03-01T10:00:01Z'),
    attempts: [
      { startedAt: new Date('2026-03-01T10:00:01Z'), durationMs: 15_000, statusCode: null, error: 'timeout after 15s' },
      { startedAt: new Date('2026-03-01T10:00:31Z'), durationMs: 210, statusCode: 500, responseExcerpt: 'internal error' },
      { startedAt: new Date('2026-03-01T10:01:31Z'), durationMs: 95, statusCode: 204 },
    ],
  });
  await insertDelivery(pool, { transitionId: t2, receiver: 'ops-slack', event: 'check.up', status: 'pending', createdAt: new Date('2026-03-01T11:00:01Z') });
  teamBDelivery = await insertDelivery(pool, { transitionId: t3, receiver: 'b-pager', event: 'check.down', createdAt: new Date('2026-03-01T12:00:01Z') });

  process.env.KUBECONFIG = await setUpCluster();
  app = await createTestApp({ databaseUrl: db.url });
});

afterAll(async () => {
  if (previousKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = previousKubeconfig;
  await app?.close();
  await pool?.end();
  await Promise.all([plane?.stop(), server?.destroy()]);
});

const get = (path: string, token?: string) => {
  const req = request(app.getHttpServer()).get(path);
  return token ? req.set('Authorization', `Bearer ${token}`) : req;
};

describe('the api ServiceAccount', () => {
  it('may review tokens and access, and read checks, but write nothing', async () => {
    const can = async (verb: string, resource: string) =>
      (await plane.kubectl(['auth', 'can-i', verb, resource, '--as=system:serviceaccount:vigil-system:vigil-api', '-n', 'team-a'])).stdout.trim();
    expect(await can('create', 'tokenreviews.authentication.k8s.io')).toBe('yes');
    expect(await can('create', 'subjectaccessreviews.authorization.k8s.io')).toBe('yes');
    expect(await can('get', 'uptimechecks.vigil.dev')).toBe('yes');
    for (const verb of ['create', 'update', 'patch', 'delete']) expect(await can(verb, 'uptimechecks.vigil.dev')).toBe('no');
    expect(await can('get', 'secrets')).toBe('no');
  });
});

describe('GET /api/v1/deliveries', () => {
  it('is 401, with a Bearer challenge, without a token or with one the API server rejects', async () => {
    const none = await get('/api/v1/deliveries?namespace=team-a').expect(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="vigil"');
    expect(none.body.message).toBe('send a Kubernetes token as "Authorization: Bearer <token>"');
    const bogus = await get('/api/v1/deliveries?namespace=team-a', 'not-a-real-token').expect(401);
    expect(bogus.body.message).toBe('the token was not accepted by the Kubernetes API server');
    await request(app.getHttpServer()).get('/api/v1/deliveries?namespace=team-a').set('Authorization', `Basic ${tokens.alice}`).expect(401);
  });

  it('is 200 for a user whose RBAC allows get uptimechecks in the namespace, newest first, never cached', async () => {
    const res = await get('/api/v1/deliveries?namespace=team-a', tokens.alice).expect(200);
    expect(res.headers['cache-control']).toBe('private, no-store');
    expect(res.body.total).toBe(2);
    expect(res.body.items.map((d: { check: { name: string }; event: string; status: string }) => [d.check.name, d.event, d.status])).toEqual([
      ['api', 'check.up', 'pending'],
      ['web', 'check.down', 'delivered'],
    ]);
    expect(res.body.items[1]).toEqual({
      id: teamADelivery,
      receiver: 'ops-slack',
      event: 'check.down',
      status: 'delivered',
      attemptCount: 3,
      check: { namespace: 'team-a', name: 'web' },
      transition: { from: 'up', to: 'down', at: '2026-03-01T10:00:00.000Z' },
      lastStatusCode: 204,
      lastError: null,
      nextAttemptAt: null,
      createdAt: '2026-03-01T10:00:01.000Z',
      updatedAt: '2026-03-01T10:00:01.000Z',
      deliveredAt: '2026-03-01T10:01:31.000Z',
    });
    const filtered = await get('/api/v1/deliveries?namespace=team-a&check=web&limit=1', tokens.alice).expect(200);
    expect(filtered.body).toMatchObject({ total: 1, limit: 1, items: [{ id: teamADelivery }] });
    const pending = await get('/api/v1/deliveries?namespace=team-a&status=pending', tokens.alice).expect(200);
    expect(pending.body.items.map((d: { check: { name: string } }) => d.check.name)).toEqual(['api']);
  });

  it('is 403 for a user without that RBAC, and for another namespace', async () => {
    const bob = await get('/api/v1/deliveries?namespace=team-a', tokens.bob).expect(403);
    expect(bob.body.message).toBe('system:serviceaccount:team-a:bob may not get uptimechecks.vigil.dev in namespace team-a');
    await get('/api/v1/deliveries?namespace=team-b', tokens.alice).expect(403);
  });

  it('authorises per check name when one is given (RBAC resourceNames)', async () => {
    await get('/api/v1/deliveries?namespace=team-a&check=web', tokens.carol).expect(200);
    const other = await get('/api/v1/deliveries?namespace=team-a&check=api', tokens.carol).expect(403);
    expect(other.body.message).toBe('system:serviceaccount:team-a:carol may not get uptimechecks.vigil.dev "api" in namespace team-a');
    await get('/api/v1/deliveries?namespace=team-a', tokens.carol).expect(403);
  });

  it('is 400 for a missing or malformed namespace', async () => {
    const missing = await get('/api/v1/deliveries', tokens.alice).expect(400);
    expect(missing.body.message).toEqual(['namespace is required']);
    const bad = await get('/api/v1/deliveries?namespace=Team_A', tokens.alice).expect(400);
    expect(bad.body.message).toEqual(['namespace must be a Kubernetes namespace name (lowercase letters, digits and -)']);
  });
});

describe('GET /api/v1/deliveries/:id', () => {
  it('returns the payload and every attempt to an authorised user', async () => {
    const res = await get(`/api/v1/deliveries/${teamADelivery}`, tokens.alice).expect(200);
    expect(res.body).toMatchObject({ id: teamADelivery, attemptCount: 3 });
    const at = new Date('2026-03-01T10:00:00Z');
    expect(res.body.payload).toEqual(
      webhookPayloadOf({ uid: webUid, namespace: 'team-a', name: 'web', url: 'https://web.internal.example/health', from: 'up', to: 'down', at, code: 0, latencyMs: null, reason: null, message: null }, 'check.down'),
    );
    expect(res.body.attempts).toEqual([
      { attempt: 1, startedAt: '2026-03-01T10:00:01.000Z', durationMs: 15_000, statusCode: null, error: 'timeout after 15s', responseExcerpt: null, alerter: 'alerter-0' },
      { attempt: 2, startedAt: '2026-03-01T10:00:31.000Z', durationMs: 210, statusCode: 500, error: null, responseExcerpt: 'internal error', alerter: 'alerter-0' },
      { attempt: 3, startedAt: '2026-03-01T10:01:31.000Z', durationMs: 95, statusCode: 204, error: null, responseExcerpt: null, alerter: 'alerter-0' },
    ]);
    await get(`/api/v1/deliveries/${teamADelivery}`, tokens.carol).expect(200);
  });

  it('is 401 without a token (before looking the id up), 403 without RBAC, 404 for an unknown id', async () => {
    await get(`/api/v1/deliveries/${teamADelivery}`).expect(401);
    await get('/api/v1/deliveries/msg_unknown').expect(401);
    await get(`/api/v1/deliveries/${teamADelivery}`, tokens.bob).expect(403);
    await get(`/api/v1/deliveries/${teamBDelivery}`, tokens.alice).expect(403);
    await get('/api/v1/deliveries/msg_unknown', tokens.alice).expect(404);
  });
});

describe('an API server outage', () => {
  it('answers 503 while the API server is down, keeps serving the public API, and recovers', async () => {
    await plane.stopApiServer();
    try {
      const res = await get('/api/v1/deliveries?namespace=team-a', tokens.alice).expect(503);
      expect(res.body.message).toBe('the Kubernetes API server could not review the token; try again later');
      await get('/api/v1/summary').expect(200);
    } finally {
      await plane.startApiServer();
    }
    await get('/api/v1/deliveries?namespace=team-a', tokens.alice).expect(200);
  });
});
