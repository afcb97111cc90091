import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheCleanupScript } from '../../lib/apps/vpn/cache-cleanup';
import { iniEditScript, qbittorrentSettings } from '../../lib/apps/vpn/qbittorrent';
import { busyboxAppletDir } from './support/tools';

/**
 * The VPN pod's shell steps run in the busybox image; here they run under a real busybox
 * (its sh, find, awk, sed, cmp applets only, nothing from the host's PATH).
 */
let bin: string;
let work: string;
beforeAll(() => {
  bin = busyboxAppletDir();
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'vpn-scripts-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

function run(script: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(path.join(bin, 'sh'), ['-c', script], { encoding: 'utf8', env: { PATH: bin } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('qBittorrent settings edit', () => {
  const settings = qbittorrentSettings();

  test('sets the stack keys, keeps every other line, creates missing sections, and is idempotent', () => {
    const conf = path.join(work, 'qBittorrent', 'qBittorrent.conf');
    fs.mkdirSync(path.dirname(conf));
    const original = [
      '[BitTorrent]',
      'Session\\Interface=eth0',
      'Session\\QueueingSystemEnabled=true',
      'Session\\TempPath=/old/temp',
      '',
      '[Meta]',
      'MigrationVersion=8',
      '',
      '[RSS]',
      'AutoDownloader\\DownloadRepacks=true',
      '',
    ].join('\n');
    fs.writeFileSync(conf, original);
    const first = run(iniEditScript(conf, settings));
    expect(first).toMatchObject({ status: 0, stderr: '' });
    const text = fs.readFileSync(conf, 'utf8');
    const lines = text.split('\n');
    // the operator's lines survive
    for (const kept of ['Session\\QueueingSystemEnabled=true', '[Meta]', 'MigrationVersion=8', 'AutoDownloader\\DownloadRepacks=true']) expect(lines).toContain(kept);
    // each stack key appears once, with its value, inside its section
    for (const s of settings) {
      const matches = lines.filter((l) => l.startsWith(`${s.key}=`));
      expect([s.key, matches]).toEqual([s.key, [`${s.key}=${s.value}`]]);
      const index = lines.indexOf(`${s.key}=${s.value}`);
      const header = lines.slice(0, index).reverse().find((l) => l.startsWith('['));
      expect([s.key, header]).toEqual([s.key, `[${s.section}]`]);
    }
    expect(lines).not.toContain('Session\\Interface=eth0');
    expect(lines).not.toContain('Session\\TempPath=/old/temp');
    // second run changes nothing and says so by saying nothing
    const second = run(iniEditScript(conf, settings));
    expect(second).toMatchObject({ status: 0, stdout: '' });
    expect(fs.readFileSync(conf, 'utf8')).toBe(text);
  });

  test('a missing file is created with just the stack keys', () => {
    const conf = path.join(work, 'new', 'qBittorrent', 'qBittorrent.conf');
    expect(run(iniEditScript(conf, settings)).status).toBe(0);
    const lines = fs.readFileSync(conf, 'utf8').split('\n').filter((l) => l && !l.startsWith('['));
    expect(lines.sort()).toEqual(settings.map((s) => `${s.key}=${s.value}`).sort());
  });
});

describe('cache cleanup', () => {
  const DAY = 86400;

  function tree() {
    const torrents = path.join(work, 'torrents');
    const incomplete = path.join(torrents, 'incomplete');
    const complete = path.join(torrents, 'complete');
    fs.mkdirSync(path.join(incomplete, 'stale-folder'), { recursive: true });
    fs.mkdirSync(path.join(incomplete, 'active'), { recursive: true });
    fs.mkdirSync(complete, { recursive: true });
    const files = {
      stale: path.join(incomplete, 'old movie.mkv.!qB'),
      staleNested: path.join(incomplete, 'stale-folder', 'part 01.!qB'),
      fresh: path.join(incomplete, 'active', 'downloading.!qB'),
      done: path.join(complete, 'finished long ago.mkv'),
    };
    for (const f of Object.values(files)) fs.writeFileSync(f, 'x');
    const old = Date.now() / 1000 - 30 * DAY;
    for (const f of [files.stale, files.staleNested, files.done]) fs.utimesSync(f, old, old);
    fs.utimesSync(path.join(incomplete, 'stale-folder'), old, old);
    return { incomplete, complete, files };
  }

  test('removes only incomplete files untouched for longer than the age, and logs each', () => {
    const { incomplete, files } = tree();
    const result = run(cacheCleanupScript({ directories: [incomplete], maxAgeDays: 14, dryRun: false }));
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect([fs.existsSync(files.stale), fs.existsSync(files.staleNested), fs.existsSync(files.fresh), fs.existsSync(files.done)]).toEqual([false, false, true, true]);
    expect(result.stdout).toContain(`removed file ${files.stale}`);
    expect(result.stdout).toContain(`removed file ${files.staleNested}`);
    expect(result.stdout).toContain('cache cleanup done: 2 file(s) removed');
  });

  test('a dry run lists the same files and removes nothing', () => {
    const { incomplete, files } = tree();
    const result = run(cacheCleanupScript({ directories: [incomplete], maxAgeDays: 14, dryRun: true }));
    expect(result.status).toBe(0);
    expect(Object.values(files).every((f) => fs.existsSync(f))).toBe(true);
    expect(result.stdout).toContain(`would remove file ${files.stale}`);
    expect(result.stdout).toContain('cache cleanup done: 2 file(s) would be removed');
  });

  test('a larger age keeps everything; a missing folder fails the run', () => {
    const { incomplete, files } = tree();
    expect(run(cacheCleanupScript({ directories: [incomplete], maxAgeDays: 60, dryRun: false })).status).toBe(0);
    expect(Object.values(files).every((f) => fs.existsSync(f))).toBe(true);
    const missing = run(cacheCleanupScript({ directories: [path.join(work, 'not-mounted')], maxAgeDays: 14, dryRun: false }));
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('is missing');
  });
});
