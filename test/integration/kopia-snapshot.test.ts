import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KOPIA_IDENTITY, KOPIA_SNAPSHOT_CACHE_SUBPATH, KOPIA_SNAPSHOT_IDENTITY, REPOSITORY_MARKER, renderSnapshotScript, snapshotIgnoreRules } from '../../lib/apps/kopia';
import { requireTool } from './support/tools';

/**
 * The snapshot CronJob's script against a real kopia (the catalog's version, built by
 * scripts/setup-integration.sh into tools/bin): a folder laid out like the main disk, the
 * repository created the way the server creates it, the job's script run as the pod runs it.
 */
const PASSWORD = 'integration-test-password';

let KOPIA: string;
let work: string;
let disk: string;
let paths: { repository: string; cache: string; sources: string };

beforeAll(() => {
  KOPIA = requireTool('kopia', 'KOPIA_BIN');
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kopia-snapshot-'));
  // Traversable by the unprivileged user of the last test.
  fs.chmodSync(work, 0o755);
  disk = path.join(work, 'seconddrive');
  // The main disk as prepare-storage.sh lays it out: the apps' folders and Kopia's own.
  for (const dir of ['nextcloud/data/alice', 'gitea/repos', 'kopia/repository', `kopia/cache/${KOPIA_SNAPSHOT_CACHE_SUBPATH}`]) fs.mkdirSync(path.join(disk, dir), { recursive: true });
  fs.writeFileSync(path.join(disk, 'nextcloud/data/alice/notes.txt'), 'hello from nextcloud\n');
  fs.writeFileSync(path.join(disk, 'gitea/repos/app.git'), 'a repository\n');
  // The job sees the disk at /data, its repository at /repository and its cache sub-folder at /app/cache.
  paths = { repository: path.join(disk, 'kopia/repository'), cache: path.join(disk, 'kopia/cache', KOPIA_SNAPSHOT_CACHE_SUBPATH), sources: disk };
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** Environment of the job's container, with its folders moved under the test's work dir. */
function jobEnv(configDir: string, password = PASSWORD): NodeJS.ProcessEnv {
  return {
    PATH: `${path.dirname(KOPIA)}:/usr/bin:/bin`,
    HOME: work,
    KOPIA_PASSWORD: password,
    KOPIA_CONFIG_PATH: path.join(configDir, 'repository.config'),
    KOPIA_PERSIST_CREDENTIALS_ON_CONNECT: 'false',
    KOPIA_LOG_DIR: path.join(configDir, 'logs'),
    KOPIA_CHECK_FOR_UPDATES: 'false',
  };
}

function runScript(options: { password?: string; uid?: number } = {}): { status: number | null; output: string } {
  const config = fs.mkdtempSync(path.join(work, 'job-config-'));
  const scriptFile = path.join(work, 'snapshot.sh');
  fs.writeFileSync(scriptFile, renderSnapshotScript(paths), { mode: 0o555 });
  const env = jobEnv(config, options.password);
  const command = options.uid === undefined ? ['sh', scriptFile] : ['setpriv', `--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', 'sh', scriptFile];
  if (options.uid !== undefined) fs.chownSync(config, options.uid, options.uid);
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', env });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** kopia as the server's connection (it created the repository) or as the job's. */
function kopia(args: string[], configDir: string): string {
  const result = spawnSync(KOPIA, args, { encoding: 'utf8', env: jobEnv(configDir) });
  if (result.status !== 0) throw new Error(`kopia ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

function createRepositoryAsServer(): string {
  const serverConfig = fs.mkdtempSync(path.join(work, 'server-config-'));
  kopia(
    ['repository', 'create', 'filesystem', `--path=${paths.repository}`, `--cache-directory=${path.join(disk, 'kopia/cache')}`, `--override-hostname=${KOPIA_IDENTITY.hostname}`, `--override-username=${KOPIA_IDENTITY.username}`],
    serverConfig,
  );
  return serverConfig;
}

/** Every path in the latest snapshot of the job's source. */
function snapshotEntries(serverConfig: string): string[] {
  const source = `${KOPIA_SNAPSHOT_IDENTITY.username}@${KOPIA_SNAPSHOT_IDENTITY.hostname}:${paths.sources}`;
  const snapshots = JSON.parse(kopia(['snapshot', 'list', source, '--json'], serverConfig)) as { rootEntry: { obj: string } }[];
  expect(snapshots.length).toBeGreaterThan(0);
  // `kopia ls -r <root>` prefixes every path with the root object's ID.
  return kopia(['ls', '-r', snapshots[snapshots.length - 1].rootEntry.obj], serverConfig)
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(line.indexOf('/') + 1));
}

test('refuses an empty repository folder: exits non-zero with a clear message and creates nothing', () => {
  const result = runScript();
  expect(result.status).not.toBe(0);
  expect(result.output).toContain(`${REPOSITORY_MARKER} is missing`);
  expect(fs.readdirSync(paths.repository)).toEqual([]);
});

test('refuses a folder with files but no repository, leaving the files alone', () => {
  fs.writeFileSync(path.join(paths.repository, 'leftover'), 'not a repository');
  const result = runScript();
  expect(result.status).not.toBe(0);
  expect(fs.readdirSync(paths.repository)).toEqual(['leftover']);
});

test("snapshots the apps' folders under the job's own identity, never Kopia's repository or cache, and re-runs cleanly", () => {
  const serverConfig = createRepositoryAsServer();
  const first = runScript();
  expect([first.status, first.output]).toEqual([0, expect.stringContaining('Created snapshot')]);
  const entries = snapshotEntries(serverConfig);
  expect(entries).toEqual(expect.arrayContaining(['nextcloud/data/alice/notes.txt', 'gitea/repos/app.git']));
  expect(entries.filter((e) => /^kopia\/(repository|cache)\//.test(e))).toEqual([]);

  // The nightly re-run: the ignore rules stay listed once, the snapshot succeeds again.
  const second = runScript();
  expect(second.status).toBe(0);
  const policy = kopia(['policy', 'show', `${KOPIA_SNAPSHOT_IDENTITY.username}@${KOPIA_SNAPSHOT_IDENTITY.hostname}:${paths.sources}`], serverConfig);
  for (const rule of snapshotIgnoreRules()) expect(policy.split('\n').filter((l) => l.trim() === rule)).toHaveLength(1);
  // Maintenance stays with the server's identity, which created the repository.
  expect(kopia(['maintenance', 'info'], serverConfig)).toContain(`Owner: ${KOPIA_IDENTITY.username}@${KOPIA_IDENTITY.hostname}`);
});

test('fails (non-zero) with a wrong repository password', () => {
  createRepositoryAsServer();
  const result = runScript({ password: 'not-the-password' });
  expect(result.status).not.toBe(0);
  expect(result.output).toMatch(/invalid repository password|password/i);
});

test('fails (non-zero) when a file cannot be read, so the Job is counted as failed', () => {
  const serverConfig = createRepositoryAsServer();
  // Without DAC_OVERRIDE (here: an unprivileged user) a 0600 file of another owner is unreadable.
  const nobody = 65534;
  spawnSync('chown', ['-R', `${nobody}:${nobody}`, paths.repository, paths.cache]);
  fs.writeFileSync(path.join(disk, 'nextcloud/data/alice/secret.txt'), 'private\n', { mode: 0o600 });
  const result = runScript({ uid: nobody });
  expect(result.status).not.toBe(0);
  expect(result.output).toMatch(/fatal error/i);
  // Nothing but that file was wrong: the same run as root (with its override) succeeds.
  spawnSync('chown', ['-R', '0:0', paths.repository, paths.cache]);
  expect(runScript().status).toBe(0);
  expect(snapshotEntries(serverConfig)).toContain('nextcloud/data/alice/secret.txt');
});
