import { ForbiddenException, Inject, Injectable, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig, type V1UserInfo } from '@kubernetes/client-node';
import { UPTIME_CHECK } from '@vigil/k8s';
import type { Logger } from '@vigil/service-runtime';
import { Counter, type Registry } from 'prom-client';
import { DecisionCache, FailureLimiter, hashKey } from '../auth/decision-cache.js';
import { TooManyRequestsException } from '../common/retry-after.filter.js';
import { KUBE_CONFIG, LOGGER, METRICS_REGISTRY } from '../common/tokens.js';
import { API_CONFIG, type ApiConfig } from '../config/api-config.js';

export type AuthenticatedUser = Required<Pick<V1UserInfo, 'username'>> & V1UserInfo;

type TokenDecision = { user: AuthenticatedUser } | { refused: string };

const BEARER = /^Bearer\s+(\S+)\s*$/i;
/** Bounds of the in-process caches: enough for every operator of a busy cluster, small enough to never matter for memory. */
const CACHE_ENTRIES = 10_000;

/**
 * Authentication and authorisation the Kubernetes way, so that whoever may
 * `get uptimechecks` in a namespace (kubectl, RBAC) may read its delivery
 * logs: the bearer token goes through a TokenReview for audience
 * AUTH_AUDIENCE (so a token minted for the API server or another service is
 * refused), the user it names through a SubjectAccessReview. The api's
 * ServiceAccount needs only `create` on both (system:auth-delegator).
 *
 * Decisions are cached briefly, keyed by a SHA-256 of the token (never the
 * token), and a client whose tokens keep being refused gets 429 before its
 * next new token reaches the API server. An unreachable API server is a 503,
 * never a crash, and is not cached.
 */
@Injectable()
export class KubeAuthService {
  private readonly authentication: AuthenticationV1Api;
  private readonly authorization: AuthorizationV1Api;
  private readonly audience: string;
  private readonly tokens: DecisionCache<TokenDecision>;
  private readonly access: DecisionCache<boolean>;
  private readonly failures: FailureLimiter;
  private readonly decisions: Counter<'step' | 'decision'>;
  private readonly cacheLookups: Counter<'cache' | 'result'>;
  private readonly reviews: Counter<'kind'>;

  constructor(
    @Inject(KUBE_CONFIG) kubeConfig: KubeConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.authentication = kubeConfig.makeApiClient(AuthenticationV1Api);
    this.authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
    this.audience = config.AUTH_AUDIENCE;
    const ttls = { max: CACHE_ENTRIES, positiveTtlMs: config.AUTH_CACHE_TTL, negativeTtlMs: config.AUTH_NEGATIVE_CACHE_TTL };
    this.tokens = new DecisionCache<TokenDecision>({ ...ttls, isPositive: (d) => 'user' in d });
    this.access = new DecisionCache<boolean>({ ...ttls, isPositive: (allowed) => allowed });
    this.failures = new FailureLimiter({ limit: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW, max: CACHE_ENTRIES });
    this.decisions = new Counter({
      name: 'vigil_api_auth_decisions_total',
      help: 'Delivery-log auth decisions: step token (accepted, refused, missing, rate_limited, error) or access (allowed, denied, error)',
      labelNames: ['step', 'decision'],
      registers: [registry],
    });
    this.cacheLookups = new Counter({
      name: 'vigil_api_auth_cache_lookups_total',
      help: 'Lookups in the token and access decision caches, by result (hit, miss)',
      labelNames: ['cache', 'result'],
      registers: [registry],
    });
    this.reviews = new Counter({
      name: 'vigil_api_auth_reviews_total',
      help: 'TokenReviews and SubjectAccessReviews sent to the Kubernetes API server',
      labelNames: ['kind'],
      registers: [registry],
    });
  }

  /**
   * The user behind the `Authorization: Bearer` header. 401 when there is
   * none or it is not accepted for the audience; 429 when `client` (the
   * caller's address) has had too many tokens refused lately.
   */
  async authenticate(authorization: string | undefined, client: string): Promise<AuthenticatedUser> {
    const token = authorization ? BEARER.exec(authorization)?.[1] : undefined;
    if (!token) {
      this.decisions.inc({ step: 'token', decision: 'missing' });
      throw new UnauthorizedException(`send a Kubernetes token for audience "${this.audience}" as "Authorization: Bearer <token>"`);
    }
    const key = hashKey(token);
    const cached = this.tokens.get(key);
    this.cacheLookups.inc({ cache: 'token', result: cached ? 'hit' : 'miss' });
    // An accepted token costs nothing to check again, so it passes even while its client is limited.
    if (cached && 'user' in cached) return this.accepted(cached.user);
    const waitMs = this.failures.blockedForMs(client);
    if (waitMs > 0) {
      this.decisions.inc({ step: 'token', decision: 'rate_limited' });
      throw new TooManyRequestsException('too many refused tokens from this client; try again later', Math.ceil(waitMs / 1000));
    }
    const decision = cached ?? (await this.tokens.decide(key, () => this.reviewToken(token)));
    if ('user' in decision) return this.accepted(decision.user);
    this.failures.recordFailure(client);
    this.decisions.inc({ step: 'token', decision: 'refused' });
    throw new UnauthorizedException(decision.refused);
  }

  /** 403 unless `user` may get the UptimeCheck `name` (any, when omitted) in `namespace`. */
  async authorize(user: AuthenticatedUser, namespace: string, name?: string): Promise<void> {
    const key = hashKey(user.username, user.uid, user.groups, user.extra, namespace, name ?? null);
    const cached = this.access.get(key);
    this.cacheLookups.inc({ cache: 'access', result: cached === undefined ? 'miss' : 'hit' });
    const allowed = cached ?? (await this.access.decide(key, () => this.reviewAccess(user, namespace, name)));
    if (!allowed) {
      this.decisions.inc({ step: 'access', decision: 'denied' });
      const what = name ? `uptimechecks.${UPTIME_CHECK.group} "${name}"` : `uptimechecks.${UPTIME_CHECK.group}`;
      throw new ForbiddenException(`${user.username} may not get ${what} in namespace ${namespace}`);
    }
    this.decisions.inc({ step: 'access', decision: 'allowed' });
  }

  private accepted(user: AuthenticatedUser): AuthenticatedUser {
    this.decisions.inc({ step: 'token', decision: 'accepted' });
    return user;
  }

  private async reviewToken(token: string): Promise<TokenDecision> {
    let review;
    try {
      this.reviews.inc({ kind: 'TokenReview' });
      review = await this.authentication.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [this.audience] } },
      });
    } catch (err) {
      this.decisions.inc({ step: 'token', decision: 'error' });
      this.logger.warn({ err }, 'TokenReview failed');
      throw new ServiceUnavailableException('the Kubernetes API server could not review the token; try again later');
    }
    const status = review.status;
    const hint = `create one with "kubectl create token <serviceaccount> --audience ${this.audience}"`;
    if (!status?.authenticated || !status.user?.username) {
      return { refused: `the Kubernetes API server did not accept the token for audience "${this.audience}"; ${hint}` };
    }
    // An authenticator that ignores audiences answers without them: such a
    // token was not minted for Vigil (it may be anyone's API server token).
    if (!status.audiences?.includes(this.audience)) {
      return { refused: `the token is not bound to audience "${this.audience}"; ${hint}` };
    }
    return { user: { ...status.user, username: status.user.username } };
  }

  private async reviewAccess(user: AuthenticatedUser, namespace: string, name?: string): Promise<boolean> {
    let review;
    try {
      this.reviews.inc({ kind: 'SubjectAccessReview' });
      review = await this.authorization.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            groups: user.groups,
            uid: user.uid,
            extra: user.extra,
            resourceAttributes: { group: UPTIME_CHECK.group, resource: UPTIME_CHECK.plural, verb: 'get', namespace, ...(name ? { name } : {}) },
          },
        },
      });
    } catch (err) {
      this.decisions.inc({ step: 'access', decision: 'error' });
      this.logger.warn({ err }, 'SubjectAccessReview failed');
      throw new ServiceUnavailableException('the Kubernetes API server could not authorise the request; try again later');
    }
    return review.status?.allowed === true;
  }
}
