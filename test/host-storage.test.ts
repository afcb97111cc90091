import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VOLUMES, resolveConfig } from '../lib/config';
import { fullConfig } from './helpers';
import { hostPreparationScript } from '../lib/host/storage';

const script = hostPreparationScript(fullConfig());

test('creates every writable layout folder with its owner and mode', () => {
  for (const volume of VOLUMES.filter((v) => !v.readOnly && v.component !== 'nginx-proxy-manager')) {
    const root = volume.disk === 'main' ? '/mnt/seconddrive' : '/mnt/cachehdd';
    expect(script).toContain(`install -d -o ${volume.uid} -g ${volume.gid} -m ${volume.mode} '${root}/${volume.folder}'  # ${volume.name}`);
  }
});

test('never touches the disk roots or the read-only sources, and never recurses', () => {
  expect(script).not.toMatch(/install -d [^\n]*'\/mnt\/seconddrive'(\s|$)/);
  expect(script).not.toMatch(/chown -R|chmod -R|rm /);
});

test('leaves out the folders of disabled components', () => {
  const without = hostPreparationScript(fullConfig({ components: { 'uptime-kuma': { enabled: false } } }));
  expect(without).not.toContain('uptime-kuma');
});

test('is valid POSIX shell', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-host-'));
  fs.writeFileSync(path.join(dir, 'prepare.sh'), script);
  expect(() => execFileSync('sh', ['-n', path.join(dir, 'prepare.sh')])).not.toThrow();
});

test('refuses to run when a disk is not a mount point, and creates nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-host-'));
  // Temporary folders are not valid mount points for synth (they are on the root file system), so
  // the config is built past validation: the script must refuse them on its own.
  const defaults = resolveConfig();
  const config = { ...defaults, storage: { ...defaults.storage, mainPath: path.join(dir, 'main'), cachePath: path.join(dir, 'cache') } };
  fs.mkdirSync(config.storage.mainPath);
  fs.mkdirSync(config.storage.cachePath);
  fs.writeFileSync(path.join(dir, 'prepare.sh'), hostPreparationScript(config));
  const run = spawnSync('sh', [path.join(dir, 'prepare.sh')], { encoding: 'utf8' });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(`${config.storage.mainPath} is not a mount point`);
  expect(fs.readdirSync(config.storage.mainPath)).toEqual([]);
});
