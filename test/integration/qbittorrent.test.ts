import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QBITTORRENT_DISK_IO_TYPE, iniEditScript } from '../../lib/apps/vpn/qbittorrent';
import { containerMemoryLimitBytes, distContainer, literalEnv } from './support/dist';
import { MeteredProcess, MemorySample, recordFootprint } from './support/footprint';
import { freePort, httpRequest, runBounded, settle } from './support/load';
import { runAllProbes, runProbe, waitForProbe } from './support/probes';
import { busyboxAppletDir, requireTool } from './support/tools';

/**
 * qBittorrent with the settings the VPN pod generates: the pod's `prepare` init step (its script
 * from dist/, under a real busybox) edits qBittorrent.conf, then qbittorrent-nox starts with the
 * container's env from dist/. Debian 12 has qbittorrent-nox 4.5.2 (libtorrent 2.0); the image
 * runs 5.1.2. Changed for this machine only, after the generated step: the torrent interface
 * (tun0 in the pod, gluetun's tunnel) becomes `lo`, the web UI listens on 127.0.0.1 on a free
 * port, and DHT, local peer discovery, peer exchange and the GeoIP download are off, so nothing
 * leaves the machine; 4.5 also needs the legal notice accepted in the file (5.x reads
 * QBT_CONFIRM_LEGAL_NOTICE from the env).
 */

const mibText = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
const container = distContainer('Deployment', 'vpn', 'vpn', 'qbittorrent');
const prepare = distContainer('Deployment', 'vpn', 'vpn', 'prepare');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-qbittorrent-'));
let running: MeteredProcess | undefined;
afterAll(async () => {
  await running?.stop();
  fs.rmSync(work, { recursive: true, force: true });
  if (appletDir) fs.rmSync(appletDir, { recursive: true, force: true });
});

/** The container mount paths of the pod, each a folder here. */
const folders: Record<string, string> = Object.fromEntries(
  [...prepare.volumeMounts, ...container.volumeMounts].map((m: any) => [m.mountPath, path.join(work, m.name)]),
);
const confFile = () => path.join(folders['/config'], 'qBittorrent', 'qBittorrent.conf');

let appletDir: string | undefined;
/** Runs a shell step as the pod's busybox image does: busybox's applets only. */
function busybox(script: string) {
  appletDir ??= busyboxAppletDir();
  const r = spawnSync(path.join(appletDir, 'sh'), ['-c', script], { encoding: 'utf8', env: { PATH: appletDir } });
  if (r.status !== 0) throw new Error(`busybox sh failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Tiny bencoder for the test torrent (dictionary keys sorted, as the format requires). */
function bencode(value: unknown): Buffer {
  if (typeof value === 'number') return Buffer.from(`i${value}e`);
  if (Buffer.isBuffer(value)) return Buffer.concat([Buffer.from(`${value.length}:`), value]);
  if (typeof value === 'string') return bencode(Buffer.from(value));
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return Buffer.concat([Buffer.from('d'), ...entries.flatMap(([k, v]) => [bencode(k), bencode(v)]), Buffer.from('e')]);
}

function makeTorrent(file: string, pieceLength = 256 * 1024): Buffer {
  const data = fs.readFileSync(file);
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += pieceLength) pieces.push(createHash('sha1').update(data.subarray(offset, offset + pieceLength)).digest());
  return bencode({ info: { length: data.length, name: path.basename(file), 'piece length': pieceLength, pieces: Buffer.concat(pieces) } });
}

/**
 * Starts qbittorrent-nox as in its pod: under the container's memory limit, its code evicted from
 * the page cache first (`code`: what an earlier run mapped; the first run evicts the binary and
 * the libraries it links).
 */
async function start(webPort: number, code?: readonly string[]): Promise<MeteredProcess> {
  const { env } = literalEnv(container);
  const containerPort = container.ports.find((p: any) => p.name === 'qbt-web').containerPort;
  expect(env.QBT_WEBUI_PORT).toBe(String(containerPort));
  const qbt = new MeteredProcess(requireTool('qbittorrent-nox', 'QBITTORRENT_NOX_BIN'), [], {
    name: 'qbittorrent',
    limitBytes: containerMemoryLimitBytes(container),
    coldStart: code ?? true,
    env: {
      ...env,
      QBT_WEBUI_PORT: String(webPort),
      PATH: '/usr/bin:/bin',
      // The image keeps config under /config (XDG_CONFIG_HOME) and runs with /tmp writable.
      XDG_CONFIG_HOME: folders['/config'],
      XDG_DATA_HOME: path.join(folders['/config'], 'data'),
      XDG_CACHE_HOME: folders['/tmp'],
      HOME: folders['/tmp'],
    },
  });
  running = qbt;
  await waitForProbe(container, 'startupProbe', { portMap: { [containerPort]: webPort } }, 120000).catch((e) => {
    throw new Error(`${e.message}\n${qbt.log}`);
  });
  return qbt;
}

/** A logged-in Web API client (4.5's default login; 5.x prints a temporary password instead). */
async function webApi(webPort: number) {
  const base = `http://127.0.0.1:${webPort}`;
  const headers = { Referer: base, Origin: base };
  const loginAnswer = await httpRequest(`${base}/api/v2/auth/login`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'username=admin&password=adminadmin',
  });
  expect([loginAnswer.status, loginAnswer.body]).toEqual([200, 'Ok.']);
  const cookie = String(loginAnswer.headers['set-cookie']?.[0]).split(';')[0];
  return {
    get: async (p: string) => {
      const r = await httpRequest(`${base}${p}`, { headers: { ...headers, Cookie: cookie } });
      if (r.status !== 200) throw new Error(`GET ${p}: HTTP ${r.status} ${r.body}`);
      return r.body;
    },
    post: async (p: string, body: Buffer | string, contentType: string) =>
      httpRequest(`${base}${p}`, { method: 'POST', headers: { ...headers, Cookie: cookie, 'Content-Type': contentType }, body }),
  };
}

/**
 * The bounded load: a 64 MiB local file (dropped from the page cache first, so qBittorrent reads it
 * from disk) added as a torrent and fully checked, then 100 Web API calls at 4 at once. Returns
 * the peak; the torrent is removed again (its data stays).
 */
async function checkTorrentLoad(qbt: MeteredProcess, api: Awaited<ReturnType<typeof webApi>>, name: string): Promise<MemorySample> {
  const payload = path.join(folders['/downloads'], 'complete', name);
  const out = fs.openSync(payload, 'w');
  for (let i = 0; i < 64; i++) fs.writeSync(out, randomBytes(1024 * 1024));
  fs.closeSync(out);
  execFileSync('dd', [`if=${payload}`, 'of=/dev/null', 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
  const torrent = makeTorrent(payload);
  const boundary = `potato${randomBytes(8).toString('hex')}`;
  const form = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="torrents"; filename="${name}.torrent"\r\nContent-Type: application/x-bittorrent\r\n\r\n`),
    torrent,
    Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="savepath"\r\n\r\n${path.dirname(payload)}\r\n--${boundary}--\r\n`),
  ]);
  qbt.startPeak();
  const added = await api.post('/api/v2/torrents/add', form, `multipart/form-data; boundary=${boundary}`);
  expect([added.status, added.body]).toEqual([200, 'Ok.']);
  const deadline = Date.now() + 120000;
  let info: any;
  while (Date.now() < deadline) {
    info = JSON.parse(await api.get('/api/v2/torrents/info')).find((t: any) => t.name === name);
    if (info && info.progress === 1 && !String(info.state).startsWith('checking')) break;
    await settle(500);
  }
  expect(info?.progress).toBe(1);
  const calls = ['/api/v2/torrents/info', '/api/v2/transfer/info', '/api/v2/sync/maindata?rid=0', '/api/v2/app/preferences', `/api/v2/torrents/properties?hash=${info.hash}`];
  await runBounded(100, 4, (i) => api.get(calls[i % calls.length]));
  const peak = qbt.stopPeak();
  const removed = await api.post('/api/v2/torrents/delete', `hashes=${info.hash}&deleteFiles=false`, 'application/x-www-form-urlencoded');
  expect(removed.status).toBe(200);
  return peak;
}

test('qbittorrent-nox starts with the generated settings, answers its probes, reads the disk I/O key; memory idle and under load', async () => {
  const version = execFileSync(requireTool('qbittorrent-nox', 'QBITTORRENT_NOX_BIN'), ['--version'], { encoding: 'utf8' }).trim();
  for (const dir of Object.values(folders)) fs.mkdirSync(dir, { recursive: true });

  // The pod's prepare step, with its mount paths moved here (one pass, so no path is rewritten twice).
  const pattern = new RegExp(`(${Object.keys(folders).sort((a, b) => b.length - a.length).join('|')})(?=[/'"\\s]|$)`, 'gm');
  const [shell, flag, script] = prepare.command;
  expect([shell, flag]).toEqual(['/bin/sh', '-c']);
  busybox(script.replace(pattern, (m: string) => folders[m]));
  const generated = fs.readFileSync(confFile(), 'utf8');
  expect(generated).toContain(`Session\\DiskIOType=${QBITTORRENT_DISK_IO_TYPE}`);
  expect(generated).toContain('Session\\Interface=tun0');

  // The machine-specific changes, applied with the stack's own ini editor.
  const local = (diskIo: string) => [
    { section: 'BitTorrent', key: 'Session\\Interface', value: 'lo' },
    { section: 'BitTorrent', key: 'Session\\InterfaceName', value: 'lo' },
    { section: 'BitTorrent', key: 'Session\\DHTEnabled', value: 'false' },
    { section: 'BitTorrent', key: 'Session\\LSDEnabled', value: 'false' },
    { section: 'BitTorrent', key: 'Session\\PeXEnabled', value: 'false' },
    { section: 'BitTorrent', key: 'Session\\DiskIOType', value: diskIo },
    { section: 'Preferences', key: 'WebUI\\Address', value: '127.0.0.1' },
    { section: 'Preferences', key: 'Connection\\ResolvePeerCountries', value: 'false' },
    { section: 'LegalNotice', key: 'Accepted', value: 'true' },
  ];
  busybox(iniEditScript(confFile(), local(QBITTORRENT_DISK_IO_TYPE)));

  const webPort = await freePort();
  const containerPort = container.ports.find((p: any) => p.name === 'qbt-web').containerPort;
  const target = { portMap: { [containerPort]: webPort } };
  let qbt = await start(webPort);
  // Everything it maps once running (libraries, Qt plugins), before any torrent data is mapped.
  const code = qbt.mappedFiles();
  const probes = await runAllProbes(container, target);
  expect(probes.map((p) => [p.kind, p.ok])).toEqual(probes.map((p) => [p.kind, true]));
  let api = await webApi(webPort);
  const prefs = JSON.parse(await api.get('/api/v2/app/preferences'));
  // The generated settings are in force...
  expect(prefs.save_path).toMatch(new RegExp(`^${folders['/downloads']}/complete/?$`));
  expect(prefs.temp_path_enabled).toBe(true);
  expect(prefs.upnp).toBe(false);
  expect(prefs.web_ui_port).toBe(webPort);
  // ...but 4.5 does not know the name 5.x gives "Simple pread/pwrite" (its DiskIOType enum ends at
  // Posix) and falls back to Default (memory-mapped files on libtorrent 2). 5.1.2 is what the pod runs.
  expect(prefs.disk_io_type).toBe(version.includes('v4.') ? 0 : 3);

  // For comparison only: the load with 4.5's fallback, memory-mapped files.
  const mmapLoad = await checkTorrentLoad(qbt, api, 'payload-mmap.bin');
  console.log(`qBittorrent load with memory-mapped I/O: working set ${mibText(mmapLoad.workingSet)} MiB, anon ${mibText(mmapLoad.anon)} MiB, RSS ${mibText(mmapLoad.rss)} MiB, mapped files ${mibText(mmapLoad.mappedFile ?? 0)} MiB`);

  // The key itself is the one qBittorrent reads: the same place with a value 4.5 knows takes effect.
  await qbt.stop();
  busybox(iniEditScript(confFile(), [{ section: 'BitTorrent', key: 'Session\\DiskIOType', value: 'Posix' }]));
  qbt = await start(webPort, code);
  api = await webApi(webPort);
  expect(JSON.parse(await api.get('/api/v2/app/preferences')).disk_io_type).toBe(2);

  await settle(15000);
  const idle = qbt.sample();

  const load = await checkTorrentLoad(qbt, api, 'payload-pread.bin');
  const setup = qbt.describeSetup();

  recordFootprint({
    component: 'vpn',
    container: 'qbittorrent',
    program: `qbittorrent-nox ${version.replace(/^qBittorrent /, '')} (Debian 12, libtorrent 2.0; the image runs 5.1.2)`,
    configuration: `qBittorrent.conf written by the pod's prepare step from dist/ and the container env from dist/; here Session\\DiskIOType=Posix (4.5 cannot read 5.x's ${QBITTORRENT_DISK_IO_TYPE}; both avoid memory-mapped files), interface lo instead of tun0, web UI on 127.0.0.1, DHT/LSD/PeX/GeoIP off`,
    conditions: {
      idle: `amd64; no torrents, 15 s after start and login; ${setup}`,
      load:
        'amd64; a 64 MiB single-file torrent (256 KiB pieces) added over the Web API and fully checked from a file not in the page cache, then 100 Web API calls at concurrency 4. ' +
        `The same load with memory-mapped I/O (what 4.5 falls back to; its first start, also cold and limited) peaked at working set ${mibText(mmapLoad.workingSet)} MiB, anon ${mibText(mmapLoad.anon)} MiB, RSS ${mibText(mmapLoad.rss)} MiB, mapped files ${mibText(mmapLoad.mappedFile ?? 0)} MiB; ${setup}`,
    },
    method: qbt.method,
    limitBytes: qbt.limitBytes,
    idle,
    load,
  });

  // Negative: stopped, the web UI port no longer answers the liveness probe.
  await qbt.stop();
  expect((await runProbe(container, 'livenessProbe', target)).ok).toBe(false);
});
