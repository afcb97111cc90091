import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../lib/config';
import { generatedSections, renderReadme } from '../lib/docs';
import { overrides } from '../stack.config';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

test('generated README sections are current (run `npm run docs`)', () => {
  expect(readme).toBe(renderReadme(readme, generatedSections(resolveConfig(overrides))));
});

test('README names the install, synth and both test commands that CI runs', () => {
  const ci = fs.readFileSync(path.join(__dirname, '..', '.ci', 'run'), 'utf8');
  for (const command of ['npm ci', 'npm run synth', 'npm test', 'npm run test:integration', 'scripts/setup-integration.sh']) {
    expect([command, readme.includes(command)]).toEqual([command, true]);
  }
  for (const command of ['npm test', 'npm run test:integration', 'scripts/setup-integration.sh']) expect([command, ci.includes(command)]).toEqual([command, true]);
});

test('renderReadme refuses a README without the markers', () => {
  expect(() => renderReadme('# nothing', { budget: 'x' })).toThrow(/no <!-- budget:start -->/);
});
