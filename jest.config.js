/** Unit suite: Node.js only. The integration suite (real servers and tools) is jest.integration.config.js. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/integration/'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
};
