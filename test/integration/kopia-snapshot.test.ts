import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { BACKUP_IDENTITIES, CACHE_SUBPATHS, snapshotIgnoreRules } from '../../lib/apps/backup/jobs';
import { REPOSITORY_MARKER } from '../../lib/apps/backup/scripts';
import { distConfigMapData, distContainer } from './support/dist';
import { prepareContainer } from './support/pod';
import { requireTool } from './support/tools';

/**
 * The snapshot step of the kopia-snapshot CronJob against a real kopia (the catalog's version,
 * built by scripts/setup-integration.sh into tools/bin), exactly as dist/ defines it (script,
 * environment, root with DAC_OVERRIDE only, read-only sources): a folder laid out like the main
 * disk, the repository created the way the server creates it. The whole nightly pod, dumps
 * included, runs in backup-drill.test.ts.
 */
const PASSWORD = 'integration-test-password';
const config = resolveConfig();

let KOPIA: string;
let work: string;
let disk: string;
let dirs: Record<string, string>;

beforeAll(() => {
  KOPIA = requireTool('kopia', 'KOPIA_BIN');
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kopia-snapshot-'));
  fs.chmodSync(work, 0o755);
  disk = path.join(work, 'seconddrive');
  // The main disk as prepare-storage.sh lays it out: the apps' folders and Kopia's own.
  for (const dir of ['nextcloud/data/alice', 'gitea/repos', 'kopia/repository', `kopia/cache/${CACHE_SUBPATHS.snapshot}`, 'databases/mariadb', 'backups/databases']) fs.mkdirSync(path.join(disk, dir), { recursive: true });
  fs.writeFileSync(path.join(disk, 'nextcloud/data/alice/notes.txt'), 'hello from nextcloud\n');
  fs.writeFileSync(path.join(disk, 'gitea/repos/app.git'), 'a repository\n');
  fs.writeFileSync(path.join(disk, 'databases/mariadb/ibdata1'), 'live database file\n');
  fs.writeFileSync(path.join(disk, 'backups/databases/nextcloud-mariadb-20261130T013000Z.sql'), '-- Dump completed\n');
  const scripts = path.join(work, 'scripts');
  fs.mkdirSync(scripts);
  fs.writeFileSync(path.join(scripts, 'snapshot.sh'), distConfigMapData('apps', 'kopia-scripts', 'snapshot.sh'), { mode: 0o555 });
  dirs = { repository: path.join(disk, 'kopia/repository'), cache: path.join(disk, 'kopia/cache'), sources: disk, scripts };
  for (const name of ['config', 'logs', 'tmp']) dirs[name] = fs.mkdtempSync(path.join(work, `${name}-`));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs the snapshot container of dist/ (optionally changed, to show what a missing capability does). */
function runSnapshot(options: { password?: string; change?: (container: any) => void } = {}): { status: number | null; output: string } {
  const container = structuredClone(distContainer('CronJob', 'apps', 'kopia-snapshot', 'kopia-snapshot'));
  options.change?.(container);
  for (const name of ['config', 'logs', 'tmp']) dirs[name] = fs.mkdtempSync(path.join(work, `${name}-`));
  const prepared = prepareContainer(container, { volumes: dirs, secrets: { 'kopia/repository-password': options.password ?? PASSWORD }, path: [path.dirname(KOPIA)] });
  const result = spawnSync(prepared.command, prepared.args, { encoding: 'utf8', env: prepared.env });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** kopia as a client of our own (the server's connection, or an inspector). */
function kopia(args: string[], configDir: string): string {
  const env = { PATH: `${path.dirname(KOPIA)}:/usr/bin:/bin`, HOME: work, KOPIA_PASSWORD: PASSWORD, KOPIA_CONFIG_PATH: path.join(configDir, 'repository.config'), KOPIA_LOG_DIR: path.join(configDir, 'logs'), KOPIA_CHECK_FOR_UPDATES: 'false' };
  const result = spawnSync(KOPIA, args, { encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`kopia ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

function createRepositoryAsServer(): string {
  const serverConfig = fs.mkdtempSync(path.join(work, 'server-config-'));
  const { hostname, username } = BACKUP_IDENTITIES.server;
  kopia(['repository', 'create', 'filesystem', `--path=${dirs.repository}`, `--cache-directory=${path.join(disk, 'kopia/cache')}`, `--override-hostname=${hostname}`, `--override-username=${username}`], serverConfig);
  return serverConfig;
}

const source = () => `${BACKUP_IDENTITIES.snapshot.username}@${BACKUP_IDENTITIES.snapshot.hostname}:${disk}`;

/** Every path in the latest snapshot of the job's source. */
function snapshotEntries(serverConfig: string): string[] {
  const snapshots = JSON.parse(kopia(['snapshot', 'list', source(), '--json'], serverConfig)) as { rootEntry: { obj: string } }[];
  expect(snapshots.length).toBeGreaterThan(0);
  // `kopia ls -r <root>` prefixes every path with the root object's ID.
  return kopia(['ls', '-r', snapshots[snapshots.length - 1].rootEntry.obj], serverConfig)
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(line.indexOf('/') + 1));
}

/** The ignore rules of the source's policy, as `kopia policy show` lists them. */
function ignoreRules(serverConfig: string): string[] {
  const policy = kopia(['policy', 'show', source(), '--json'], serverConfig);
  return (JSON.parse(policy).files?.ignore ?? []) as string[];
}

test('refuses an empty repository folder: exits non-zero with a clear message and creates nothing', () => {
  const result = runSnapshot();
  expect(result.status).not.toBe(0);
  expect(result.output).toContain(`${REPOSITORY_MARKER} is missing`);
  expect(fs.readdirSync(dirs.repository)).toEqual([]);
});

test('refuses a folder with files but no repository, leaving the files alone', () => {
  fs.writeFileSync(path.join(dirs.repository, 'leftover'), 'not a repository');
  const result = runSnapshot();
  expect(result.status).not.toBe(0);
  expect(fs.readdirSync(dirs.repository)).toEqual(['leftover']);
});

test("snapshots the apps' folders and the dumps under the job's own identity, never Kopia's folders or live databases, and re-runs cleanly", () => {
  const serverConfig = createRepositoryAsServer();
  const first = runSnapshot();
  expect([first.status, first.output]).toEqual([0, expect.stringContaining('Created snapshot')]);
  const entries = snapshotEntries(serverConfig);
  expect(entries).toEqual(expect.arrayContaining(['nextcloud/data/alice/notes.txt', 'gitea/repos/app.git', 'backups/databases/nextcloud-mariadb-20261130T013000Z.sql']));
  expect(entries.filter((e) => /^(kopia|databases)\/./.test(e))).toEqual([]);

  // The nightly re-run: the rules stay exactly the generated list, the snapshot succeeds again.
  const second = runSnapshot();
  expect(second.status).toBe(0);
  expect(ignoreRules(serverConfig).sort()).toEqual(snapshotIgnoreRules(config).sort());
  // Maintenance stays with the server's identity, which created the repository (the maintenance job takes it over).
  expect(kopia(['maintenance', 'info'], serverConfig)).toContain(`Owner: ${BACKUP_IDENTITIES.server.username}@${BACKUP_IDENTITIES.server.hostname}`);
});

test('a rule added by hand (or dropped from kopia.ignore) does not survive the next run', () => {
  const serverConfig = createRepositoryAsServer();
  expect(runSnapshot().status).toBe(0);
  kopia(['policy', 'set', source(), '--add-ignore=/gitea/'], serverConfig);
  expect(ignoreRules(serverConfig)).toContain('/gitea/');
  expect(runSnapshot().status).toBe(0);
  expect(ignoreRules(serverConfig)).not.toContain('/gitea/');
  expect(snapshotEntries(serverConfig)).toContain('gitea/repos/app.git');
});

test('fails (non-zero) with a wrong repository password', () => {
  createRepositoryAsServer();
  const result = runSnapshot({ password: 'not-the-password' });
  expect(result.status).not.toBe(0);
  expect(result.output).toMatch(/invalid repository password|password/i);
});

test('fails (non-zero) when a file cannot be read, so the Job is counted as failed', () => {
  const serverConfig = createRepositoryAsServer();
  // Another app's private file: only DAC_OVERRIDE lets root read it.
  fs.writeFileSync(path.join(disk, 'nextcloud/data/alice/secret.txt'), 'private\n', { mode: 0o600 });
  fs.chownSync(path.join(disk, 'nextcloud/data/alice/secret.txt'), 33, 33);
  fs.chmodSync(path.join(disk, 'nextcloud/data/alice'), 0o700);
  fs.chownSync(path.join(disk, 'nextcloud/data/alice'), 33, 33);
  const without = runSnapshot({ change: (c) => (c.securityContext.capabilities.add = []) });
  expect(without.status).not.toBe(0);
  expect(without.output).toMatch(/fatal error|permission denied/i);
  // The container as dist/ has it (DAC_OVERRIDE) reads it.
  expect(runSnapshot().status).toBe(0);
  expect(snapshotEntries(serverConfig)).toContain('nextcloud/data/alice/secret.txt');
});
