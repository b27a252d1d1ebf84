import { jestConfig } from '../jest.preset.js';

// The real-node suite (src/node/*.node-spec.ts): Vigil's chart installed on the
// local node (make cluster-up build) by `make deploy`. Run by `make test-node`,
// which brings the node up first and always takes it down after.
const base = jestConfig({ displayName: 'e2e', suite: 'e2e' });
export default {
  ...base,
  displayName: 'e2e:node',
  reporters: ['default', [base.reporters[1][0], { name: 'e2e:node' }]],
  testMatch: ['<rootDir>/src/node/**/*.node-spec.ts'],
  testTimeout: 300_000,
};
