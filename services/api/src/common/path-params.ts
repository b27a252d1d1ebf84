import { NotFoundException, type PipeTransform } from '@nestjs/common';

// A namespace or object name Kubernetes could never have created cannot name a
// check, so it is a 404 before any query (a NUL byte would otherwise reach
// Postgres as an encoding error, a 500).
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DELIVERY_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class KubernetesNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (value.length > 253 || !DNS_SUBDOMAIN.test(value)) throw new NotFoundException(`no published check with a name like ${JSON.stringify(value)}`);
    return value;
  }
}

export function isDeliveryId(value: string): boolean {
  return DELIVERY_ID.test(value);
}
