import type { Socket } from 'node:net';
import { buildConnector } from 'undici';
import { ipLiteral } from './address.js';
import { BlockedAddressError } from './errors.js';
import { guardedLookup, type HostResolver } from './lookup.js';
import type { AddressPolicy } from './policy.js';

export type GuardedConnectorOptions = buildConnector.BuildOptions & {
  resolver?: HostResolver;
  /** Called with each socket as it is created, before it connects (to time its phases, for example). */
  onSocket?: (socket: Socket) => void;
};

/**
 * An undici `connect` function (`new Agent({ connect: guardedConnector(policy) })`)
 * that refuses blocked IP literals before any packet is sent and resolves
 * names through `guardedLookup`. Every connection the dispatcher opens goes
 * through it, so each redirect hop is checked too.
 */
export function guardedConnector(policy: AddressPolicy, options: GuardedConnectorOptions = {}): buildConnector.connector {
  const { resolver, onSocket, ...connectOptions } = options;
  const connect = buildConnector({ ...connectOptions, lookup: guardedLookup(policy, resolver) } as buildConnector.BuildOptions) as (
    opts: buildConnector.Options,
    callback: buildConnector.Callback,
  ) => Socket;
  return (opts, callback) => {
    const literal = ipLiteral(opts.hostname);
    if (literal !== undefined && policy.isBlocked(literal)) {
      queueMicrotask(() => callback(new BlockedAddressError(literal, opts.hostname), null));
      return;
    }
    const socket = connect(opts, callback);
    onSocket?.(socket);
  };
}
