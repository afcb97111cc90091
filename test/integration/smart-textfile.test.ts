/**
 * SMART data on the board, end to end as far as this machine allows:
 * 1. Debian 12's SMART collector (package prometheus-node-exporter-collectors, the one
 *    dist/host/setup-host.sh installs; unpacked by scripts/setup-integration.sh, not installed, so
 *    none of its units is enabled here) runs unmodified, started by the command line of the
 *    package's own systemd unit, with the unit's environment and systemd's default umask;
 * 2. the real node-exporter (the catalog's version, tools/bin) reads the file it wrote, started with
 *    the flags of the generated DaemonSet as the DaemonSet's user;
 * 3. promtool tests the generated alert rules on the series node-exporter served.
 * There are no disks here: `/usr/sbin/smartctl` (the path the script calls) is replaced, in a mount
 * namespace of the run only, by a stand-in that replays the outputs in smartctl-recordings/ (written
 * in smartctl 7.3's layout, see its README). What differs from the board: the unit's two folders
 * (/usr/share/prometheus-node-exporter-collectors, /var/lib/prometheus/node-exporter) are the
 * unpacked package and a temp folder, and node-exporter listens on loopback.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { TEXTFILE_MOUNT } from '../../lib/apps/monitoring/node-exporter';
import { RULE_FILE_NAME } from '../../lib/apps/monitoring/rules';
import { LINK_ATTRIBUTES, SECTOR_ATTRIBUTES, SMARTMON_METRICS, SMART_SERVICE, SMART_TEXTFILE, SMART_TEXTFILE_DIR, SMART_TIMER, rawValueMetric } from '../../lib/host/smart';
import { distConfigMapData, podSpec } from './support/dist';
import { LocalContainer, freePort, layOutContainer, replaceFlag } from './support/pod-layout';
import { ROOT, requireTool } from './support/tools';

const PACKAGE = 'prometheus-node-exporter-collectors';
const PACKAGE_DIR = path.join(ROOT, 'tools', 'debian', PACKAGE);
const SCRIPTS_DIR = '/usr/share/prometheus-node-exporter-collectors';
const SMARTCTL = '/usr/sbin/smartctl';
const RECORDINGS = path.join(__dirname, 'smartctl-recordings');
/** systemd's default PATH for services. */
const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// parse-prometheus-text-format has no type declarations.
const parsePrometheusText: (text: string) => { name: string; metrics: { value?: string; labels?: Record<string, string> }[] }[] = require('parse-prometheus-text-format');
type Sample = { labels: Record<string, string>; value: number };
const samples = (text: string, family: string): Sample[] =>
  (parsePrometheusText(text).find((f) => f.name === family)?.metrics ?? []).map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) }));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-smart-'));
/** The host's textfile folder of this run, readable by node-exporter's user like /var/lib/prometheus/node-exporter. */
const textfileDir = path.join(work, 'node-exporter');
const calls = path.join(work, 'smartctl-calls.log');

function packageFile(relative: string): string {
  const file = path.join(PACKAGE_DIR, relative);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run scripts/setup-integration.sh (it unpacks Debian's ${PACKAGE} into tools/debian/)`);
  return fs.readFileSync(file, 'utf8');
}

/** `Key=value` lines of a systemd unit file, by key (a key may repeat). */
function unitSettings(text: string): Record<string, string[]> {
  const settings: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) (settings[m[1]] ??= []).push(m[2]);
  }
  return settings;
}

const service = unitSettings(packageFile(`lib/systemd/system/${SMART_SERVICE}`));
const timer = unitSettings(packageFile(`lib/systemd/system/${SMART_TIMER}`));
/** The service's command: `/bin/bash -c "<pipeline>"`. */
const execStart = /^(\S+) -c "(.*)"$/.exec(service.ExecStart?.[0] ?? '');

/** A path of the board mapped to this run's folders. */
const mapPath = (text: string) => text.split(SCRIPTS_DIR).join(path.join(PACKAGE_DIR, SCRIPTS_DIR)).split(SMART_TEXTFILE_DIR).join(textfileDir);

beforeAll(() => {
  fs.chmodSync(work, 0o755);
  fs.mkdirSync(textfileDir, { mode: 0o755 });
  fs.copyFileSync(requireTool('smartctl', 'SMARTCTL', [SMARTCTL]), path.join(work, 'real-smartctl'));
  // The stand-in answers the calls the collector makes, from the recordings; anything else fails loudly.
  fs.writeFileSync(
    path.join(work, 'smartctl'),
    [
      '#!/bin/sh',
      '# Stand-in for /usr/sbin/smartctl: there are no disks here. Replays $SMARTCTL_RECORDING.',
      'echo "$*" >> "$SMARTCTL_CALLS"',
      'rec="$SMARTCTL_RECORDING"',
      'for last; do :; done',
      'disk=$(basename -- "$last")',
      'case "$*" in',
      '  -V) exec "$REAL_SMARTCTL" -V ;;',
      '  --scan-open) cat "$rec/scan-open.txt" ;;',
      '  "-n standby -d "*) if [ -f "$rec/$disk.standby" ]; then cat "$rec/$disk.standby"; exit 2; fi; cat "$rec/active.txt" ;;',
      '  "-i -H -d "*) cat "$rec/$disk.info-health.txt"; exit "$(cat "$rec/$disk.info-health.exit" 2>/dev/null || echo 0)" ;;',
      '  "-A -d "*) cat "$rec/$disk.attributes.txt" ;;',
      '  *) echo "smartctl stand-in: no recording for: $*" >&2; exit 64 ;;',
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
});

let exporter: ChildProcess | undefined;
afterAll(() => {
  exporter?.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
});

/** One run of the package's SMART service, as systemd starts it (root, the unit's environment, umask 022). */
function runService(recording: string): { status: number | null; output: string } {
  if (!execStart) throw new Error(`unexpected ExecStart in ${SMART_SERVICE}: ${service.ExecStart}`);
  const environment = Object.fromEntries((service.Environment ?? []).map((e) => e.split('=', 2)).map(([k, v]) => [k, mapPath(v)]));
  fs.writeFileSync(calls, '');
  const result = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', 'umask 022 && mount --bind "$STANDIN" /usr/sbin/smartctl && exec "$0" -c "$1"', execStart[1], mapPath(execStart[2])],
    {
      encoding: 'utf8',
      // Standard input from /dev/null as under systemd (bash reads ~/.bashrc when it is a socket).
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: SERVICE_PATH, ...environment, STANDIN: path.join(work, 'smartctl'), REAL_SMARTCTL: path.join(work, 'real-smartctl'), SMARTCTL_RECORDING: recording, SMARTCTL_CALLS: calls },
    },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("Debian's SMART timer and service (prometheus-node-exporter-collectors)", () => {
  test(`runs every 15 minutes, as root, writing ${SMART_TEXTFILE} into the folder the node-exporter DaemonSet mounts`, () => {
    console.log(`${PACKAGE} ${fs.readFileSync(path.join(PACKAGE_DIR, '.stamp'), 'utf8').trim()}: ExecStart=${service.ExecStart}`);
    expect(timer.OnUnitActiveSec).toEqual(['15min']);
    expect(timer.OnBootSec).toEqual(['0']);
    expect(service.User).toBeUndefined();
    expect(execStart?.[2]).toBe(`${SCRIPTS_DIR}/smartmon.sh | sponge ${SMART_TEXTFILE_DIR}/${SMART_TEXTFILE}`);
    // sponge renames its temp file into place: same folder, so a scrape never sees half a file.
    expect(service.Environment).toEqual([`TMPDIR=${SMART_TEXTFILE_DIR}`]);
    const layout = layOutContainer('DaemonSet', 'monitoring', 'node-exporter', 'node-exporter');
    try {
      expect(layout.container.args).toContain(`--collector.textfile.directory=${TEXTFILE_MOUNT}`);
      const mount = layout.container.volumeMounts.find((m: any) => m.mountPath === TEXTFILE_MOUNT);
      expect(mount?.readOnly).toBe(true);
      expect(podSpec(layout.workload).volumes.find((v: any) => v.name === mount.name)?.hostPath?.path).toBe(SMART_TEXTFILE_DIR);
    } finally {
      layout.cleanup();
    }
  });
});

describe('the collector against recorded disks, read by the real node-exporter, judged by the generated rules', () => {
  let layout: LocalContainer;
  let port = 0;
  const scrapes: string[] = [];
  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10000) })).text();

  afterAll(() => layout?.cleanup());

  test('the first run writes every disk it can read, world-readable, and leaves the disk in standby asleep', () => {
    const result = runService(RECORDINGS);
    expect([result.status, result.output]).toEqual([0, '']);
    const file = path.join(textfileDir, SMART_TEXTFILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    const log = fs.readFileSync(calls, 'utf8').trim().split('\n');
    // sdc answers "standby" and gets no other call: the collector does not spin it up.
    expect(log.filter((l) => l.endsWith('/dev/sdc'))).toEqual(['-n standby -d sat /dev/sdc']);
    expect(log).toEqual(expect.arrayContaining(['-i -H -d sat /dev/sda', '-A -d sat /dev/sda', '-i -H -d sat /dev/sdb', '-A -d sat /dev/sdb', '-i -H -d scsi /dev/sdd']));
  });

  test("node-exporter, with the DaemonSet's flags and user, serves it", async () => {
    const binary = requireTool('node_exporter', 'NODE_EXPORTER_BIN');
    layout = layOutContainer('DaemonSet', 'monitoring', 'node-exporter', 'node-exporter');
    // The DaemonSet mounts the host's folder (checked above); here the host's folder is this run's.
    port = await freePort();
    const args = replaceFlag(replaceFlag(layout.args, '--web.listen-address', `127.0.0.1:${port}`), '--collector.textfile.directory', textfileDir);
    const { runAsUser, runAsGroup } = podSpec(layout.workload).securityContext;
    expect(runAsUser).toBe(65534);
    let log = '';
    exporter = spawn(binary, args, { uid: runAsUser, gid: runAsGroup, cwd: layout.root, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    exporter.stdout?.on('data', (d) => (log += d));
    exporter.stderr?.on('data', (d) => (log += d));
    const deadline = Date.now() + 30000;
    let text = '';
    while (Date.now() < deadline && !text) {
      text = await scrape().catch(() => '');
      if (!text) await new Promise((r) => setTimeout(r, 500));
    }
    if (!text) throw new Error(`node-exporter did not serve /metrics within 30 s:\n${log}`);
    scrapes.push(text);
    expect(samples(text, 'node_textfile_scrape_error')).toEqual([{ labels: {}, value: 0 }]);
    const healthy = Object.fromEntries(samples(text, SMARTMON_METRICS.healthy).map((s) => [s.labels.disk, s.value]));
    // sdd's 0 is the collector's default when smartctl prints no verdict (its SMART is unavailable).
    expect(healthy).toEqual({ '/dev/sda': 1, '/dev/sdb': 0, '/dev/sdd': 0 });
    const enabled = Object.fromEntries(samples(text, SMARTMON_METRICS.enabled).map((s) => [s.labels.disk, s.value]));
    expect(enabled).toEqual({ '/dev/sda': 1, '/dev/sdb': 1, '/dev/sdd': 0 });
    const active = Object.fromEntries(samples(text, SMARTMON_METRICS.active).map((s) => [s.labels.disk, s.value]));
    expect(active).toEqual({ '/dev/sda': 1, '/dev/sdb': 1, '/dev/sdc': 0, '/dev/sdd': 1 });
    expect(samples(text, rawValueMetric('reallocated_sector_ct'))).toContainEqual({ labels: { disk: '/dev/sdb', type: 'sat', smart_id: '5' }, value: 2728 });
    // Every family the rules and the dashboard read is there, with the labels they use.
    for (const family of [SMARTMON_METRICS.healthy, SMARTMON_METRICS.enabled, SMARTMON_METRICS.active, SMARTMON_METRICS.temperature, SMARTMON_METRICS.powerOnHours, ...[...SECTOR_ATTRIBUTES, ...LINK_ATTRIBUTES].map(rawValueMetric)]) {
      expect([family, samples(text, family).some((s) => s.labels.disk === '/dev/sda' && s.labels.type === 'sat')]).toEqual([family, true]);
    }
    // The file label the staleness rule and the dashboard select on.
    const mtime = samples(text, 'node_textfile_mtime_seconds');
    expect(mtime.map((s) => s.labels.file)).toEqual([path.join(textfileDir, SMART_TEXTFILE)]);
    expect(new RegExp(`^(?:(.*/)?${SMART_TEXTFILE.replace(/\./g, '\\.')})$`).test(`${TEXTFILE_MOUNT}/${SMART_TEXTFILE}`)).toBe(true);
  }, 60000);

  test('a later run with pending sectors on sda changes what node-exporter serves', async () => {
    const later = path.join(work, 'later');
    fs.cpSync(RECORDINGS, later, { recursive: true });
    const file = path.join(later, 'sda.attributes.txt');
    const before = fs.readFileSync(file, 'utf8');
    const after = before.replace(/^(197 Current_Pending_Sector .* )0$/m, '$18');
    expect(after).not.toBe(before);
    fs.writeFileSync(file, after);
    expect(runService(later).status).toBe(0);
    const text = await scrape();
    scrapes.push(text);
    expect(samples(text, rawValueMetric('current_pending_sector'))).toContainEqual({ labels: { disk: '/dev/sda', type: 'sat', smart_id: '197' }, value: 8 });
  });

  describe('promtool test rules on the served series (generated rule file, as the prometheus-rules ConfigMap carries it)', () => {
    const families = [SMARTMON_METRICS.healthy, SMARTMON_METRICS.enabled, SMARTMON_METRICS.active, ...SECTOR_ATTRIBUTES.map(rawValueMetric), 'node_textfile_mtime_seconds'];
    const dir = path.join(work, 'promtool');

    /** Input series: each served series with Prometheus's target labels, an hour at the first scrape's value, then an hour at the second's. */
    function inputSeries(): { series: string; values: string }[] {
      const [first, second] = scrapes.map((text) => new Map(families.flatMap((family) => samples(text, family).map((s) => [`${family}${JSON.stringify(s.labels)}`, { family, ...s }] as const))));
      const keys = [...new Set([...first.keys(), ...second.keys()])];
      return keys.map((key) => {
        const s = (first.get(key) ?? second.get(key))!;
        const labels = Object.entries({ ...s.labels, instance: 'potato', job: 'node-exporter' }).map(([k, v]) => `${k}="${v}"`).join(', ');
        // The file's modification time follows the clock: the timer keeps writing.
        if (s.family === 'node_textfile_mtime_seconds') return { series: `${s.family}{${labels}}`, values: '0+60x120' };
        const at = (m: Map<string, Sample & { family: string }>) => (m.has(key) ? String(m.get(key)!.value) : '_');
        return { series: `${s.family}{${labels}}`, values: `${at(first)}x59 ${at(second)}x60` };
      });
    }

    const byDisk = (alert: string, at: string, disks: string[], by = 'disk') => ({
      expr: `count by (${by}) (ALERTS{alertname="${alert}", alertstate="firing"})`,
      eval_time: at,
      exp_samples: disks.map((labels) => ({ labels, value: 1 })),
    });

    function promtoolTest(rules: string): { status: number | null; output: string } {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, RULE_FILE_NAME), rules);
      const tests = {
        rule_files: [RULE_FILE_NAME],
        evaluation_interval: '1m',
        tests: [
          {
            name: 'SMART series as node-exporter served them',
            interval: '1m',
            input_series: inputSeries(),
            promql_expr_test: [
              // sdb's self-assessment failed; sdd gave no verdict (SMART unreadable), which must not count as failing.
              byDisk('SmartDeviceFailing', '30m', ['{disk="/dev/sdb"}']),
              byDisk('SmartSectorsDegrading', '50m', []),
              // sda's pending sectors rose from 0 to 8 in the second hour; sdb's counts are high but steady.
              byDisk('SmartSectorsDegrading', '100m', ['{attribute="current_pending_sector", disk="/dev/sda"}'], 'disk, attribute'),
              byDisk('SmartNotReadable', '90m', ['{disk="/dev/sdd"}']),
              byDisk('SmartDataStale', '100m', []),
            ],
          },
        ],
      };
      fs.writeFileSync(path.join(dir, 'smart-tests.yml'), stringify(tests));
      const promtool = requireTool('promtool', 'PROMTOOL');
      const result = spawnSync(promtool, ['test', 'rules', path.join(dir, 'smart-tests.yml')], { encoding: 'utf8' });
      return { status: result.status, output: `${result.stdout}${result.stderr}` };
    }

    const rules = () => distConfigMapData('monitoring', 'prometheus-rules', RULE_FILE_NAME);

    test('the SMART alerts fire for exactly the disks that deserve them', () => {
      expect(scrapes.length).toBe(2);
      const result = promtoolTest(rules());
      if (result.status !== 0) throw new Error(`promtool test rules failed:\n${result.output}`);
      expect(result.output).toContain('SUCCESS');
    });

    test.each([
      ["the old smartctl-exporter metric name (the rule would never fire)", (r: string) => r.split(SMARTMON_METRICS.healthy).join('smartctl_device_smart_status')],
      ['SmartDeviceFailing without its SMART-enabled guard (sdd would page as failing)', (r: string) => r.split(` and ${SMARTMON_METRICS.enabled} == 1`).join('')],
    ])('the same test fails with %s', (_name, breakRules) => {
      const broken = breakRules(rules());
      expect(broken).not.toBe(rules());
      const result = promtoolTest(broken);
      expect(result.status).not.toBe(0);
      expect(result.output).toContain('SmartDeviceFailing');
    });
  });
});
