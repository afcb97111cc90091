import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../lib/config';
import { STAGING_OUTDIR, checkEnvironments, defaultEnvironments, plaintextSecrets, stagingOverrides, staleFiles, synthesizeEnvironments } from '../lib/environments';
import { environments } from '../main';

const ROOT = path.join(__dirname, '..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'potato-env-'));

test("this repository's committed dist/ and staging/ are what main.ts synthesizes, within budget", () => {
  expect(environments().map((e) => [e.name, e.outdir])).toEqual([
    ['board', 'dist'],
    ['staging', STAGING_OUTDIR],
  ]);
  expect(checkEnvironments(ROOT, environments()).problems).toEqual([]);
});

test('staging: same components and sizes as the board, small paths, short retention, its own output folder and names', () => {
  const board = resolveConfig({ domain: 'home.example.org' });
  const staging = resolveConfig(stagingOverrides({ domain: 'home.example.org' }));
  expect(staging.components).toEqual(board.components);
  expect(staging.node).toEqual(board.node);
  expect(staging.storage.mainPath).toBe('/var/lib/potatostack-staging/main');
  expect(staging.monitoring.lokiRetention).toBe('24h');
  expect(staging.monitoring.prometheus.retentionTime).toBe('7d');
  expect(staging.domain).toBe('staging.home.example.org');
  expect(staging.gitops.repository.path).toBe(STAGING_OUTDIR);
});

test('the check fails on a stale output, naming the environment and the file', () => {
  const root = tmp();
  const envs = defaultEnvironments({});
  synthesizeEnvironments(root, envs);
  expect(checkEnvironments(root, envs).problems).toEqual([]);
  fs.appendFileSync(path.join(root, STAGING_OUTDIR, '20-apps.yaml'), '# edited by hand\n');
  fs.rmSync(path.join(root, 'dist', '10-data.yaml'));
  expect(checkEnvironments(root, envs).problems).toEqual([
    'board: dist/ is stale (run npm run synth and commit it): 10-data.yaml',
    'staging: staging/ is stale (run npm run synth and commit it): 20-apps.yaml',
  ]);
  expect(staleFiles(path.join(root, 'dist'), path.join(root, STAGING_OUTDIR))).not.toEqual([]);
});

test('the check fails when Flux would read another folder than the environment writes, and on a config error', () => {
  const root = tmp();
  const overrides = { profile: 'full' as const, node: { memTotal: '4Gi' }, gitops: { repository: { url: 'https://git.example.org/p.git' }, flux: { enabled: true } } };
  const envs = [{ name: 'board', outdir: 'out/board', config: resolveConfig(overrides) }];
  synthesizeEnvironments(root, envs);
  expect(checkEnvironments(root, envs).problems).toEqual([
    "board: gitops.repository.path is 'dist' but this environment writes 'out/board': Flux and ArgoCD would read the wrong folder",
  ]);
  const overBudget = [{ name: 'board', outdir: 'dist', config: resolveConfig({ profile: 'full' }) }];
  expect(checkEnvironments(root, overBudget).problems[0]).toMatch(/^board: memory budget exceeded/);
});

test('plain Secrets in the Flux secrets folder are found; SOPS-encrypted ones pass', () => {
  const dir = tmp();
  fs.writeFileSync(
    path.join(dir, 'apps.yaml'),
    [
      'apiVersion: v1\nkind: Secret\nmetadata: {name: gitea, namespace: apps}\nstringData: {password: hunter2}\n',
      'apiVersion: v1\nkind: Secret\nmetadata: {name: kopia, namespace: apps}\ndata:\n  password: ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]\nsops:\n  age: []\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {a: b}\n',
    ].join('---\n'),
  );
  expect(plaintextSecrets(dir)).toEqual([
    'apps.yaml (document 1, Secret apps/gitea): not encrypted with sops (no sops metadata)',
    'apps.yaml (document 1, Secret apps/gitea): stringData.password is in plain text',
  ]);
  expect(plaintextSecrets(path.join(dir, 'missing'))).toEqual([]);
});
