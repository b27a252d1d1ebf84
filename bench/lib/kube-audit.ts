// When did the API server accept a write? Its audit log says, to the
// microsecond, on the same clock as everything else on this machine: a
// benchmark starts the control plane with `auditArgs(dir, resources)` and reads
// `auditEvents(path)` afterwards. Only writes to the named resources are logged
// (level Metadata), so the audit costs the API server next to nothing.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AuditedResource {
  group: string;
  resource: string;
}

/** kube-apiserver flags that log create/update/patch/delete of `resources` to `<dir>/audit.log`. */
export async function auditArgs(dir: string, resources: readonly AuditedResource[]): Promise<{ args: string[]; logPath: string }> {
  const policyPath = join(dir, 'audit-policy.json');
  const logPath = join(dir, 'audit.log');
  const policy = {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived', 'ResponseStarted', 'Panic'],
    rules: [
      { level: 'Metadata', verbs: ['create', 'update', 'patch', 'delete'], resources: resources.map((r) => ({ group: r.group, resources: [r.resource] })) },
      { level: 'None' },
    ],
  };
  await writeFile(policyPath, JSON.stringify(policy));
  return { args: [`--audit-policy-file=${policyPath}`, `--audit-log-path=${logPath}`, '--audit-log-format=json', '--audit-log-mode=blocking'], logPath };
}

export interface AuditEvent {
  verb: string;
  namespace: string;
  name: string;
  code: number;
  /** Epoch ms (sub-ms precision): the request arrived, and its response was complete. */
  received: number;
  completed: number;
}

/** Epoch ms of an RFC 3339 time with up to nanosecond fractions (Date.parse keeps only milliseconds). */
export function parseMicroTime(text: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!match) throw new Error(`not an RFC 3339 time: ${text}`);
  return Date.parse(`${match[1]}${match[3]}`) + Number(`0.${match[2] ?? '0'}`) * 1000;
}

/** Every completed request in the audit log at `path`, in order. */
export async function auditEvents(path: string): Promise<AuditEvent[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const events: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as {
      stage: string;
      verb: string;
      objectRef?: { namespace?: string; name?: string };
      responseStatus?: { code?: number };
      requestReceivedTimestamp: string;
      stageTimestamp: string;
    };
    if (e.stage !== 'ResponseComplete') continue;
    events.push({
      verb: e.verb,
      namespace: e.objectRef?.namespace ?? '',
      name: e.objectRef?.name ?? '',
      code: e.responseStatus?.code ?? 0,
      received: parseMicroTime(e.requestReceivedTimestamp),
      completed: parseMicroTime(e.stageTimestamp),
    });
  }
  return events;
}
