import type { Camelized, ChecksRow, ProbeSpecColumn } from '@vigil/contracts';
import type { ProbeOutcome } from './probe/probe.js';
import type { CheckState, StateCounters } from './state/state-machine.js';

/** What a prober needs of a checks row to probe it and judge the result (the row's columns, camelCased). */
export type CheckSpec = Camelized<Pick<ChecksRow, ProbeSpecColumn>>;

/** A claimed slot: the check, its state as stored, and the slot's due time (ms, database clock). */
export interface ClaimedCheck {
  spec: CheckSpec;
  counters: StateCounters;
  dueAt: number;
}

/** One finished probe, as the batch writer stores it. */
export interface ProbeRecord {
  uid: string;
  generation: number;
  dueAt: number;
  startedAt: number;
  outcome: ProbeOutcome;
  counters: StateCounters;
  nextDueAt: number;
}

/** A state change, written with its outbox rows in one transaction. */
export interface TransitionRecord {
  uid: string;
  namespace: string;
  name: string;
  url: string;
  generation: number;
  from: CheckState;
  to: CheckState;
  at: number;
  code: number;
  latencyMs: number | null;
  reason: string | null;
  message: string | null;
}
