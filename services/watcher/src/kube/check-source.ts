import { ApiException, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@vigil/service-runtime';
import { UPTIME_CHECK, type UptimeCheck, type UptimeCheckList } from '@vigil/k8s';
import { Backoff, pause } from '@vigil/db';
import type { Scope } from '../checks/check-store.js';
import type { WatcherMetrics } from '../metrics.js';

export interface CheckSink {
  replace(scope: Scope, checks: readonly UptimeCheck[]): void;
  upsert(check: UptimeCheck): void;
  remove(check: UptimeCheck): void;
}

/** The API server refused a request for lack of RBAC; carries what was refused. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
  constructor(readonly permission: string) {
    super(`forbidden: the service account may not ${permission}`);
  }
}

type WatchEnd = { reason: 'closed' | 'gone' | 'aborted'; events: number } | { reason: 'error'; events: number; error: Error };

const PAGE_SIZE = 500;
// The server ends each watch after a random 5-10 minutes (as client-go asks), which
// spreads reconnects out; the client-side inactivity limit is set beyond it.
const WATCH_MIN_SECONDS = 300;
const WATCH_MAX_SECONDS = 600;
// A watch that ends this soon without delivering anything counts as a failure, so
// a server that keeps closing watches at once is retried with backoff, not in a tight loop.
const SHORT_WATCH_MS = 1000;

/**
 * Lists and then watches the UptimeChecks of one scope (a namespace, or all),
 * from the list's resourceVersion, with bookmarks so a quiet watch still moves
 * its resourceVersion forward. A watch that ends normally resumes from the last
 * resourceVersion seen; 410 Gone (that version was compacted away) means a
 * fresh full list. Errors are retried with backoff and jitter, forever.
 */
export class CheckSource {
  private readonly objects: CustomObjectsApi;
  private readonly watch: Watch;
  private readonly backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
  private readonly scopeText: string;

  constructor(
    kubeConfig: KubeConfig,
    private readonly scope: Scope,
    private readonly sink: CheckSink,
    private readonly logger: Logger,
    private readonly metrics: WatcherMetrics,
    /** Called with the missing permission on 403, and with undefined once requests succeed again. */
    private readonly onForbidden: (permission: string | undefined) => void,
  ) {
    this.objects = kubeConfig.makeApiClient(CustomObjectsApi);
    this.watch = new Watch(kubeConfig);
    // client-node ends a watch after 30 s without data, but a quiet watch (no
    // bookmarks when the watch cache is off) legitimately waits for the server's
    // timeoutSeconds; the option is not public in 2.0.1's typings.
    (this.watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = (WATCH_MAX_SECONDS + 60) * 1000;
    this.scopeText = scope === null ? 'all namespaces' : `namespace ${scope}`;
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let resourceVersion = '';
    let relistReason: 'start' | 'gone' | 'error' = 'start';
    while (!signal.aborted) {
      try {
        if (!resourceVersion) {
          const started = Date.now();
          const list = await this.listAll(signal);
          if (signal.aborted) return;
          this.metrics.relists.inc({ reason: relistReason });
          this.metrics.relistDuration.observe((Date.now() - started) / 1000);
          this.logger.info({ scope: this.scopeText, checks: list.items.length, reason: relistReason, ms: Date.now() - started }, 'listed UptimeChecks');
          this.sink.replace(this.scope, list.items);
          resourceVersion = list.resourceVersion;
          this.onForbidden(undefined);
        }
        const started = Date.now();
        const end = await this.watchFrom(resourceVersion, (rv) => (resourceVersion = rv), signal);
        if (end.reason === 'aborted') return;
        this.onForbidden(undefined);
        this.metrics.watchRestarts.inc({ reason: end.reason });
        if (end.reason === 'gone') {
          this.logger.warn({ scope: this.scopeText, resourceVersion }, 'watch expired (410 Gone): relisting');
          resourceVersion = '';
          relistReason = 'gone';
        } else if (end.reason === 'error') {
          throw end.error;
        }
        if (end.events === 0 && Date.now() - started < SHORT_WATCH_MS) await this.backoff.wait(signal);
        else this.backoff.reset();
      } catch (err) {
        if (signal.aborted) return;
        const delay = this.backoff.next();
        if (err instanceof ForbiddenError) {
          this.onForbidden(err.permission);
          this.logger.error({ scope: this.scopeText, missingPermission: err.permission, retryInMs: delay }, `missing permission: ${err.permission}`);
        } else {
          this.logger.warn({ err, scope: this.scopeText, retryInMs: delay }, 'listing or watching UptimeChecks failed; will retry');
        }
        if (!resourceVersion) relistReason = 'error';
        this.metrics.watchRestarts.inc({ reason: 'error' });
        await pause(delay, signal);
      }
    }
  }

  /** Every object of the scope, page by page, and the resourceVersion to watch from. */
  private async listAll(signal: AbortSignal): Promise<{ items: UptimeCheck[]; resourceVersion: string }> {
    const items: UptimeCheck[] = [];
    let continueToken: string | undefined;
    do {
      const common = { group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, plural: UPTIME_CHECK.plural, limit: PAGE_SIZE, _continue: continueToken };
      let page: UptimeCheckList;
      try {
        page = (this.scope === null
          ? await this.objects.listClusterCustomObject(common)
          : await this.objects.listNamespacedCustomObject({ ...common, namespace: this.scope })) as UptimeCheckList;
      } catch (err) {
        if (err instanceof ApiException && err.code === 403) throw new ForbiddenError(`list ${UPTIME_CHECK.plural}.${UPTIME_CHECK.group} in ${this.scopeText}`);
        throw err;
      }
      items.push(...page.items);
      continueToken = page.metadata.continue || undefined;
      if (!continueToken) return { items, resourceVersion: page.metadata.resourceVersion ?? '' };
    } while (!signal.aborted);
    return { items, resourceVersion: '' };
  }

  private watchFrom(resourceVersion: string, onVersion: (rv: string) => void, signal: AbortSignal): Promise<WatchEnd> {
    const path =
      this.scope === null
        ? `/apis/${UPTIME_CHECK.group}/${UPTIME_CHECK.version}/${UPTIME_CHECK.plural}`
        : `/apis/${UPTIME_CHECK.group}/${UPTIME_CHECK.version}/namespaces/${encodeURIComponent(this.scope)}/${UPTIME_CHECK.plural}`;
    const timeoutSeconds = WATCH_MIN_SECONDS + Math.floor(Math.random() * (WATCH_MAX_SECONDS - WATCH_MIN_SECONDS));
    return new Promise<WatchEnd>((resolve) => {
      let events = 0;
      let gone = false;
      let eventError: Error | undefined;
      let controller: AbortController | undefined;
      const onAbort = () => controller?.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return resolve({ reason: 'aborted', events });
        if (gone) return resolve({ reason: 'gone', events });
        const status = (err as { statusCode?: number } | null)?.statusCode;
        if (status === 410) return resolve({ reason: 'gone', events });
        if (status === 403) {
          return resolve({ reason: 'error', events, error: new ForbiddenError(`watch ${UPTIME_CHECK.plural}.${UPTIME_CHECK.group} in ${this.scopeText}`) });
        }
        if (eventError) return resolve({ reason: 'error', events, error: eventError });
        // The client-side inactivity limit: resume from the last version, like a server-side close.
        if ((err as Error | null)?.name === 'TimeoutError') return resolve({ reason: 'closed', events });
        if (err) return resolve({ reason: 'error', events, error: err instanceof Error ? err : new Error(String(err)) });
        resolve({ reason: 'closed', events });
      };
      const onEvent = (type: string, object: UptimeCheck & { code?: number; message?: string }) => {
        if (type === 'ERROR') {
          // A Status object; the server closes the stream after it.
          if (object.code === 410) gone = true;
          else eventError = new Error(`watch error from the API server: ${object.code ?? '?'} ${object.message ?? ''}`.trim());
          return;
        }
        events++;
        const rv = object.metadata?.resourceVersion;
        if (type === 'ADDED' || type === 'MODIFIED') this.sink.upsert(object);
        else if (type === 'DELETED') this.sink.remove(object);
        if (rv) onVersion(rv);
      };
      this.watch
        .watch(path, { resourceVersion, allowWatchBookmarks: true, timeoutSeconds }, onEvent, done)
        .then((c) => {
          controller = c;
          if (signal.aborted) c.abort();
        })
        .catch(done);
    });
  }
}
