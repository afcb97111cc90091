/**
 * The stack as a package, the way a user gets it: `npm pack` of this repository (which builds it),
 * then `npx ./<tarball> init --new` (what `npx potatostack-k3s@<version> init --new` does) writes the
 * user's repository without a question, its dependencies install from the npm registry, its synth
 * and every `run` step of its own CI workflow pass, and the `potatostack` CLI it installed (the
 * compiled one, no ts-node of its own) runs preflight, secrets, apply and status against the
 * simulated board (control plane with controllers, kwok as the kubelet; see cli-board.test.ts).
 * The installed package synthesizes byte for byte what this source tree does.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { boardNode } from '../../lib/board-node';
import { resolveConfig, type PotatoStackOverrides } from '../../lib/config';
import { secretReferences } from '../../lib/docs';
import { defaultEnvironments, synthesizeEnvironments, staleFiles } from '../../lib/environments';
import { PACKAGE_NAME, ciCommands, writeUserRepository } from '../../lib/template/user-repository';
import { requiredSecrets } from '../../cli/shared/secret-catalog';
import { SimulatedBoard, startBoard, startTraefik } from './support/board';
import { KubeObject, loadManifests, rejection } from './support/kube';
import { ROOT, requireTool } from './support/tools';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-package-'));
const repo = path.join(work, 'my-potatostack');
/** The settings `init --new` gets as flags, and the overrides they must become in stack.config.ts. */
const INIT_FLAGS = [
  ['--domain', 'home.example.org'],
  ['--node-name', 'lepotato'],
  ['--mem-total', '1996800Ki'],
  ['--lan-cidr', '192.168.1.0/24'],
  ['--wireguard-cidr', '10.6.0.0/24'],
  ['--main-path', '/mnt/seconddrive'],
  ['--cache-path', '/mnt/cachehdd'],
  ['--vpn-provider', 'mullvad'],
  ['--traefik-chart', '39'],
].flat();
const overrides: PotatoStackOverrides = {
  domain: 'home.example.org',
  storage: { nodeName: 'lepotato', mainPath: '/mnt/seconddrive', cachePath: '/mnt/cachehdd' },
  node: { memTotal: '1996800Ki' },
  network: { lanCidr: '192.168.1.0/24', wireguardClientCidr: '10.6.0.0/24' },
  vpn: { provider: 'mullvad' },
  ingress: { traefikChart: 39 },
};
let tarball = '';

function sh(command: string, cwd: string) {
  const started = Date.now();
  const run = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { ...run, ms: Date.now() - started };
}

/**
 * The repository's own CLI (`npx potatostack` there resolves node_modules/.bin), in its own process.
 * Asynchronous, so the control plane's and kwok's logs keep draining while a command waits.
 */
function potatostack(args: string[], env: Record<string, string>, cwd = repo): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--no-install', 'potatostack', ...args], { cwd, env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }));
  });
}

const fails = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith('FAIL'));

beforeAll(() => {
  requireTool('npm');
  const pack = sh(`npm pack --silent --pack-destination ${work}`, ROOT);
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  tarball = path.join(work, pack.stdout.trim().split('\n').pop()!);
  console.log(`npm pack (with the build): ${pack.ms} ms, ${Math.round(fs.statSync(tarball).size / 1024)} KiB`);
  const init = sh(`npx --yes ./${path.basename(tarball)} init --new my-potatostack --no-input --no-detect ${INIT_FLAGS.join(' ')} --package-spec file:${tarball}`, work);
  if (init.status !== 0) throw new Error(`npx ... init --new failed:\n${init.stdout}${init.stderr}`);
  console.log(`npx <tarball> init --new (npx installs the package and its dependencies): ${init.ms} ms`);
  const install = sh('npm install --no-audit --no-fund', repo);
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
  console.log(`npm install of the new repository: ${install.ms} ms`);
}, 600000);

afterAll(() => {
  // npx keeps what it installed under <npm cache>/_npx/<hash>: remove this run's copy (about 100 MB).
  const cache = sh('npm config get cache', work).stdout.trim();
  const npxDir = path.join(cache, '_npx');
  for (const entry of fs.existsSync(npxDir) ? fs.readdirSync(npxDir) : []) {
    const manifest = path.join(npxDir, entry, 'package.json');
    if (fs.existsSync(manifest) && fs.readFileSync(manifest, 'utf8').includes(path.basename(work))) fs.rmSync(path.join(npxDir, entry), { recursive: true, force: true });
  }
  // The repository with its node_modules is about 130 MB.
  fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the compiled library and CLI, their type declarations, the CLI launcher and the values file read at run time, no sources or tests', () => {
  const list = sh(`tar -tzf ${tarball}`, work).stdout.split('\n');
  expect(list).toEqual(
    expect.arrayContaining(['package/build/index.js', 'package/build/index.d.ts', 'package/build/cli/main.js', 'package/cli/bin.js', 'package/build/helm-values/traefik.yaml', 'package/package.json']),
  );
  expect(list.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  expect(list.filter((f) => /^package\/(test|tools|dist|scripts)\//.test(f))).toEqual([]);
  const manifest = JSON.parse(sh(`tar -xzOf ${tarball} package/package.json`, work).stdout);
  expect(manifest.bin).toEqual({ potatostack: 'cli/bin.js' });
  // What the CLI imports at run time is installed with it; test and build tools are not.
  expect(Object.keys(manifest.dependencies).sort()).toEqual(['@inquirer/prompts', '@kubernetes/client-node', 'bcryptjs', 'commander', 'selfsigned', 'yaml']);
  expect(manifest.dependencies['@kubernetes/client-node']).toMatch(/^1\.4\./);
});

test('init --new wrote the repository with the settings of its flags, depending on the package', () => {
  expect(fs.readdirSync(repo)).toEqual(expect.arrayContaining(['package.json', 'stack.config.ts', 'main.ts', 'check.ts', '.github', 'node_modules']));
  expect(JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).dependencies).toEqual({ [PACKAGE_NAME]: `file:${tarball}` });
  expect(require(path.join(repo, 'stack.config.ts')).overrides).toEqual(overrides);
  // Never over an existing repository without --force.
  const again = sh(`npx --yes ./${path.basename(tarball)} init --new my-potatostack --no-input --no-detect ${INIT_FLAGS.join(' ')}`, work);
  expect(again.status).toBe(1);
  expect(again.stderr).toMatch(/my-potatostack already has package\.json, tsconfig\.json, stack\.config\.ts, .*; pass --force to overwrite them/);
});

test("the template's synth writes the board and staging output, the same bytes this source tree synthesizes", () => {
  const synth = sh('npm run synth', repo);
  expect([synth.status, synth.stderr]).toEqual([0, '']);
  const reference = fs.mkdtempSync(path.join(work, 'reference-'));
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

describe("the repository's own potatostack CLI", () => {
  const config = resolveConfig(overrides);
  let objects: KubeObject[];
  let board: SimulatedBoard;
  let env: Record<string, string>;
  const envFile = path.join(work, 'secrets.env');

  beforeAll(async () => {
    fs.writeFileSync(envFile, 'WIREGUARD_PRIVATE_KEY=test-key\nWIREGUARD_ADDRESSES=10.14.0.2/16\n');
    objects = loadManifests(path.join(repo, 'dist')).map((m) => m.object);
    const helmChart: KubeObject = { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name: 'x' } };
    board = await startBoard('package CLI', config, [...objects, helmChart], boardNode(config, objects));
    env = { KUBECONFIG: board.plane.kubeconfig };
  }, 300000);

  afterAll(async () => {
    await board?.kwok.stop();
    await board?.plane.stop();
  });

  test('is the compiled CLI of the installed package', () => {
    const bin = fs.realpathSync(path.join(repo, 'node_modules', '.bin', 'potatostack'));
    expect(bin).toBe(fs.realpathSync(path.join(repo, 'node_modules', PACKAGE_NAME, 'cli', 'bin.js')));
    expect(fs.existsSync(path.join(path.dirname(bin), 'main.ts'))).toBe(false);
    expect(fs.existsSync(path.join(repo, 'node_modules', PACKAGE_NAME, 'build', 'cli', 'main.js'))).toBe(true);
  });

  test('secrets --output yaml prints every Secret the repository needs, without a cluster', async () => {
    const run = await potatostack(['secrets', '--output', 'yaml', '--env-file', envFile], { KUBECONFIG: path.join(work, 'no-such-kubeconfig') });
    expect([run.status, run.stderr]).toEqual([0, '']);
    const secrets = parseAllDocuments(run.stdout).map((d) => d.toJS());
    const required = requiredSecrets(config, secretReferences(config, objects));
    expect(secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual(required.map((s) => `${s.namespace}/${s.name}`).sort());
    expect(secrets.find((s) => s.metadata.name === 'vpn-credentials').stringData.WIREGUARD_PRIVATE_KEY).toBe('test-key');
  });

  test('preflight fails one line per failed check: an old k3s, no Traefik, every Secret missing', async () => {
    const node = `/api/v1/nodes/${config.storage.nodeName}`;
    const patched = await board.kube.request('PATCH', `${node}/status`, { status: { nodeInfo: { kubeletVersion: 'v1.31.6+k3s1' } } }, 'application/merge-patch+json');
    if (patched.status !== 200) throw new Error(`kubelet version of the node: ${rejection(patched)}`);
    const run = await potatostack(['preflight', '--no-disk-check'], env);
    console.log(`preflight: ${run.ms} ms`);
    expect(run.status).toBe(1);
    const required = requiredSecrets(config, secretReferences(config, objects)).length;
    expect(fails(run.stdout)).toEqual([
      expect.stringMatching(/^FAIL k3s version: v1\.31\.6\+k3s1 is older than v1\.32\.2\+k3s1/),
      expect.stringMatching(/^FAIL Traefik chart: kube-system has no HelmChart traefik/),
      ...Array(required).fill(expect.stringMatching(/^FAIL Secrets: Secret \S+ is missing .*: run npx potatostack secrets$/)),
    ]);
    // What matches: the output is what the repository's stack.config.ts synthesizes, and the board is the one it describes.
    expect(run.stdout).toMatch(/^ok {3}dist\/: matches stack\.config\.ts$/m);
    expect(run.stdout).toMatch(/^ok {3}memory: 1950 MiB MemTotal; the budget counts node\.memTotal 1950 MiB$/m);
    expect(run.stdout).toMatch(/^ok {3}LAN range: 192\.168\.1\.\d+ is in 192\.168\.1\.0\/24$/m);
    expect(run.stdout).toMatch(/^preflight failed: \d+ check\(s\)$/m);
  });

  test('after k3s is current, Traefik present and secrets run, preflight passes; apply rolls the stack out and status finds it healthy', async () => {
    const node = `/api/v1/nodes/${config.storage.nodeName}`;
    await board.kube.request('PATCH', `${node}/status`, { status: { nodeInfo: { kubeletVersion: 'v1.33.4+k3s1' } } }, 'application/merge-patch+json');
    const helmChart = await board.kube.create({
      apiVersion: 'helm.cattle.io/v1',
      kind: 'HelmChart',
      metadata: { name: 'traefik', namespace: 'kube-system' },
      spec: { chart: 'https://%{KUBERNETES_API}%/static/charts/traefik-39.0.701+up39.0.7.tgz' },
    } as KubeObject);
    if (helmChart.status !== 201) throw new Error(`HelmChart traefik: ${rejection(helmChart)}`);

    const secrets = await potatostack(['secrets', '--env-file', envFile], env);
    expect([secrets.status, secrets.stderr]).toEqual([0, '']);
    expect(secrets.stdout).toMatch(/^created Secret vpn\/vpn-credentials \(WIREGUARD_ADDRESSES, WIREGUARD_PRIVATE_KEY\)$/m);

    const preflight = await potatostack(['preflight', '--no-disk-check'], env);
    expect(fails(preflight.stdout)).toEqual([]);
    expect(preflight.stdout).toMatch(/^ok {3}Traefik chart: /m);
    expect(preflight.stdout).toMatch(/^preflight passed$/m);
    expect(preflight.status).toBe(0);

    const apply = await potatostack(['apply', '--timeout', '5m'], env);
    console.log(`apply with rollout wait on the simulated board: ${apply.ms} ms`);
    expect([apply.status, apply.stderr]).toEqual([0, '']);
    expect(apply.stdout).toMatch(/^ {2}Deployment apps\/nextcloud: 1\/1 ready, rolled out$/m);
    expect(apply.stdout).toMatch(/^every workload rolled out$/m);

    await startTraefik(board.kube, boardNode(config, objects));
    const status = await potatostack(['status'], env);
    expect(fails(status.stdout)).toEqual([]);
    expect(status.stdout).toMatch(/^ {5}apps\/nextcloud: 1\/1 ready, restarts 0, claims nextcloud-data Bound$/m);
    expect(status.status).toBe(0);
  });

  test('proof: a missing kubeconfig, a repository not installed, a project without ts-node and another installed version each get an error that names the fix', async () => {
    const noConfig = await potatostack(['preflight'], { KUBECONFIG: path.join(work, 'no-such-kubeconfig') });
    expect(noConfig.status).toBe(1);
    expect(noConfig.stderr).toMatch(/^cannot read the kubeconfig \(ENOENT[^\n]*\): set KUBECONFIG .* or pass --kubeconfig\n$/);

    const notInstalled = path.join(work, 'not-installed');
    fs.mkdirSync(notInstalled);
    for (const file of ['package.json', 'stack.config.ts']) fs.copyFileSync(path.join(repo, file), path.join(notInstalled, file));
    const run = await potatostack(['secrets', '--output', 'yaml', '--dir', notInstalled], {});
    expect([run.status, run.stderr]).toEqual([1, `${PACKAGE_NAME} is not installed in ${notInstalled}: run \`npm ci\` there first\n`]);

    const bare = path.join(work, 'bare');
    fs.mkdirSync(bare);
    fs.copyFileSync(path.join(repo, 'stack.config.ts'), path.join(bare, 'stack.config.ts'));
    const noLoader = await potatostack(['secrets', '--output', 'yaml', '--dir', bare], {});
    expect(noLoader.status).toBe(1);
    expect(noLoader.stderr).toContain(`${path.join(bare, 'stack.config.ts')} is TypeScript, and loading it needs ts-node and typescript in ${bare}: run \`npm ci\` there`);

    const other = path.join(work, 'other-version');
    fs.mkdirSync(path.join(other, 'node_modules', PACKAGE_NAME), { recursive: true });
    fs.copyFileSync(path.join(repo, 'package.json'), path.join(other, 'package.json'));
    fs.writeFileSync(path.join(other, 'node_modules', PACKAGE_NAME, 'package.json'), JSON.stringify({ name: PACKAGE_NAME, version: '0.0.1' }));
    const mismatch = await potatostack(['secrets', '--output', 'yaml', '--dir', other], {});
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toMatch(/^this potatostack CLI is potatostack-k3s \S+, but \S+other-version installed 0\.0\.1: run the repository's own CLI there/);
  });
});

test("init in the repository updates its stack.config.ts with the package's type import, other settings kept", async () => {
  const config = path.join(repo, 'stack.config.ts');
  const original = fs.readFileSync(config, 'utf8');
  const refused = await potatostack(['init', '--no-input', '--no-detect', '--domain', 'new.example.org'], {});
  expect(refused.status).toBe(1);
  expect(refused.stderr).toMatch(/stack\.config\.ts already has overrides; pass --force/);
  const run = await potatostack(['init', '--no-input', '--no-detect', '--force', '--domain', 'new.example.org'], {});
  expect([run.status, run.stderr]).toEqual([0, '']);
  expect(run.stdout).toMatch(/^storage\.nodeName: "lepotato" \(stack\.config\.ts\)$/m);
  expect(fs.readFileSync(path.join(repo, 'stack.config.ts.bak'), 'utf8')).toBe(original);
  expect(fs.readFileSync(config, 'utf8')).toBe(original.replace("domain: 'home.example.org'", "domain: 'new.example.org'"));
  fs.renameSync(path.join(repo, 'stack.config.ts.bak'), config);
});

test('proof: the CI check fails on a hand-edited output, a typo in the config and a plain Secret', () => {
  fs.appendFileSync(path.join(repo, 'dist', '20-apps.yaml'), '# edited by hand\n');
  const stale = sh('npm run check', repo);
  expect(stale.status).not.toBe(0);
  expect(stale.stderr).toContain('board: dist/ is stale (run npm run synth and commit it): 20-apps.yaml');
  expect(sh('npm run synth', repo).status).toBe(0);

  const config = path.join(repo, 'stack.config.ts');
  const original = fs.readFileSync(config, 'utf8');
  expect(original).toContain("  domain: 'home.example.org',\n");
  fs.writeFileSync(config, original.replace("  domain: 'home.example.org',\n", "  domian: 'home.example.org',\n"));
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
