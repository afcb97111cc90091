import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../lib/config';
import { generatedSections, renderReadme, secretReferences } from '../lib/docs';
import { buildApp, manifestsOf } from '../lib/stack';
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

test.each([
  ['default', {}],
  ['nginx-proxy-manager mode', { ingress: { mode: 'nginx-proxy-manager' as const } }],
])('every Secret the %s stack reads has a kubectl create command in the README', (_name, variant) => {
  const config = resolveConfig({ ...overrides, ...variant });
  const refs = secretReferences(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
  expect(refs.length).toBeGreaterThan(5);
  const commands = readme.split('\n').filter((line) => /kubectl .*create secret/.test(line));
  for (const ref of refs) {
    const made = commands.some((line) => new RegExp(`create secret \\w+ ${ref.name}\\b`).test(line) && new RegExp(`-n ${ref.namespace}\\b`).test(line));
    expect([`${ref.namespace}/${ref.name}`, made]).toEqual([`${ref.namespace}/${ref.name}`, true]);
  }
});
