import { ForbiddenException, Inject, Injectable, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig, type V1UserInfo } from '@kubernetes/client-node';
import { UPTIME_CHECK } from '@vigil/k8s';
import type { Logger } from '@vigil/service-runtime';
import { Counter, type Registry } from 'prom-client';
import { KUBE_CONFIG, LOGGER, METRICS_REGISTRY } from '../common/tokens.js';

export type AuthenticatedUser = Required<Pick<V1UserInfo, 'username'>> & V1UserInfo;

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Authentication and authorisation the Kubernetes way, so that whoever may
 * `get uptimechecks` in a namespace (kubectl, RBAC) may read its delivery
 * logs: the bearer token goes through a TokenReview, the user it names through
 * a SubjectAccessReview. The api's ServiceAccount needs only `create` on both
 * (system:auth-delegator). An unreachable API server is a 503, never a crash.
 */
@Injectable()
export class KubeAuthService {
  private readonly authentication: AuthenticationV1Api;
  private readonly authorization: AuthorizationV1Api;
  private readonly reviews: Counter<'outcome'>;

  constructor(
    @Inject(KUBE_CONFIG) kubeConfig: KubeConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.authentication = kubeConfig.makeApiClient(AuthenticationV1Api);
    this.authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
    this.reviews = new Counter({
      name: 'vigil_api_access_reviews_total',
      help: 'Delivery-log requests by outcome of the TokenReview and SubjectAccessReview',
      labelNames: ['outcome'],
      registers: [registry],
    });
  }

  /** The user behind the `Authorization: Bearer` header; 401 when there is none or the API server rejects it. */
  async authenticate(authorization: string | undefined): Promise<AuthenticatedUser> {
    const token = authorization ? BEARER.exec(authorization)?.[1] : undefined;
    if (!token) {
      this.reviews.inc({ outcome: 'unauthenticated' });
      throw new UnauthorizedException('send a Kubernetes token as "Authorization: Bearer <token>"');
    }
    let review;
    try {
      review = await this.authentication.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
    } catch (err) {
      this.reviews.inc({ outcome: 'error' });
      this.logger.warn({ err }, 'TokenReview failed');
      throw new ServiceUnavailableException('the Kubernetes API server could not review the token; try again later');
    }
    const user = review.status?.user;
    if (!review.status?.authenticated || !user?.username) {
      this.reviews.inc({ outcome: 'unauthenticated' });
      throw new UnauthorizedException('the token was not accepted by the Kubernetes API server');
    }
    return { ...user, username: user.username };
  }

  /** 403 unless `user` may get the UptimeCheck `name` (any, when omitted) in `namespace`. */
  async authorize(user: AuthenticatedUser, namespace: string, name?: string): Promise<void> {
    let review;
    try {
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
      this.reviews.inc({ outcome: 'error' });
      this.logger.warn({ err }, 'SubjectAccessReview failed');
      throw new ServiceUnavailableException('the Kubernetes API server could not authorise the request; try again later');
    }
    if (!review.status?.allowed) {
      this.reviews.inc({ outcome: 'denied' });
      const what = name ? `uptimechecks.${UPTIME_CHECK.group} "${name}"` : `uptimechecks.${UPTIME_CHECK.group}`;
      throw new ForbiddenException(`${user.username} may not get ${what} in namespace ${namespace}`);
    }
    this.reviews.inc({ outcome: 'allowed' });
  }
}
