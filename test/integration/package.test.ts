/**
 * The stack as a package, the way a user gets it: `npm pack` of this repository (which builds it),
 * a user repository written by writeUserRepository in a temporary folder that depends on the
 * tarball, its dependencies installed from the npm registry, then its synth and every `run` step of
 * its own CI workflow. The installed package synthesizes byte for byte what this source tree does.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { defaultEnvironments, synthesizeEnvironments, staleFiles } from '../../lib/environments';
import { ciCommands, writeUserRepository } from '../../lib/template/user-repository';
import { ROOT, requireTool } from './support/tools';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-package-'));
const repo = path.join(work, 'my-potatostack');
const overrides = { domain: 'home.example.org', storage: { nodeName: 'lepotato' } };
let tarball = '';

function sh(command: string, cwd: string) {
  const started = Date.now();
  const run = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { ...run, ms: Date.now() - started };
}

beforeAll(() => {
  requireTool('npm');
  const pack = sh(`npm pack --silent --pack-destination ${work}`, ROOT);
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  tarball = path.join(work, pack.stdout.trim().split('\n').pop()!);
  console.log(`npm pack (with the build): ${pack.ms} ms, ${Math.round(fs.statSync(tarball).size / 1024)} KiB`);
  fs.mkdirSync(repo);
  writeUserRepository(repo, { packageSpec: `file:${tarball}`, overrides });
  const install = sh('npm install --no-audit --no-fund', repo);
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
  console.log(`npm install of the template repository: ${install.ms} ms`);
});

test('the tarball holds the compiled code, its type declarations and the values file it reads at run time, no sources or tests', () => {
  const list = sh(`tar -tzf ${tarball}`, work).stdout.split('\n');
  expect(list).toEqual(expect.arrayContaining(['package/build/index.js', 'package/build/index.d.ts', 'package/build/helm-values/traefik.yaml', 'package/package.json']));
  expect(list.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  expect(list.filter((f) => /^package\/(test|tools|dist)\//.test(f))).toEqual([]);
});

test("the template's synth writes the board and staging output, the same bytes this source tree synthesizes", () => {
  const synth = sh('npm run synth', repo);
  expect([synth.status, synth.stderr]).toEqual([0, '']);
  const reference = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-package-ref-'));
  synthesizeEnvironments(reference, defaultEnvironments(overrides));
  for (const outdir of ['dist', 'staging']) {
    expect(fs.readdirSync(path.join(repo, outdir))).toContain('00-platform.yaml');
    expect([outdir, staleFiles(path.join(reference, outdir), path.join(repo, outdir))]).toEqual([outdir, []]);
  }
});

test('every run step of its CI workflow passes', () => {
  const commands = ciCommands(parse(fs.readFileSync(path.join(repo, '.github/workflows/ci.yml'), 'utf8')));
  expect(commands.length).toBeGreaterThanOrEqual(3);
  for (const command of commands) {
    const run = sh(command, repo);
    console.log(`${command}: exit ${run.status} in ${run.ms} ms`);
    expect([command, run.status, run.stderr]).toEqual([command, 0, run.status === 0 ? run.stderr : '']);
  }
});

test('proof: the CI check fails on a hand-edited output, a typo in the config and a plain Secret', () => {
  fs.appendFileSync(path.join(repo, 'dist', '20-apps.yaml'), '# edited by hand\n');
  const stale = sh('npm run check', repo);
  expect(stale.status).not.toBe(0);
  expect(stale.stderr).toContain('board: dist/ is stale (run npm run synth and commit it): 20-apps.yaml');
  expect(sh('npm run synth', repo).status).toBe(0);

  const config = path.join(repo, 'stack.config.ts');
  const original = fs.readFileSync(config, 'utf8');
  fs.writeFileSync(config, original.replace('"domain"', '"domian"'));
  const typo = sh('npm run typecheck', repo);
  expect(typo.status).not.toBe(0);
  expect(typo.stdout).toContain('domian');
  fs.writeFileSync(config, original);

  writeUserRepository(repo, { packageSpec: `file:${tarball}`, overrides: { ...overrides, gitops: { repository: { url: 'https://git.example.org/me/potato.git' }, flux: { enabled: true } }, profile: 'full', node: { memTotal: '4Gi' } }, force: true });
  expect(sh('npm run synth', repo).status).toBe(0);
  fs.writeFileSync(path.join(repo, 'secrets', 'gitea.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: gitea-db, namespace: data}\nstringData: {password: hunter2}\n');
  const secret = sh('npm run check', repo);
  expect(secret.status).not.toBe(0);
  expect(secret.stderr).toContain('secrets/gitea.yaml (document 1, Secret data/gitea-db): stringData.password is in plain text');
});
