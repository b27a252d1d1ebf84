// Every variable the chart sets on a service is one the service reads, and
// every variable a service cannot do without is set: compared with each
// service's own env spec, so a renamed or misspelt variable fails here instead
// of being silently ignored (or crashing the pod) in a cluster.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import { DURATION_LIST_PATTERN, RUNTIME_ENV_NAMES, envProblems, requiredEnvNames, type EnvSpec } from '@vigil/config';
import { alerterEnv } from '@vigil/alerter/config';
import { apiEnv } from '@vigil/api/config';
import { proberEnv } from '@vigil/prober/config';
import { watcherEnv } from '@vigil/watcher/config';
import { CHART_DIR, EKS_VALUES, EXTERNAL_DB_VALUES, SERVICES, componentOf, ofKind, renderChart, type RenderOptions, type Service } from './chart.js';

const SPECS: Record<Service, EnvSpec> = { watcher: watcherEnv, prober: proberEnv, alerter: alerterEnv, api: apiEnv };

const valueSets: { name: string; options: RenderOptions }[] = [
  { name: 'the defaults', options: {} },
  { name: 'the EKS values', options: { valuesFiles: [EKS_VALUES] } },
  { name: 'the external-database values', options: { valuesFiles: [EXTERNAL_DB_VALUES] } },
  {
    // Every optional setting given, so each variable the chart renders only on request is seen too.
    name: 'every optional setting',
    options: {
      set: [
        'watcher.namespaces={team-a,team-b}',
        'watcher.leaderElection.leaseDuration=20s',
        'watcher.leaderElection.renewDeadline=15s',
        'watcher.leaderElection.retryPeriod=3s',
        'prober.claimLease=30s',
        'prober.timeoutMax=30s',
        'prober.shutdownGrace=5s',
        'prober.resultFlushInterval=1s',
        'prober.resultRetention=168h',
        'alerter.webhookTimeout=10s',
        'alerter.webhookRetrySchedule=5s\\,30s\\,2m',
        'alerter.statusRefreshPeriod=2m',
        'api.showUrls=true',
        'api.statusPageRefresh=30s',
        'api.auth.audience=status.example.com',
        'api.auth.cacheTtl=10s',
        'api.auth.negativeCacheTtl=2s',
        'api.auth.failureWindow=5m',
        'api.trustedProxies={10.42.0.0/16,fd00:42::/56}',
        'ssrf.denyCidrs={10.0.0.0/8,fd00::/8}',
        'ssrf.denyCidrsReplaceDefaults={169.254.0.0/16,127.0.0.0/8}',
        'ssrf.allowCidrs={10.96.0.0/12}',
      ],
      setJson: ['api.auth.failureLimit="20"', 'prober.concurrency="200"', 'prober.namespaceMinShare="8"', 'prober.resultBufferLimit="5000"', 'alerter.statusPatchQps="20"'],
    },
  },
];

/** The service container of each Vigil Deployment (the migrate init container is the migrator's, not the service's). */
async function serviceContainers(options: RenderOptions): Promise<Map<Service, V1Container>> {
  const containers = new Map<Service, V1Container>();
  for (const deployment of ofKind<V1Deployment>(await renderChart(options), 'Deployment')) {
    const service = componentOf(deployment) as Service;
    if (!SERVICES.includes(service)) continue;
    const container = deployment.spec!.template.spec!.containers.find((c) => c.name === service);
    if (!container) throw new Error(`Deployment ${deployment.metadata?.name} has no container named ${service}`);
    containers.set(service, container);
  }
  expect([...containers.keys()].sort()).toEqual([...SERVICES].sort());
  return containers;
}

/** What the services' env parsers say about the environment rendered for them. */
function parserProblems(containers: Map<Service, V1Container>): string[] {
  return SERVICES.flatMap((service) => {
    const env = containers.get(service)!.env ?? [];
    // Values from the downward API or a Secret are only known in the pod; the literal ones are checked.
    const literal = Object.fromEntries(env.flatMap((e) => (e.value !== undefined ? [[e.name, e.value]] : [])));
    const fromSecret = env.some((e) => e.name === 'DATABASE_URL' && e.valueFrom) ? { DATABASE_URL: 'postgres://from-a-secret@db/vigil' } : {};
    return envProblems(SPECS[service], { ...fromSecret, ...literal }).map((p) => `${service}: ${p}`);
  });
}

describe.each(valueSets)('the environment the chart renders with $name', ({ options }) => {
  let containers: Map<Service, V1Container>;
  beforeAll(async () => {
    containers = await serviceContainers(options);
  });

  it('sets only variables the service reads (its env spec, or Node.js and node-postgres)', () => {
    const unread = SERVICES.flatMap((service) => {
      const read = new Set([...Object.keys(SPECS[service]), ...RUNTIME_ENV_NAMES]);
      return (containers.get(service)!.env ?? []).filter((e) => !read.has(e.name)).map((e) => `${service}: ${e.name}`);
    });
    expect(unread).toEqual([]);
  });

  it('sets every variable a service cannot do without', () => {
    const missing = SERVICES.flatMap((service) => {
      const rendered = new Set((containers.get(service)!.env ?? []).map((e) => e.name));
      return requiredEnvNames(SPECS[service])
        .filter((name) => !rendered.has(name))
        .map((name) => `${service}: ${name}`);
    });
    expect(missing).toEqual([]);
  });

  it("renders values the service's parser accepts", () => {
    expect(parserProblems(containers)).toEqual([]);
  });
});

// Every duration the chart documents starts the services: `7d` in values.yaml
// once crashed the prober, whose parser knew no days.
describe('every duration the chart documents', () => {
  const DURATION_REF = '#/$defs/duration';
  interface SchemaNode {
    $ref?: string;
    pattern?: string;
    examples?: string[];
    properties?: Record<string, SchemaNode>;
    $defs?: Record<string, SchemaNode>;
  }
  let schema: SchemaNode;
  /** Dotted paths of the duration settings of the four services (serviceMonitor.interval is Prometheus's, not theirs). */
  let paths: string[];

  function durationPaths(node: SchemaNode, prefix: string): string[] {
    return Object.entries(node.properties ?? {}).flatMap(([key, child]) => {
      const path = `${prefix}${key}`;
      const isDuration = child.$ref === DURATION_REF || child.pattern === `^$|${DURATION_LIST_PATTERN}`;
      return isDuration ? [path] : durationPaths(child, `${path}.`);
    });
  }

  const problemsWith = async (setJson: string[]) => parserProblems(await serviceContainers({ setJson }));

  beforeAll(async () => {
    schema = JSON.parse(await readFile(join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;
    paths = SERVICES.flatMap((service) => durationPaths(schema.properties![service]!, `${service}.`));
  });

  it('finds the duration settings of every service', () => {
    expect(paths).toEqual(expect.arrayContaining(['watcher.leaderElection.leaseDuration', 'prober.resultRetention', 'alerter.webhookRetrySchedule', 'api.statusPageRefresh']));
  });

  it("renders each values.yaml example (`# Example: key: value`) to a value the service's parser accepts", async () => {
    const valuesYaml = await readFile(join(CHART_DIR, 'values.yaml'), 'utf8');
    const examples = new Map([...valuesYaml.matchAll(/^\s*# Example: (\w+): (\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]));
    const set = paths.map((path) => {
      const example = examples.get(path.split('.').at(-1)!);
      if (example === undefined) throw new Error(`values.yaml documents no example for ${path}: add a "# Example: ${path.split('.').at(-1)}: ..." comment`);
      return `${path}=${JSON.stringify(example)}`;
    });
    expect(set).toContain('prober.resultRetention="7d"');
    expect(await problemsWith(set)).toEqual([]);
  });

  it("parses each of the schema's duration examples in every service variable it lands in (only a variable's bounds may refuse it)", async () => {
    const examples = schema.$defs!['duration']!.examples!;
    expect(examples).toContain('7d');
    for (const example of examples) {
      const problems = await problemsWith(paths.map((path) => `${path}=${JSON.stringify(example)}`));
      expect({ example, grammar: problems.filter((p) => /expected a duration/.test(p)) }).toEqual({ example, grammar: [] });
    }
  });
});
