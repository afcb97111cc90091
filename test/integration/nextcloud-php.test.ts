import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { memoryBytes } from '../../lib/config/quantity';
import { NEXTCLOUD_PHP_INI_PATH, NEXTCLOUD_PROCESS_MEMORY, nextcloudWorkerPlan } from '../../lib/apps/nextcloud';
import { containerMemoryLimitBytes, distConfigMapData, distContainer, literalEnv } from './support/dist';
import { MeteredProcess, MemorySample, recordFootprint } from './support/footprint';
import { freePort, httpRequest, runBounded, settle } from './support/load';
import { runAllProbes, runProbe, waitForProbe } from './support/probes';
import { requireTool } from './support/tools';

/**
 * Nextcloud's Apache and PHP settings, as far as Debian's apache2 and PHP 8.2 can check them.
 * The nextcloud:*-apache image is the official php:8.3-apache image (Debian's Apache layout,
 * mod_php with the prefork MPM) plus Nextcloud's code. Here Debian 12's apache2 2.4 and mod_php
 * 8.2 run with exactly the generated mpm_prefork.conf and PHP ini files from dist/; Nextcloud's
 * PHP code is not available from the registries, so small stand-in pages answer the probes'
 * paths and allocate memory the way a request does. What this proves: Apache accepts the MPM
 * config, PHP reads back every generated value in both SAPIs, memory_limit is enforced, the
 * probes' paths and headers are answered, and the worker pool with every worker at its
 * memory_limit stays inside the container limit.
 */

const config = resolveConfig();
const serverSize = config.components.nextcloud.containers.nextcloud;
const cronSize = config.components.nextcloud.containers['nextcloud-cron'];
const server = distContainer('Deployment', 'apps', 'nextcloud', 'nextcloud');
const cron = distContainer('CronJob', 'apps', 'nextcloud-cron', 'nextcloud-cron');
const mpmConf = distConfigMapData('apps', 'nextcloud-config', 'mpm_prefork.conf');
const iniFile = (container: any) => {
  const mount = container.volumeMounts.find((m: any) => m.mountPath === NEXTCLOUD_PHP_INI_PATH);
  if (!mount) throw new Error(`${container.name} in dist/ does not mount ${NEXTCLOUD_PHP_INI_PATH}`);
  return distConfigMapData('apps', 'nextcloud-config', mount.subPath);
};
const serverIni = iniFile(server);
const cronIni = iniFile(cron);
const mib = (bytes: number) => bytes / 1024 ** 2;
const limitMiB = (memory: string) => memoryBytes(memory)! / 1024 ** 2;

/** `key = value` lines of a generated ini file. */
function iniSettings(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith(';'))
      .map((l) => l.split('=').map((p) => p.trim()) as [string, string]),
  );
}

const PHP = () => requireTool('php', 'PHP_BIN');
const APACHE = () => requireTool('apache2', 'APACHE2_BIN', ['/usr/sbin/apache2']);
const APACHE_MODULES = process.env.APACHE2_MODULES ?? '/usr/lib/apache2/modules';
/** Debian's ini files that load PHP's extensions, per SAPI (the image loads the same set through its conf.d). */
const extensionInis = (sapi: 'apache2' | 'cli') => `/etc/php/8.2/${sapi}/conf.d`;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-nextcloud-php-'));
// Apache's children (www-data when the suite runs as root) read the document root below it.
fs.chmodSync(work, 0o755);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A conf.d holding one generated ini file under the name the container mounts it as. */
function confDir(name: string, text: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, path.basename(NEXTCLOUD_PHP_INI_PATH)), text);
  return dir;
}

/** PHP CLI as the image runs it: no php.ini (the image ships none), the extensions' ini files, then the generated one. */
function phpCli(ini: string, args: string[], env: Record<string, string> = {}) {
  const dir = confDir(`cli-${Math.random().toString(36).slice(2)}`, ini);
  const r = spawnSync(PHP(), ['-c', path.join(work, 'no-php.ini'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PHP_INI_SCAN_DIR: `${extensionInis('cli')}:${dir}`, ...env },
    timeout: 60000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
fs.writeFileSync(path.join(work, 'no-php.ini'), '');

/** PHP code printing the current value of each ini key as JSON. */
const readBack = (keys: string[]) => `$out = []; foreach (json_decode('${JSON.stringify(keys)}') as $k) { $out[$k] = ini_get($k); } echo json_encode($out);`;

const ALLOC_PHP = `<?php
// Stand-in for a Nextcloud request: allocates ?mb MiB of PHP heap, holds it briefly, reports PHP's view.
$mb = (int) ($_GET['mb'] ?? 0);
$hold = str_repeat('x', $mb * 1024 * 1024);
usleep((int) ($_GET['holdMs'] ?? 300) * 1000);
header('Content-Type: application/json');
echo json_encode(['limit' => ini_get('memory_limit'), 'peak' => memory_get_peak_usage(true), 'len' => strlen($hold), 'pid' => getmypid()]);
`;

describe('PHP reads every generated setting back', () => {
  test('server ini (mod_php settings, checked with the CLI binary): every key reports its generated value', () => {
    const settings = iniSettings(serverIni);
    expect(Object.keys(settings)).toEqual(expect.arrayContaining(['memory_limit', 'opcache.memory_consumption', 'apc.shm_size']));
    const r = phpCli(serverIni, ['-r', readBack(Object.keys(settings))]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.output)).toEqual(settings);
  });

  test('cron ini: every key reports its generated value, and the env the image reads agrees', () => {
    const settings = iniSettings(cronIni);
    const r = phpCli(cronIni, ['-r', readBack(Object.keys(settings))]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.output)).toEqual(settings);
    expect(literalEnv(cron).env.PHP_MEMORY_LIMIT).toBe(settings.memory_limit);
    expect(literalEnv(server).env.PHP_MEMORY_LIMIT).toBe(iniSettings(serverIni).memory_limit);
  });

  test('memory_limit is enforced: the cron job stops a greedy run with PHP\'s error, not an OOM kill', () => {
    const limit = parseInt(iniSettings(cronIni).memory_limit, 10);
    const below = phpCli(cronIni, ['-r', `$s = str_repeat('x', ${(limit - 24) * 1024 * 1024}); echo strlen($s);`]);
    expect(below.status).toBe(0);
    const above = phpCli(cronIni, ['-r', `$s = str_repeat('x', ${(limit + 8) * 1024 * 1024}); echo strlen($s);`]);
    expect(above.status).toBe(255);
    expect(above.output).toMatch(new RegExp(`Allowed memory size of ${limit * 1024 * 1024} bytes exhausted`));
  });
});

describe('Apache prefork + mod_php with the generated MPM config and PHP ini', () => {
  let apache: MeteredProcess;
  let port: number;
  let conf: string;
  const docroot = path.join(work, 'html');
  const host = literalEnv(server).env.NEXTCLOUD_TRUSTED_DOMAINS;
  const plan = nextcloudWorkerPlan(serverSize);

  /** A server config of our own around the generated MPM file: Debian's modules, loopback only, the image's vhost shape (docroot, .htaccess allowed). */
  function writeApacheConf(mpmFile: string): string {
    const file = path.join(work, `apache-${path.basename(mpmFile)}.conf`);
    const asRoot = process.getuid?.() === 0;
    fs.writeFileSync(
      file,
      [
        `ServerRoot ${work}`,
        `LoadModule mpm_prefork_module ${APACHE_MODULES}/mod_mpm_prefork.so`,
        ...['authz_core', 'dir', 'mime', 'rewrite', 'headers', 'env', 'setenvif'].map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`),
        `LoadModule php_module ${APACHE_MODULES}/libphp8.2.so`,
        `Include ${mpmFile}`,
        `Listen 127.0.0.1:${port}`,
        'ServerName localhost',
        'TypesConfig /etc/mime.types',
        `PidFile ${work}/apache.pid`,
        `Mutex file:${work}`,
        `ErrorLog ${work}/error.log`,
        'LogLevel warn',
        // Like the image: Apache's children run as www-data (here the parent is root when the suite is).
        ...(asRoot ? ['User www-data', 'Group www-data'] : []),
        `PHPINIDir ${work}/no-php-dir`,
        `DocumentRoot ${docroot}`,
        `<Directory ${docroot}>`,
        '  AllowOverride All',
        '  Require all granted',
        '</Directory>',
        'DirectoryIndex index.php',
        '<FilesMatch "\\.php$">',
        '  SetHandler application/x-httpd-php',
        '</FilesMatch>',
        '',
      ].join('\n'),
    );
    return file;
  }

  beforeAll(async () => {
    port = await freePort();
    fs.mkdirSync(path.join(work, 'no-php-dir'), { recursive: true });
    fs.mkdirSync(path.join(docroot, 'core', 'img'), { recursive: true });
    // Stand-ins at the probes' paths: status.php answers JSON like Nextcloud's; the liveness path is a static file.
    fs.writeFileSync(
      path.join(docroot, 'status.php'),
      `<?php header('Content-Type: application/json'); echo json_encode(['installed' => true, 'maintenance' => false, 'needsDbUpgrade' => false, 'host' => $_SERVER['HTTP_HOST'] ?? '']);\n`,
    );
    fs.writeFileSync(path.join(docroot, 'core', 'img', 'favicon.ico'), Buffer.alloc(1024, 1));
    fs.writeFileSync(path.join(docroot, 'alloc.php'), ALLOC_PHP);
    fs.writeFileSync(path.join(work, 'mpm_prefork.conf'), mpmConf);
    conf = writeApacheConf(path.join(work, 'mpm_prefork.conf'));
  });

  afterAll(async () => {
    await apache?.stop();
  });

  test('apache2 -t accepts the generated MPM config; a broken one is refused', () => {
    const env = { PATH: process.env.PATH!, PHP_INI_SCAN_DIR: `${extensionInis('apache2')}:${confDir('apache-confd', serverIni)}` };
    const ok = spawnSync(APACHE(), ['-t', '-f', conf], { encoding: 'utf8', env });
    expect(`${ok.stdout}${ok.stderr}`).toMatch(/Syntax OK/);
    expect(ok.status).toBe(0);
    // Negative: the same check refuses a misspelt directive in that file.
    fs.writeFileSync(path.join(work, 'broken-mpm.conf'), mpmConf.replace('MaxRequestWorkers', 'MaxRequestWorker'));
    const broken = spawnSync(APACHE(), ['-t', '-f', writeApacheConf(path.join(work, 'broken-mpm.conf'))], { encoding: 'utf8', env });
    expect(broken.status).not.toBe(0);
    expect(`${broken.stdout}${broken.stderr}`).toMatch(/Invalid command 'MaxRequestWorker'/);
    // The MPM directives sit in <IfModule mpm_prefork_module>: they count only because prefork is the loaded MPM (as in the image).
    const modules = spawnSync(APACHE(), ['-M', '-f', conf], { encoding: 'utf8', env });
    expect(modules.stdout).toMatch(/mpm_prefork_module/);
  });

  test('serves the probes as the kubelet asks, reports the generated memory_limit, and stays inside the limit at worst case', async () => {
    const apacheOptions = {
      // A session of its own: prefork signals its whole process group on shutdown, which would include jest.
      detached: true,
      env: { PATH: process.env.PATH!, PHP_INI_SCAN_DIR: `${extensionInis('apache2')}:${confDir('apache-confd', serverIni)}` },
    };
    const target = { portMap: { 80: port } };
    // A first run lists the code Apache maps once it serves PHP: its modules, mod_php and its
    // libraries, PHP's extensions. The measured run starts with all of it evicted from the page
    // cache and under the container's memory limit, as the pod's first start.
    const warm = new MeteredProcess(APACHE(), ['-f', conf, '-DFOREGROUND'], { name: 'nextcloud-apache-warm', ...apacheOptions });
    await waitForProbe(server, 'startupProbe', target, 60000).catch((e) => {
      throw new Error(`${e.message}\n${warm.log}`);
    });
    expect((await httpRequest(`http://127.0.0.1:${port}/alloc.php?mb=1`)).status).toBe(200);
    const code = warm.mappedFiles();
    expect(code).toEqual(expect.arrayContaining([expect.stringMatching(/libphp8\.2\.so$/)]));
    await warm.stop();
    apache = new MeteredProcess(APACHE(), ['-f', conf, '-DFOREGROUND'], {
      name: 'nextcloud-apache',
      ...apacheOptions,
      limitBytes: containerMemoryLimitBytes(server),
      coldStart: code,
    });
    const started = await waitForProbe(server, 'startupProbe', target, 60000).catch((e) => {
      throw new Error(`${e.message}\n${apache.log}\n${fs.existsSync(`${work}/error.log`) ? fs.readFileSync(`${work}/error.log`, 'utf8').slice(-2000) : ''}`);
    });
    expect(started.ok).toBe(true);
    const probes = await runAllProbes(server, target);
    expect(probes.map((p) => [p.kind, p.handler, p.ok])).toEqual(probes.map((p) => [p.kind, p.handler, true]));
    // status.php got the trusted Host header the probe sends (Nextcloud answers 400 to untrusted hosts).
    const status = await httpRequest(`http://127.0.0.1:${port}/status.php`, { headers: { Host: host } });
    expect(JSON.parse(status.body).host).toBe(host);

    // mod_php runs with the generated memory_limit.
    const info = JSON.parse((await httpRequest(`http://127.0.0.1:${port}/alloc.php?mb=1`)).body);
    expect(info.limit).toBe(`${plan.phpMemoryMiB}M`);

    await settle(15000);
    const idle = apache.sample();
    const idleProcesses = apache.processes();

    // Load 1: 60 typical requests (32 MiB of PHP heap each), twice as many at once as there are workers.
    apache.startPeak();
    const typical = await runBounded(60, plan.workers * 2, () => httpRequest(`http://127.0.0.1:${port}/alloc.php?mb=32&holdMs=200`));
    const typicalPeak = apache.stopPeak();
    expect(typical.every((r) => r.status === 200)).toBe(true);
    // MaxRequestWorkers is in force: twice as many clients as workers are served by at most that many processes.
    const workerPids = new Set(typical.map((r) => JSON.parse(r.body).pid));
    expect(workerPids.size).toBeLessThanOrEqual(plan.workers);

    // Load 2, the worst case the rule allows: every worker holding its memory_limit at once.
    const nearLimit = plan.phpMemoryMiB - 8;
    apache.startPeak(50);
    const heavy = await runBounded(plan.workers * 3, plan.workers, () => httpRequest(`http://127.0.0.1:${port}/alloc.php?mb=${nearLimit}&holdMs=1500`, { timeoutMs: 60000 }));
    const worstPeak = apache.stopPeak();
    expect(heavy.map((r) => r.status)).toEqual(heavy.map(() => 200));
    const loadProcesses = apache.processes();
    const setup = apache.describeSetup();

    // A request past memory_limit is stopped by PHP's fatal error, and the worker pool lives on.
    const greedy = await httpRequest(`http://127.0.0.1:${port}/alloc.php?mb=${plan.phpMemoryMiB + 8}`);
    expect(greedy.body).toMatch(new RegExp(`Allowed memory size of ${plan.phpMemoryMiB * 1024 * 1024} bytes exhausted`));
    expect((await runProbe(server, 'livenessProbe', target)).ok).toBe(true);

    // The measured worst case, plus the shared memory this stand-in never touches (OPcache and APCu are
    // filled by Nextcloud's code, not by two small pages), stays inside the container limit.
    expect(mib(worstPeak.workingSet) + plan.sharedMiB).toBeLessThanOrEqual(limitMiB(serverSize.limits.memory));

    const parent = idleProcesses.find((p) => p.pid === apache.child.pid) ?? idleProcesses[0];
    const workers = loadProcesses.filter((p) => p.pid !== parent.pid);
    const describe = (ps: typeof idleProcesses) => ps.map((p) => `${p.pid}: anon ${mib(p.anon).toFixed(1)} MiB, RSS ${mib(p.rss).toFixed(1)} MiB`).join('; ');
    console.log(`Apache processes idle: ${describe(idleProcesses)}\nafter the worst-case load: ${describe(loadProcesses)}`);
    // The per-process figures the rule budgets (lib/apps/nextcloud.ts NEXTCLOUD_PROCESS_MEMORY) hold for this server.
    expect(mib(parent.anon)).toBeLessThanOrEqual(NEXTCLOUD_PROCESS_MEMORY.apacheParentMiB);
    expect(mib(parent.rss - parent.anon)).toBeLessThanOrEqual(NEXTCLOUD_PROCESS_MEMORY.codeMiB);
    for (const w of workers) expect(mib(w.anon)).toBeLessThanOrEqual(NEXTCLOUD_PROCESS_MEMORY.workerBaseMiB);

    const largest = (a: MemorySample, b: MemorySample): MemorySample => ({
      workingSet: Math.max(a.workingSet, b.workingSet),
      anon: Math.max(a.anon, b.anon),
      rss: Math.max(a.rss, b.rss),
      mappedFile: Math.max(a.mappedFile ?? 0, b.mappedFile ?? 0),
    });
    recordFootprint({
      component: 'nextcloud',
      container: 'nextcloud',
      program: `Apache ${spawnSync(APACHE(), ['-v'], { encoding: 'utf8' }).stdout.match(/Apache\/(\S+)/)?.[1]} prefork + mod_php ${spawnSync(PHP(), ['-r', 'echo PHP_VERSION;'], { encoding: 'utf8' }).stdout} (Debian 12; the image runs PHP 8.3 in php:8.3-apache) with stand-in pages: Nextcloud's PHP code is not available here`,
      configuration: `generated mpm_prefork.conf (MaxRequestWorkers ${plan.workers}) and ${path.basename(NEXTCLOUD_PHP_INI_PATH)} (memory_limit ${plan.phpMemoryMiB}M) from dist/; Apache's own server config written by the test (loopback, Debian's modules)`,
      conditions: {
        idle: `amd64; 15 s after start, after one probe round; StartServers 1 plus the parent; ${setup}`,
        load: `amd64; 60 requests allocating 32 MiB of PHP heap at concurrency ${plan.workers * 2}, then ${plan.workers * 3} requests holding ${nearLimit} MiB (memory_limit - 8) at concurrency ${plan.workers} (every worker at its limit); figures are the larger of the two peaks; ${setup}`,
      },
      method: apache.method,
      limitBytes: apache.limitBytes,
      idle,
      load: largest(typicalPeak, worstPeak),
    });
    // Stopped here, so that the cron test's cold start can evict the PHP extensions both SAPIs map.
    await apache.stop();
  });

  test('the cron job\'s PHP CLI stays inside its container limit when a run takes its whole memory_limit', async () => {
    const limit = parseInt(iniSettings(cronIni).memory_limit, 10);
    const dir = confDir('cron-confd', cronIni);
    const script = path.join(work, 'cron-standin.php');
    // Stand-in for cron.php: idles, then allocates up to 8 MiB below memory_limit and holds it.
    fs.writeFileSync(script, `<?php usleep(8000000); $s = str_repeat('x', ${(limit - 8) * 1024 * 1024}); usleep(2000000); echo strlen($s), "\\n";\n`);
    const cliOptions = { env: { PATH: process.env.PATH!, PHP_INI_SCAN_DIR: `${extensionInis('cli')}:${dir}` } };
    // A first run lists the code the CLI maps (the binary, its libraries and PHP's extensions); the
    // measured run starts with it evicted from the page cache, under the container's memory limit.
    const warm = new MeteredProcess(PHP(), ['-c', path.join(work, 'no-php.ini'), '-r', 'usleep(3000000);'], { name: 'nextcloud-cron-warm', ...cliOptions });
    await settle(1000);
    const cliCode = warm.mappedFiles();
    await warm.stop();
    expect(cliCode.length).toBeGreaterThan(1);
    const run = new MeteredProcess(PHP(), ['-c', path.join(work, 'no-php.ini'), '-f', script], {
      name: 'nextcloud-cron',
      ...cliOptions,
      limitBytes: containerMemoryLimitBytes(cron),
      coldStart: cliCode,
    });
    await settle(5000);
    const idle = run.sample();
    const setup = run.describeSetup();
    run.startPeak(50);
    const code = await new Promise<number | null>((resolve) => run.child.once('exit', resolve));
    const peak = run.stopPeak();
    expect([code, run.log.trim()]).toEqual([0, String((limit - 8) * 1024 * 1024)]);
    // RSS counts the CLI's code too, which a container charges to itself on first use.
    expect(mib(peak.workingSet)).toBeLessThanOrEqual(limitMiB(cronSize.limits.memory));
    expect(mib(peak.rss)).toBeLessThanOrEqual(limitMiB(cronSize.limits.memory));
    expect(mib(idle.rss)).toBeLessThanOrEqual(NEXTCLOUD_PROCESS_MEMORY.cliBaseMiB);
    await run.stop();
    recordFootprint({
      component: 'nextcloud',
      container: 'nextcloud-cron',
      program: `PHP ${spawnSync(PHP(), ['-r', 'echo PHP_VERSION;'], { encoding: 'utf8' }).stdout} CLI (Debian 12; the image runs 8.3) running a stand-in for cron.php: Nextcloud's PHP code is not available here`,
      configuration: `generated php-cron.ini from dist/ (memory_limit ${limit}M) after Debian's extension ini files`,
      conditions: {
        idle: `amd64; the CLI 5 s after start, before allocating; ${setup}`,
        load: `amd64; one run allocating ${limit - 8} MiB (memory_limit - 8), the worst case its memory_limit allows; ${setup}`,
      },
      method: run.method,
      limitBytes: run.limitBytes,
      idle,
      load: peak,
    });
  });
});
