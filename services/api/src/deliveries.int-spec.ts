import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ApiextensionsV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { webhookPayloadOf } from '@vigil/contracts';
import { loadUptimeCheckCrd } from '@vigil/k8s';
import { createPool, migrate, type Pool } from '@vigil/db';
import { ControlPlane, PostgresServer, startControlPlaneAndPostgres, type TestDatabase } from '@vigil/testing';
import { createTestApp } from './testing/app.js';
import { METRICS_REGISTRY } from './common/tokens.js';
import { insertCheck, insertDelivery, insertTransition } from './testing/seed.js';
import { audienceToken, sumSamples } from './testing/tokens.js';

// Delivery logs against a real kube-apiserver with RBAC: the api runs with its
// own ServiceAccount's token (KUBECONFIG), bound only to system:auth-delegator,
// as in the chart. Callers' tokens are minted for audience "vigil", as
// `kubectl create token <sa> --audience vigil` does.
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
  for (const name of ['alice', 'bob', 'carol'] as const) tokens[name] = await audienceToken(plane, 'team-a', name);
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

const get = (path: string, token?: string, target: INestApplication = app) => {
  const req = request(target.getHttpServer()).get(path);
  return token ? req.set('Authorization', `Bearer ${token}`) : req;
};

const REFUSED = 'the Kubernetes API server did not accept the token for audience "vigil"; create one with "kubectl create token <serviceaccount> --audience vigil"';

/** TokenReviews the api says it sent, and TokenReviews the API server says it served: the two must agree. */
async function tokenReviews(target: INestApplication): Promise<{ api: number; apiserver: number }> {
  const api = sumSamples(await target.get<Registry>(METRICS_REGISTRY).metrics(), 'vigil_api_auth_reviews_total', ['kind="TokenReview"']);
  const raw = await plane.kubectl(['get', '--raw', '/metrics']);
  if (raw.code !== 0) throw new Error(`kubectl get --raw /metrics: ${raw.stderr}`);
  return { api, apiserver: sumSamples(raw.stdout, 'apiserver_request_total', ['resource="tokenreviews"', 'verb="POST"']) };
}

describe('the api ServiceAccount', () => {
  it('may review tokens and access, and nothing else', async () => {
    const can = async (verb: string, resource: string) =>
      (await plane.kubectl(['auth', 'can-i', verb, resource, '--as=system:serviceaccount:vigil-system:vigil-api', '-n', 'team-a'])).stdout.trim();
    expect(await can('create', 'tokenreviews.authentication.k8s.io')).toBe('yes');
    expect(await can('create', 'subjectaccessreviews.authorization.k8s.io')).toBe('yes');
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) expect(await can(verb, 'uptimechecks.vigil.dev')).toBe('no');
    expect(await can('get', 'secrets')).toBe('no');
  });
});

describe('GET /api/v1/deliveries', () => {
  it('is 401, with a Bearer challenge, without a token or with one the API server rejects', async () => {
    const none = await get('/api/v1/deliveries?namespace=team-a').expect(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="vigil"');
    expect(none.body.message).toBe('send a Kubernetes token for audience "vigil" as "Authorization: Bearer <token>"');
    const bogus = await get('/api/v1/deliveries?namespace=team-a', 'not-a-real-token').expect(401);
    expect(bogus.body.message).toBe(REFUSED);
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

describe('the token audience', () => {
  it('refuses a token the API server accepts but that was not minted for audience vigil, with a clear message', async () => {
    // What `kubectl create token alice` gives: a valid token, for the API server only.
    const apiServerToken = await plane.tokenFor('team-a', 'alice');
    const res = await get('/api/v1/deliveries?namespace=team-a', apiServerToken).expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="vigil"');
    expect(res.body.message).toBe(REFUSED);
    await get('/api/v1/deliveries?namespace=team-a', await audienceToken(plane, 'team-a', 'alice', 'another-service')).expect(401);
    // The same user with a token for audience vigil is in.
    await get('/api/v1/deliveries?namespace=team-a', await audienceToken(plane, 'team-a', 'alice')).expect(200);
  });

  it('is configurable (AUTH_AUDIENCE): then only tokens for that audience get in', async () => {
    const other = await createTestApp({ databaseUrl: db.url, env: { AUTH_AUDIENCE: 'status.example.com' } });
    try {
      await get('/api/v1/deliveries?namespace=team-a', tokens.alice, other).expect(401);
      await get('/api/v1/deliveries?namespace=team-a', await audienceToken(plane, 'team-a', 'alice', 'status.example.com'), other).expect(200);
    } finally {
      await other.close();
    }
  });
});

describe('decision cache', () => {
  it('reviews a token once: a second request within the TTL reaches no TokenReview (counted by the API server)', async () => {
    const fresh = await audienceToken(plane, 'team-a', 'alice');
    const before = await tokenReviews(app);
    await get('/api/v1/deliveries?namespace=team-a', fresh).expect(200);
    const afterFirst = await tokenReviews(app);
    expect(afterFirst.api - before.api).toBe(1);
    expect(afterFirst.apiserver - before.apiserver).toBe(1);
    await get('/api/v1/deliveries?namespace=team-a', fresh).expect(200);
    await get(`/api/v1/deliveries/${teamADelivery}`, fresh).expect(200);
    const afterMore = await tokenReviews(app);
    expect(afterMore).toEqual(afterFirst);
    const metrics = await app.get<Registry>(METRICS_REGISTRY).metrics();
    expect(sumSamples(metrics, 'vigil_api_auth_cache_lookups_total', ['cache="token"', 'result="hit"'])).toBeGreaterThanOrEqual(2);
  });

  it('reviews the token again once the TTL has passed', async () => {
    const short = await createTestApp({ databaseUrl: db.url, env: { AUTH_CACHE_TTL: '1s' } });
    try {
      const before = await tokenReviews(short);
      await get('/api/v1/deliveries?namespace=team-a', tokens.alice, short).expect(200);
      await get('/api/v1/deliveries?namespace=team-a', tokens.alice, short).expect(200);
      expect((await tokenReviews(short)).apiserver - before.apiserver).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      await get('/api/v1/deliveries?namespace=team-a', tokens.alice, short).expect(200);
      const after = await tokenReviews(short);
      expect([after.api - before.api, after.apiserver - before.apiserver]).toEqual([2, 2]);
    } finally {
      await short.close();
    }
  });
});

describe('failure rate limit', () => {
  // Behind a proxy on loopback (as Traefik is in front of the chart's api):
  // the client is the address the proxy appended to X-Forwarded-For.
  let limited: INestApplication;
  const from = (client: string, path: string, token: string) =>
    request(limited.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`).set('X-Forwarded-For', client);

  beforeAll(async () => {
    limited = await createTestApp({ databaseUrl: db.url, env: { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW: '1m', TRUSTED_PROXIES: '127.0.0.0/8,::1/128' } });
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('answers 429 with Retry-After once a client has had too many tokens refused, without asking the API server', async () => {
    const path = '/api/v1/deliveries?namespace=team-a';
    await from('203.0.113.7', path, tokens.alice).expect(200);
    for (let i = 0; i < 3; i++) expect((await from('203.0.113.7', path, `bogus-${i}`).expect(401)).body.message).toBe(REFUSED);
    const before = await tokenReviews(limited);
    const res = await from('203.0.113.7', path, 'bogus-3').expect(429);
    expect(res.body.message).toBe('too many refused tokens from this client; try again later');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    // A new token from the limited client is not reviewed either, even a valid one...
    await from('203.0.113.7', path, tokens.carol).expect(429);
    // ...nor when the client puts another address in front of the one the proxy appended.
    await from('198.51.100.1, 203.0.113.7', path, 'bogus-4').expect(429);
    expect(await tokenReviews(limited)).toEqual(before);
    // A token already accepted costs nothing and still works; other clients are not affected.
    await from('203.0.113.7', path, tokens.alice).expect(200);
    await from('203.0.113.8', path, 'bogus-5').expect(401);
    await from('203.0.113.8', path, tokens.carol).expect(403);
    const metrics = await limited.get<Registry>(METRICS_REGISTRY).metrics();
    expect(sumSamples(metrics, 'vigil_api_auth_decisions_total', ['step="token"', 'decision="rate_limited"'])).toBe(3);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy (the default)', async () => {
    const direct = await createTestApp({ databaseUrl: db.url, env: { AUTH_FAILURE_LIMIT: '2' } });
    try {
      const call = (client: string, token: string) =>
        request(direct.getHttpServer()).get('/api/v1/deliveries?namespace=team-a').set('Authorization', `Bearer ${token}`).set('X-Forwarded-For', client);
      await call('203.0.113.20', 'bogus-a').expect(401);
      await call('203.0.113.21', 'bogus-b').expect(401);
      // A different X-Forwarded-For each time does not make a new client: the connection's address is the client.
      await call('203.0.113.22', 'bogus-c').expect(429);
    } finally {
      await direct.close();
    }
  });
});

describe('an API server outage', () => {
  it('answers 503 while the API server is down, keeps serving the public API, and recovers', async () => {
    // A token the api has not seen yet: a cached one would not need the API server.
    const unseen = await audienceToken(plane, 'team-a', 'alice');
    await plane.stopApiServer();
    try {
      const res = await get('/api/v1/deliveries?namespace=team-a', unseen).expect(503);
      expect(res.body.message).toBe('the Kubernetes API server could not review the token; try again later');
      await get('/api/v1/summary').expect(200);
    } finally {
      await plane.startApiServer();
    }
    // The failed review was not cached: the same token works once the API server is back.
    await get('/api/v1/deliveries?namespace=team-a', unseen).expect(200);
  });
});
