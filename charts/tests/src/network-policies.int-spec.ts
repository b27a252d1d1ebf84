// The NetworkPolicy truth table: the chart's rendered policies, analysed by
// cyclonus (a real, offline NetworkPolicy engine built from the Go module
// proxy), allow exactly the flows Vigil needs and deny the rest.
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ofKind, renderChart } from './chart.js';
import { analyze, type Flow, type Peer } from './netpol-analyzer.js';

const namespace = 'vigil';
const apiServerIp = '172.18.0.2';

function vigilPod(component: string, ip: string): Peer {
  return {
    pod: {
      namespace,
      labels: {
        'app.kubernetes.io/name': 'vigil',
        'app.kubernetes.io/instance': 'vigil',
        'app.kubernetes.io/component': component,
        'app.kubernetes.io/part-of': 'vigil',
        'pod-template-hash': '5d9c7f8b4',
      },
    },
    ip,
  };
}

const peers = {
  watcher: vigilPod('watcher', '10.42.0.11'),
  prober: vigilPod('prober', '10.42.0.12'),
  alerter: vigilPod('alerter', '10.42.0.13'),
  api: vigilPod('api', '10.42.0.14'),
  postgres: vigilPod('postgres', '10.42.0.15'),
  helmTest: vigilPod('test', '10.42.0.16'),
  // Not Vigil, but in Vigil's namespace: default-deny covers it too.
  intruder: { pod: { namespace, labels: { app: 'intruder' } }, ip: '10.42.0.17' },
  kubeDns: { pod: { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } }, ip: '10.42.0.2' },
  traefik: { pod: { namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'traefik' } }, ip: '10.42.0.3' },
  metricsServer: { pod: { namespace: 'kube-system', labels: { 'k8s-app': 'metrics-server' } }, ip: '10.42.0.4' },
  prometheus: { pod: { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } }, ip: '10.42.1.5' },
  otherApp: { pod: { namespace: 'default', labels: { app: 'curl' } }, ip: '10.42.1.6' },
  apiServer: { ip: apiServerIp },
  otherNode: { ip: '172.18.0.3' },
  internetV4: { ip: '93.184.215.14' },
  internetV6: { ip: '2606:2800:21f:cb07:6820:80da:af6b:8b2c' },
  receiverV4: { ip: '203.0.113.10' },
  awsMetadataV4: { ip: '169.254.169.254' },
  awsMetadataV6: { ip: 'fd00:ec2::254' },
  alibabaMetadata: { ip: '100.100.100.200' },
  linkLocalV6: { ip: 'fe80::1' },
} satisfies Record<string, Peer>;

type PeerName = keyof typeof peers;
type Row = [from: PeerName, to: PeerName, port: number, protocol: 'TCP' | 'UDP'];

const allowed: Row[] = [
  // DNS, for every Vigil pod
  ['watcher', 'kubeDns', 53, 'UDP'],
  ['prober', 'kubeDns', 53, 'UDP'],
  ['alerter', 'kubeDns', 53, 'UDP'],
  ['api', 'kubeDns', 53, 'TCP'],
  ['postgres', 'kubeDns', 53, 'UDP'],
  ['helmTest', 'kubeDns', 53, 'UDP'],
  // the ingress controller and the helm test pod to the api's public port
  ['traefik', 'api', 8080, 'TCP'],
  ['helmTest', 'api', 8080, 'TCP'],
  // the listed scraper to every ops port (/metrics), the api's included
  ['prometheus', 'api', 9090, 'TCP'],
  ['prometheus', 'watcher', 9090, 'TCP'],
  ['prometheus', 'prober', 9090, 'TCP'],
  ['prometheus', 'alerter', 9090, 'TCP'],
  // the four services to Postgres
  ['watcher', 'postgres', 5432, 'TCP'],
  ['prober', 'postgres', 5432, 'TCP'],
  ['alerter', 'postgres', 5432, 'TCP'],
  ['api', 'postgres', 5432, 'TCP'],
  // the prober to probe targets, IPv4 and IPv6, on the configured ports
  ['prober', 'internetV4', 443, 'TCP'],
  ['prober', 'internetV4', 80, 'TCP'],
  ['prober', 'internetV6', 443, 'TCP'],
  ['prober', 'receiverV4', 80, 'TCP'],
  // the alerter to receivers
  ['alerter', 'receiverV4', 443, 'TCP'],
  ['alerter', 'internetV6', 443, 'TCP'],
  // watcher, alerter and api to the API server
  ['watcher', 'apiServer', 6443, 'TCP'],
  ['alerter', 'apiServer', 6443, 'TCP'],
  ['api', 'apiServer', 6443, 'TCP'],
];

const denied: Row[] = [
  // the prober never reaches metadata, link-local, the API server or odd ports
  ['prober', 'awsMetadataV4', 80, 'TCP'],
  ['prober', 'awsMetadataV6', 80, 'TCP'],
  ['prober', 'alibabaMetadata', 80, 'TCP'],
  ['prober', 'linkLocalV6', 443, 'TCP'],
  ['prober', 'apiServer', 6443, 'TCP'],
  ['prober', 'apiServer', 443, 'TCP'],
  ['prober', 'internetV4', 22, 'TCP'],
  ['prober', 'internetV4', 5432, 'TCP'],
  ['prober', 'internetV4', 443, 'UDP'],
  // the alerter never delivers to metadata or odd ports
  ['alerter', 'awsMetadataV4', 443, 'TCP'],
  ['alerter', 'awsMetadataV6', 80, 'TCP'],
  ['alerter', 'receiverV4', 22, 'TCP'],
  // only the three services that need it reach the API server, only there
  ['helmTest', 'apiServer', 6443, 'TCP'],
  ['postgres', 'apiServer', 6443, 'TCP'],
  ['api', 'otherNode', 6443, 'TCP'],
  ['watcher', 'apiServer', 22, 'TCP'],
  // no internet for watcher, api, postgres or the test pod
  ['watcher', 'internetV4', 443, 'TCP'],
  ['api', 'internetV4', 443, 'TCP'],
  ['api', 'awsMetadataV4', 80, 'TCP'],
  ['postgres', 'internetV4', 443, 'TCP'],
  ['helmTest', 'internetV4', 443, 'TCP'],
  // the api's public port is reached only by the ingress controller and the
  // test pod; its ops port (metrics, readiness detail) only by the scraper
  ['prometheus', 'api', 8080, 'TCP'],
  ['helmTest', 'api', 9090, 'TCP'],
  ['intruder', 'api', 9090, 'TCP'],
  ['metricsServer', 'api', 8080, 'TCP'],
  ['otherApp', 'api', 8080, 'TCP'],
  ['intruder', 'api', 8080, 'TCP'],
  ['internetV4', 'api', 8080, 'TCP'],
  ['traefik', 'api', 9090, 'TCP'],
  ['traefik', 'watcher', 9090, 'TCP'],
  // Postgres is reached only by the four services
  ['helmTest', 'postgres', 5432, 'TCP'],
  ['intruder', 'postgres', 5432, 'TCP'],
  ['otherApp', 'postgres', 5432, 'TCP'],
  ['traefik', 'postgres', 5432, 'TCP'],
  ['prometheus', 'postgres', 5432, 'TCP'],
  // no service talks to another (they share only Postgres)
  ['watcher', 'alerter', 9090, 'TCP'],
  ['api', 'prober', 9090, 'TCP'],
  ['prober', 'api', 8080, 'TCP'],
  ['alerter', 'api', 8080, 'TCP'],
  // default-deny covers whatever else lives in the namespace
  ['intruder', 'kubeDns', 53, 'UDP'],
  ['intruder', 'internetV4', 443, 'TCP'],
  ['watcher', 'intruder', 8080, 'TCP'],
];

const table = [...allowed.map((row) => ({ row, verdict: 'allowed' as const })), ...denied.map((row) => ({ row, verdict: 'denied' as const }))];

let policies: KubernetesObject[];
let verdicts: boolean[];
let policiesRead: string[];

beforeAll(async () => {
  policies = ofKind(
    await renderChart({
      releaseName: 'vigil',
      namespace,
      set: [`networkPolicy.kubeApiServer.cidrs={${apiServerIp}/32}`, 'networkPolicy.kubeApiServer.ports={6443}'],
      setJson: ['networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}},"podSelector":{"matchLabels":{"app.kubernetes.io/name":"prometheus"}}}]'],
    }),
    'NetworkPolicy',
  );
  const flows: Flow[] = table.map(({ row: [from, to, port, protocol] }) => ({ from: peers[from], to: peers[to], port, protocol }));
  ({ allowed: verdicts, policiesRead } = await analyze(policies, flows));
});

describe('the rendered NetworkPolicies, analysed by cyclonus', () => {
  it('were all read by the analyzer', () => {
    expect(policiesRead.sort()).toEqual(policies.map((p) => `${namespace}/${p.metadata!.name}`).sort());
    expect(policiesRead).toContain('vigil/vigil-default-deny');
  });

  it.each(table.map(({ row, verdict }, index) => ({ index, from: row[0], to: row[1], port: row[2], protocol: row[3], verdict })))(
    '$from → $to on $port/$protocol is $verdict',
    ({ index, verdict }) => {
      expect(verdicts[index] ? 'allowed' : 'denied').toBe(verdict);
    },
  );
});

describe('the analysis itself (controls)', () => {
  it('sees the metadata address open as soon as the excepts are removed from the values', async () => {
    const open = ofKind(await renderChart({ namespace, setJson: ['networkPolicy.probeTargets.exceptIPv4=[]', 'networkPolicy.probeTargets.exceptIPv6=[]'] }), 'NetworkPolicy');
    const { allowed } = await analyze(open, [
      { from: peers.prober, to: peers.awsMetadataV4, port: 80, protocol: 'TCP' },
      { from: peers.prober, to: peers.awsMetadataV6, port: 80, protocol: 'TCP' },
    ]);
    expect(allowed).toEqual([true, true]);
  });

  it('sees every flow allowed when the chart renders no policies', async () => {
    const none = ofKind(await renderChart({ namespace, set: ['networkPolicy.enabled=false'] }), 'NetworkPolicy');
    expect(none).toEqual([]);
    const { allowed } = await analyze(none, denied.map(([from, to, port, protocol]) => ({ from: peers[from], to: peers[to], port, protocol })));
    expect(allowed.every(Boolean)).toBe(true);
  });
});
