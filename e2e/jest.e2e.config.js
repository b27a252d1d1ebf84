import { jestConfig } from '../jest.preset.js';

export default jestConfig({ displayName: 'e2e', suite: 'e2e' });
