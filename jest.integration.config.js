/** Integration suite: starts real servers and tools (see test/integration/README.md). */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test/integration'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false, tsconfig: 'tsconfig.integration.json' }] },
  testTimeout: 600000,
  maxWorkers: 1,
};
