import { randomBytes } from 'node:crypto';
import { ApiException, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { CONDITION_MESSAGE_MAX, FIELD_MANAGERS, STORED_CONDITION, type StoredReason } from '@vigil/contracts';
import { Backoff, pause } from '@vigil/db';
import { UPTIME_CHECK, type UptimeCheck } from '@vigil/k8s';
import type { Logger } from '@vigil/service-runtime';

const APPLY = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export interface CheckRef {
  namespace: string;
  name: string;
  uid: string;
}

/** What the watcher has to say about an object: its `Stored` condition, or null for none. */
export interface StoredNotice {
  status: 'True' | 'False';
  reason: StoredReason;
  message: string;
  generation: number;
}

interface Shown {
  notice: StoredNotice | null;
  /** When `status` last changed, for lastTransitionTime. */
  since: Date;
}

const sameNotice = (a: StoredNotice | null, b: StoredNotice | null) =>
  a === b || (!!a && !!b && a.status === b.status && a.reason === b.reason && a.message === b.message && a.generation === b.generation);

export function truncateMessage(text: string): string {
  return text.length <= CONDITION_MESSAGE_MAX ? text : `${text.slice(0, CONDITION_MESSAGE_MAX - 1)}…`;
}

/**
 * Writes the watcher's `Stored` condition on UptimeChecks by Server-Side Apply
 * on /status with the watcher's own field manager, so the alerter's `Ready`
 * condition and result fields are never touched; and one Warning Event each
 * time an object starts being refused for a reason (not one per retry). The
 * writes run in their own loop, so a slow or failing API server never holds
 * up mirroring; the latest wish per object wins and failures are retried with
 * backoff. Only what changed is written: an object the watcher stores as
 * written, and never reported on, costs no API call.
 */
export class StoredConditionReporter {
  private readonly objects: CustomObjectsApi;
  private readonly core: CoreV1Api;
  /** What this process believes is on each object. */
  private readonly shown = new Map<string, Shown>();
  private readonly wanted = new Map<string, { ref: CheckRef; notice: StoredNotice | null }>();
  private wake?: () => void;
  private loop?: Promise<void>;
  private readonly stopping = new AbortController();
  private readonly retry = new Backoff({ initialMs: 1000, maxMs: 30_000 });

  constructor(
    kubeConfig: KubeConfig,
    private readonly logger: Logger,
    private readonly instance: string,
  ) {
    this.objects = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
  }

  /** Seen on a list or watch: a `Stored` condition left by an earlier process must be cleared once the object stores. */
  observe(check: UptimeCheck): void {
    const uid = check.metadata.uid!;
    const condition = check.status?.conditions?.find((c) => c.type === STORED_CONDITION);
    // Only ever adds: a late event from before our own apply must not make us forget what we wrote.
    if (condition && !this.shown.get(uid)?.notice) {
      this.shown.set(uid, {
        notice: { status: condition.status as 'True' | 'False', reason: condition.reason as StoredReason, message: condition.message, generation: condition.observedGeneration ?? 0 },
        since: new Date(condition.lastTransitionTime ?? Date.now()),
      });
    }
  }

  /** Sets (or with null, clears) the object's `Stored` condition, if that changes anything. */
  report(ref: CheckRef, notice: StoredNotice | null): void {
    const pending = this.wanted.get(ref.uid);
    if (pending ? sameNotice(pending.notice, notice) : sameNotice(this.shown.get(ref.uid)?.notice ?? null, notice)) return;
    this.wanted.set(ref.uid, { ref, notice });
    this.wake?.();
  }

  /** The object is gone: nothing to write on it. */
  forget(uid: string): void {
    this.shown.delete(uid);
    this.wanted.delete(uid);
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const next = this.wanted.entries().next();
      if (next.done) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const [uid, { ref, notice }] = next.value;
      this.wanted.delete(uid);
      try {
        await this.write(ref, notice);
        this.retry.reset();
      } catch (err) {
        if (err instanceof ApiException && (err.code === 404 || err.code === 409)) {
          // Deleted, or replaced by a new object of the same name (the uid precondition failed).
          this.shown.delete(uid);
          continue;
        }
        if (!this.wanted.has(uid)) this.wanted.set(uid, { ref, notice });
        const delay = this.retry.next();
        this.logger.warn({ err: errorText(err), check: `${ref.namespace}/${ref.name}`, retryInMs: delay }, 'cannot write the Stored condition; will retry');
        await pause(delay, signal);
      }
    }
  }

  private async write(ref: CheckRef, notice: StoredNotice | null): Promise<void> {
    const before = this.shown.get(ref.uid);
    const since = before?.notice && notice && before.notice.status === notice.status ? before.since : new Date();
    const conditions = notice
      ? [
          {
            type: STORED_CONDITION,
            status: notice.status,
            reason: notice.reason,
            message: truncateMessage(notice.message),
            observedGeneration: notice.generation,
            lastTransitionTime: since.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          },
        ]
      : [];
    // The apply names only the watcher's condition: fields it owned and no longer
    // names (the condition, on a clear) are removed; other managers' fields stay.
    await this.objects.patchNamespacedCustomObjectStatus(
      {
        group: UPTIME_CHECK.group,
        version: UPTIME_CHECK.version,
        plural: UPTIME_CHECK.plural,
        namespace: ref.namespace,
        name: ref.name,
        fieldManager: FIELD_MANAGERS.watcher,
        force: true,
        body: { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, metadata: { name: ref.name, namespace: ref.namespace, uid: ref.uid }, status: { conditions } },
      },
      APPLY,
    );
    this.shown.set(ref.uid, { notice, since });
    // Every notice is a warning (refused, invalid, or capped): one Event when it starts, none per retry.
    if (notice && before?.notice?.reason !== notice.reason) await this.event(ref, notice);
  }

  /** One Warning Event per object and reason; a failure is logged, never retried (the condition carries the news). */
  private async event(ref: CheckRef, notice: StoredNotice): Promise<void> {
    const now = new Date();
    const name = `${ref.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(randomBytes(2).readUInt16BE())).toString(16)}`;
    try {
      await this.core.createNamespacedEvent({
        namespace: ref.namespace,
        body: {
          metadata: { name, namespace: ref.namespace },
          involvedObject: { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, namespace: ref.namespace, name: ref.name, uid: ref.uid },
          type: 'Warning',
          reason: notice.reason,
          message: truncateMessage(notice.message),
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: 'vigil-watcher' },
          reportingComponent: 'vigil.dev/watcher',
          reportingInstance: this.instance,
        },
      });
    } catch (err) {
      this.logger.warn({ err: errorText(err), check: `${ref.namespace}/${ref.name}`, reason: notice.reason }, 'cannot record an Event');
    }
  }
}

function errorText(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      return `HTTP ${err.code}: ${(JSON.parse(String(err.body)) as { message?: string }).message ?? String(err.body)}`;
    } catch {
      return `HTTP ${err.code}: ${String(err.body)}`;
    }
  }
  return (err as Error).message;
}
