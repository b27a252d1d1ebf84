// The chart's values schema and the CRD spell durations with the one grammar
// of @vigil/config: their patterns are compared with it here, so a unit added
// to (or dropped from) the services' parser fails until both follow.
import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1JSONSchemaProps } from '@kubernetes/client-node';
import { CRD_DURATION_PATTERN, DURATION_LIST_PATTERN, DURATION_PATTERN } from '@vigil/config';
import { WORKSPACE_ROOT } from '@vigil/testing';
import { loadUptimeCheckCrd } from './crd.js';

interface SchemaNode {
  pattern?: string;
  properties?: Record<string, SchemaNode>;
  $defs?: Record<string, SchemaNode>;
}

async function valuesSchema(): Promise<SchemaNode> {
  return JSON.parse(await readFile(join(WORKSPACE_ROOT, 'charts/vigil/values.schema.json'), 'utf8')) as SchemaNode;
}

describe('the duration grammar', () => {
  it("is the chart's duration pattern (empty keeps the service default)", async () => {
    expect((await valuesSchema()).$defs!['duration']!.pattern).toBe(`^$|${DURATION_PATTERN}`);
  });

  it("is the chart's retry-schedule pattern, as a comma list", async () => {
    expect((await valuesSchema()).properties!['alerter']!.properties!['webhookRetrySchedule']!.pattern).toBe(`^$|${DURATION_LIST_PATTERN}`);
  });

  it("without days is the CRD's interval and timeout pattern", async () => {
    const spec = (await loadUptimeCheckCrd()).spec.versions[0]!.schema!.openAPIV3Schema!.properties!['spec']!.properties as Record<string, V1JSONSchemaProps>;
    expect(spec['interval']!.pattern).toBe(CRD_DURATION_PATTERN);
    expect(spec['timeout']!.pattern).toBe(CRD_DURATION_PATTERN);
  });
});
