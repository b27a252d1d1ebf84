import { randomBytes } from 'node:crypto';
import { ApiException, PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';
import { capMessage } from '@vigil/contracts';
import { UPTIME_CHECK } from '@vigil/k8s';

export interface CheckRef {
  namespace: string;
  name: string;
  uid: string;
}

export type EventReason = 'Down' | 'Up' | 'WebhookFailed';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const CACHE_LIMIT = 4096;

/**
 * Writes core/v1 Events on UptimeChecks, aggregated the way client-go's
 * recorder does: the first occurrence of a reason on an object creates an
 * Event, later ones bump its count and lastTimestamp (a patch), so
 * `kubectl describe` shows "(x5 over 2h)" rather than five lines. The
 * aggregation memory is this process's; after a restart, or once the API
 * server has expired the Event (1 h by default), a new one is created.
 */
export class EventRecorder {
  private readonly seen = new Map<string, { name: string; count: number }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly instance: string,
  ) {}

  /** Returns whether a new Event was created (false: an existing one was bumped). */
  async record(ref: CheckRef, type: 'Normal' | 'Warning', reason: EventReason, message: string, at: Date): Promise<'created' | 'aggregated'> {
    const key = `${ref.uid}/${reason}`;
    const known = this.seen.get(key);
    if (known) {
      try {
        await this.core.patchNamespacedEvent(
          { namespace: ref.namespace, name: known.name, body: { count: known.count + 1, lastTimestamp: at, message: capMessage(message) } },
          MERGE_PATCH,
        );
        known.count += 1;
        this.touch(key, known);
        return 'aggregated';
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 404)) throw err;
        this.seen.delete(key);
      }
    }
    // Unique like client-go's names: object name, then a hex timestamp.
    const name = `${ref.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(randomBytes(2).readUInt16BE())).toString(16)}`;
    await this.core.createNamespacedEvent({
      namespace: ref.namespace,
      body: {
        metadata: { name, namespace: ref.namespace },
        involvedObject: { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, namespace: ref.namespace, name: ref.name, uid: ref.uid },
        type,
        reason,
        message: capMessage(message),
        count: 1,
        firstTimestamp: at,
        lastTimestamp: at,
        source: { component: 'vigil-alerter' },
        reportingComponent: 'vigil.dev/alerter',
        reportingInstance: this.instance,
      },
    });
    this.touch(key, { name, count: 1 });
    return 'created';
  }

  private touch(key: string, value: { name: string; count: number }): void {
    this.seen.delete(key);
    this.seen.set(key, value);
    if (this.seen.size > CACHE_LIMIT) this.seen.delete(this.seen.keys().next().value!);
  }
}
