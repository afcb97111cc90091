/**
 * The generated host preparation script run for real against two mounted file systems
 * (tmpfs standing in for the HDDs): folders, owners and modes as the PVs expect them, a
 * second run changes nothing, and existing data is never touched. Needs root (mount, chown).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { enabledVolumes, hostPreparationScript } from '../../lib/host/storage';
import { hostPathOf } from '../../lib/constructs/storage';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-disks-'));
const mainPath = path.join(root, 'seconddrive');
const cachePath = path.join(root, 'cachehdd');
// Synth accepts only mount points below /mnt, /media or /srv; the tmpfs stand-ins live in a
// temporary folder, so the config is built past validation (the script itself is under test).
const defaults = resolveConfig({ profile: 'full' });
const config = { ...defaults, storage: { ...defaults.storage, mainPath, cachePath } };
const script = path.join(root, 'prepare-storage.sh');

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('the host preparation test mounts tmpfs and chowns folders: run the integration suite as root');
  for (const dir of [mainPath, cachePath]) {
    fs.mkdirSync(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16M', 'tmpfs', dir]);
  }
  fs.writeFileSync(script, hostPreparationScript(config), { mode: 0o755 });
});

afterAll(() => {
  for (const dir of [mainPath, cachePath]) spawnSync('umount', [dir]);
});

test('creates every folder with the owner and mode its app runs as', () => {
  const run = spawnSync('sh', [script], { encoding: 'utf8' });
  expect([run.status, run.stderr]).toEqual([0, '']);
  const volumes = enabledVolumes(config).filter((v) => !v.readOnly);
  expect(volumes.length).toBeGreaterThan(10);
  for (const volume of volumes) {
    const stat = fs.statSync(hostPathOf(volume, config.storage));
    expect([volume.name, stat.isDirectory(), stat.uid, stat.gid, (stat.mode & 0o7777).toString(8).padStart(4, '0')]).toEqual([volume.name, true, volume.uid, volume.gid, volume.mode]);
  }
});

test('is idempotent and leaves existing data alone', () => {
  const nextcloud = hostPathOf(enabledVolumes(config).find((v) => v.name === 'nextcloud-data')!, config.storage);
  const file = path.join(nextcloud, 'user-file.txt');
  fs.writeFileSync(file, 'precious');
  fs.chownSync(file, 12345, 12345);
  const run = spawnSync('sh', [script], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  expect(fs.readFileSync(file, 'utf8')).toBe('precious');
  expect(fs.statSync(file).uid).toBe(12345);
});

test('refuses to run once a disk is unmounted, without writing to the folder underneath', () => {
  execFileSync('umount', [cachePath]);
  try {
    const run = spawnSync('sh', [script], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${cachePath} is not a mount point`);
    expect(fs.readdirSync(cachePath)).toEqual([]);
  } finally {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16M', 'tmpfs', cachePath]);
  }
});
