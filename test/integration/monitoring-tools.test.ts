import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import type { PotatoStackOverrides } from '../../lib/config';
import { renderAlertmanagerConfig } from '../../lib/apps/monitoring/alertmanager';
import { prometheusConfig } from '../../lib/apps/monitoring/prometheus-config';
import { BACKUP_JOBS, RULE_FILE_NAME, THRESHOLDS, alertRuleGroups, renderAlertRules, ruleFile } from '../../lib/apps/monitoring/rules';
import { TEXTFILE_MOUNT } from '../../lib/apps/monitoring/node-exporter';
import { SMART_DATA_MAX_AGE_SECONDS, SMART_TEXTFILE, SMARTMON_METRICS, rawValueMetric } from '../../lib/host/smart';
import { backupCronJobs } from '../../lib/config';
import { find, fullConfig, synthFull } from '../helpers';

/**
 * The generated Prometheus and Alertmanager files through the real tools, at the versions the
 * stack deploys: promtool check config / check rules / test rules, amtool check-config.
 */

const ROOT = path.join(__dirname, '..', '..');
const IMAGES = fullConfig().images;

interface Tool {
  readonly path: string;
  readonly version: string;
}

/** The tool built by scripts/setup-integration.sh (deployed version), else one on PATH (Debian's, older). */
function tool(name: 'promtool' | 'amtool', envVar: string): Tool {
  const candidates = [process.env[envVar], path.join(ROOT, 'tools', 'bin', name), name].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    const run = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (run.status === 0) return { path: candidate, version: /version ([0-9.]+)/.exec(`${run.stdout}${run.stderr}`)?.[1] ?? 'unknown' };
  }
  throw new Error(
    `${name} not found (looked for $${envVar}, tools/bin/${name}, ${name} on PATH). Run scripts/setup-integration.sh: it builds ${name} at the deployed version into tools/bin (needs Go) and installs Debian's prometheus / prometheus-alertmanager packages.`,
  );
}

function run(t: Tool, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(t.path, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function expectSuccess(t: Tool, args: string[]): string {
  const { status, output } = run(t, args);
  if (status !== 0) throw new Error(`${path.basename(t.path)} ${args.join(' ')} failed (${status}):\n${output}`);
  return output;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-monitoring-'));
// KEEP_TMP=1 keeps the generated files for a look (the path is printed).
afterAll(() => (process.env.KEEP_TMP ? console.log(`generated files kept in ${tmp}`) : fs.rmSync(tmp, { recursive: true, force: true })));

function write(file: string, text: string): string {
  const full = path.join(tmp, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, text);
  return full;
}

function configMapData(overrides: PotatoStackOverrides, name: string, key: string): string {
  const text = find(synthFull(overrides), 'ConfigMap', name, 'monitoring').data?.[key];
  if (typeof text !== 'string') throw new Error(`ConfigMap monitoring/${name} has no key ${key}`);
  return text;
}

const ALL_RECEIVERS: PotatoStackOverrides = {
  monitoring: {
    alerts: {
      email: { enabled: true, smtpHost: 'smtp.example.org', smtpPort: 587, from: 'potato@example.org', to: 'me@example.org', username: 'potato' },
      telegram: { enabled: true, chatId: -1001234567890 },
      slack: { enabled: true, channel: '#alerts' },
      discord: { enabled: true },
    },
  },
};

const VARIANTS: Record<string, PotatoStackOverrides> = {
  default: {},
  'nginx-proxy-manager mode, no kopia/vpn/SMART': {
    ingress: { mode: 'nginx-proxy-manager' },
    components: { kopia: { enabled: false }, vpn: { enabled: false }, slskd: { enabled: false } },
    monitoring: { smart: false },
  },
};

describe('promtool', () => {
  const promtool = tool('promtool', 'PROMTOOL');
  const deployed = IMAGES.prometheus.split(':v')[1];

  test(`is the deployed Prometheus version (${deployed}) or says which one it is`, () => {
    // Debian's 2.42 is accepted as a fallback, but the built one must match the image.
    if (promtool.path.includes(path.join('tools', 'bin'))) expect(promtool.version).toBe(deployed);
    else console.warn(`promtool ${promtool.version} from PATH, not the deployed ${deployed}: run scripts/setup-integration.sh`);
  });

  describe.each(Object.entries(VARIANTS))('%s', (_name, overrides) => {
    test('check config --syntax-only passes on the shipped prometheus.yml', () => {
      const file = write(`${_name}/shipped/prometheus.yml`, configMapData(overrides, 'prometheus-config', 'prometheus.yml'));
      expect(expectSuccess(promtool, ['check', 'config', '--syntax-only', file])).toContain('SUCCESS');
    });

    test('check config passes with rule files and ServiceAccount files laid out as in the pod', () => {
      // Without --syntax-only promtool opens the rule files and the token/CA files, so the same
      // config is rendered against a temp directory shaped like the container's mounts.
      const dir = path.join(tmp, _name, 'full');
      const paths = { rulesDir: path.join(dir, 'rules'), serviceAccountDir: path.join(dir, 'sa') };
      write(path.relative(tmp, path.join(paths.rulesDir, RULE_FILE_NAME)), configMapData(overrides, 'prometheus-rules', RULE_FILE_NAME));
      write(path.relative(tmp, path.join(paths.serviceAccountDir, 'token')), 'not-a-real-token\n');
      write(path.relative(tmp, path.join(paths.serviceAccountDir, 'ca.crt')), '');
      const file = write(path.relative(tmp, path.join(dir, 'prometheus.yml')), stringify(prometheusConfig(fullConfig(overrides), paths)));
      const output = expectSuccess(promtool, ['check', 'config', file]);
      expect(output).toContain('1 rule files found');
    });

    test('check rules --lint-fatal passes on the shipped rule file', () => {
      const file = write(`${_name}/rules-only/${RULE_FILE_NAME}`, configMapData(overrides, 'prometheus-rules', RULE_FILE_NAME));
      expect(expectSuccess(promtool, ['check', 'rules', '--lint-fatal', file])).toMatch(/SUCCESS: [0-9]+ rules found/);
    });
  });

  test('check rules rejects a broken rule (the check can fail)', () => {
    const file = write('broken/rules.yml', stringify({ groups: [{ name: 'x', rules: [{ alert: 'Broken', expr: 'up ==' }] }] }));
    expect(run(promtool, ['check', 'rules', file]).status).not.toBe(0);
  });

  test('test rules: the key alerts fire past their thresholds and stay quiet below them', () => {
    const rulesFile = write(`unit/${RULE_FILE_NAME}`, renderAlertRules(fullConfig()));
    const testFile = write('unit/alerts.test.yml', stringify(ruleTests(path.basename(rulesFile)), { lineWidth: 0 }));
    const output = expectSuccess(promtool, ['test', 'rules', testFile]);
    expect(output).toContain('SUCCESS');
  });

  test("test rules: each backup CronJob's age alerts fire past its maximum age and stay quiet below it", () => {
    const backups = alertRuleGroups(fullConfig()).filter((g) => g.name === 'backups');
    expect(backups[0]?.interval).toBe('5m');
    const rulesFile = write('backups/backups.yml', stringify(ruleFile(backups), { lineWidth: 0 }));
    const testFile = write('backups/backups.test.yml', stringify(ruleTests(path.basename(rulesFile), backupAgeCases(), '5m'), { lineWidth: 0 }));
    expect(expectSuccess(promtool, ['test', 'rules', testFile])).toContain('SUCCESS');
  });

  test('the backup age cases would catch a maximum age that does not hold', () => {
    // The copy's maximum age doubled in the rules: its "fires past the maximum age" case must fail.
    const backups = alertRuleGroups(fullConfig()).filter((g) => g.name === 'backups');
    const text = stringify(ruleFile(backups), { lineWidth: 0 });
    const mutated = text.replace('cronjob="kopia-copy"} > 26 * 3600', 'cronjob="kopia-copy"} > 52 * 3600');
    expect(mutated).not.toBe(text);
    write('backups-mutant/backups.yml', mutated);
    const testFile = write('backups-mutant/backups.test.yml', stringify(ruleTests('backups.yml', backupAgeCases(), '5m'), { lineWidth: 0 }));
    const { status, output } = run(promtool, ['test', 'rules', testFile]);
    expect(status).not.toBe(0);
    expect(output).toMatch(/BackupTooOld.*kopia-copy/);
  });

  test('test rules would catch a threshold that does not hold (the generated cases can fail)', () => {
    // The same cases against rules whose memory threshold is raised: the "fires above" case must fail.
    const rules = renderAlertRules(fullConfig()).replace(`> ${THRESHOLDS.memoryUsedPercent}\n`, `> ${THRESHOLDS.memoryUsedPercent + 5}\n`);
    expect(rules).not.toBe(renderAlertRules(fullConfig()));
    write(`mutant/${RULE_FILE_NAME}`, rules);
    const testFile = write('mutant/alerts.test.yml', stringify(ruleTests(RULE_FILE_NAME), { lineWidth: 0 }));
    const { status, output } = run(promtool, ['test', 'rules', testFile]);
    expect(status).not.toBe(0);
    expect(output).toContain('NodeMemoryHigh');
  });
});

describe('amtool', () => {
  const amtool = tool('amtool', 'AMTOOL');
  const deployed = IMAGES.alertmanager.split(':v')[1];

  test(`is the deployed Alertmanager version (${deployed}) or says which one it is`, () => {
    if (amtool.path.includes(path.join('tools', 'bin'))) expect(amtool.version).toBe(deployed);
    else console.warn(`amtool ${amtool.version} from PATH, not the deployed ${deployed}: run scripts/setup-integration.sh`);
  });

  test('check-config passes on the shipped alertmanager.yml (no receiver enabled)', () => {
    const file = write('am/default.yml', configMapData({}, 'alertmanager-config', 'alertmanager.yml'));
    const output = expectSuccess(amtool, ['check-config', file]);
    expect(output).toContain('SUCCESS');
    expect(output).toMatch(/3 receivers/);
  });

  test('check-config passes with all four receivers enabled, credentials as *_file paths', () => {
    const text = configMapData(ALL_RECEIVERS, 'alertmanager-config', 'alertmanager.yml');
    const parsed = parse(text);
    const critical = parsed.receivers.find((r: { name: string }) => r.name === 'critical');
    expect(Object.keys(critical).sort()).toEqual(['discord_configs', 'email_configs', 'name', 'slack_configs', 'telegram_configs']);
    const file = write('am/all.yml', text);
    expect(expectSuccess(amtool, ['check-config', file])).toContain('SUCCESS');
  });

  test('check-config rejects a receiver without credentials (the check can fail)', () => {
    const broken = parse(renderAlertmanagerConfig(fullConfig(ALL_RECEIVERS)));
    delete broken.receivers.find((r: { name: string }) => r.name === 'critical').telegram_configs[0].bot_token_file;
    const file = write('am/broken.yml', stringify(broken));
    expect(run(amtool, ['check-config', file]).status).not.toBe(0);
  });
});

// ---------------------------------------------------------------------------------------
// promtool unit tests, generated from THRESHOLDS so they test the numbers the rules use.

type Series = { series: string; values: string };
type ExprTest = { expr: string; eval_time: string; exp_samples: { labels: string; value: number }[] };
interface Case {
  readonly name: string;
  /** Sample interval of the series. @default '1m' */
  readonly interval?: string;
  readonly series: Series[];
  readonly checks: ExprTest[];
}

/** Firing alerts of one name at a time, counted per severity. */
function firing(alert: string, at: string, severity?: string, extra = ''): ExprTest {
  return {
    expr: `count by (severity) (ALERTS{alertname="${alert}", alertstate="firing"${extra}})`,
    eval_time: at,
    exp_samples: severity ? [{ labels: `{severity="${severity}"}`, value: 1 }] : [],
  };
}

/** An alert of that name waiting out its `for` time (matching `extra`), not firing yet. */
function pending(alert: string, at: string, extra = ''): ExprTest {
  return { expr: `count(ALERTS{alertname="${alert}", alertstate="pending"${extra}})`, eval_time: at, exp_samples: [{ labels: '{}', value: 1 }] };
}

/** No alert of that name (optionally only those matching `extra`) at that time, whatever its state. */
function quiet(alert: string, at: string, extra = ''): ExprTest {
  return { expr: `count(ALERTS{alertname="${alert}"${extra}})`, eval_time: at, exp_samples: [] };
}
const minutes = (d: string) => Number(/^([0-9]+)m$/.exec(d)?.[1] ?? NaN);
const constant = (value: number, samples: number) => `${value}x${samples}`;

function ruleCases(): Case[] {
  const t = THRESHOLDS;
  const config = fullConfig();
  const main = config.storage.mainPath;
  const memFor = minutes(t.memoryFor);
  const afterMem = `${memFor + 5}m`;
  const fs = (mount: string, usedPercent: number) => [
    { series: `node_filesystem_size_bytes{instance="potato", mountpoint="${mount}", fstype="ext4", device="/dev/x"}`, values: constant(1000, 60) },
    { series: `node_filesystem_avail_bytes{instance="potato", mountpoint="${mount}", fstype="ext4", device="/dev/x"}`, values: constant(10 * (100 - usedPercent), 60) },
  ];
  const succeeded = 20;
  // Just enough failures to fall below the success threshold.
  const failed = Math.floor((succeeded * (1 - t.backupSuccessRatio)) / t.backupSuccessRatio) + 1;
  const jobs = (count: number, metric: string, extraLabels: string, offset: number): Series[] =>
    Array.from({ length: count }, (_, i) => ({ series: `${metric}{namespace="${BACKUP_JOBS.namespace}", job_name="kopia-snapshot-${offset + i}"${extraLabels}}`, values: constant(1, 20) }));
  const slowShare = (share: number): Series[] => [
    { series: 'traefik_service_request_duration_seconds_count{service="apps-nextcloud-80@kubernetes"}', values: '0+60x40' },
    // Prometheus 3 stores le="5.0" for the 5 s bound.
    { series: `traefik_service_request_duration_seconds_bucket{service="apps-nextcloud-80@kubernetes", le="${t.responseTimeSeconds.toFixed(1)}"}`, values: `0+${60 * (1 - share)}x40` },
  ];
  return [
    {
      name: 'memory above the threshold fires, below stays quiet',
      series: [
        { series: 'node_memory_MemTotal_bytes{instance="above"}', values: constant(1000, 40) },
        { series: 'node_memory_MemAvailable_bytes{instance="above"}', values: constant(10 * (100 - t.memoryUsedPercent - 1), 40) },
        { series: 'node_memory_MemTotal_bytes{instance="below"}', values: constant(1000, 40) },
        { series: 'node_memory_MemAvailable_bytes{instance="below"}', values: constant(10 * (100 - t.memoryUsedPercent + 1), 40) },
      ],
      checks: [
        firing('NodeMemoryHigh', afterMem, 'warning', ', instance="above"'),
        quiet('NodeMemoryHigh', afterMem, ', instance="below"'),
      ],
    },
    {
      name: 'SD card above the critical disk threshold: warning and critical',
      series: fs('/', t.diskCriticalPercent + 1),
      checks: [firing('NodeFilesystemAlmostFull', '10m', 'critical', ', severity="critical"'), firing('NodeFilesystemAlmostFull', '45m', 'warning', ', severity="warning"')],
    },
    {
      name: 'SD card below the warning threshold stays quiet',
      series: fs('/', t.diskWarningPercent - 1),
      checks: [quiet('NodeFilesystemAlmostFull', '45m')],
    },
    {
      name: 'the main HDD full: the volume rule fires (with the disk), not the generic one',
      series: fs(main, t.diskCriticalPercent + 1),
      checks: [firing('VolumeDiskAlmostFull', '10m', 'critical', ', severity="critical", disk="main"'), quiet('NodeFilesystemAlmostFull', '45m')],
    },
    {
      name: 'a filesystem losing space fast is forecast to fill up; a steady one is not',
      series: [
        { series: 'node_filesystem_size_bytes{instance="potato", mountpoint="/falling", fstype="ext4"}', values: constant(100000, 200) },
        // 85 % used, losing 20 bytes a minute: empty in 12.5 h.
        { series: 'node_filesystem_avail_bytes{instance="potato", mountpoint="/falling", fstype="ext4"}', values: '15000-20x200' },
        { series: 'node_filesystem_size_bytes{instance="potato", mountpoint="/steady", fstype="ext4"}', values: constant(100000, 200) },
        { series: 'node_filesystem_avail_bytes{instance="potato", mountpoint="/steady", fstype="ext4"}', values: constant(15000, 200) },
      ],
      checks: [firing('NodeFilesystemFillingUp', '150m', 'warning', ', mountpoint="/falling"'), quiet('NodeFilesystemFillingUp', '150m', ', mountpoint="/steady"')],
    },
    {
      name: 'a target down for longer than the grace time fires',
      series: [
        { series: 'up{job="kopia", instance="10.42.0.9:51516"}', values: constant(0, 30) },
        { series: 'up{job="loki", instance="10.42.0.7:3100"}', values: constant(1, 30) },
      ],
      checks: [firing('TargetDown', `${minutes(t.targetDownFor) + 2}m`, 'warning', ', job="kopia"'), quiet('TargetDown', '20m', ', job="loki"')],
    },
    {
      name: 'a Deployment without an available pod is a critical ServiceDown',
      series: [
        { series: 'kube_deployment_spec_replicas{namespace="apps", deployment="gitea"}', values: constant(1, 20) },
        { series: 'kube_deployment_status_replicas_available{namespace="apps", deployment="gitea"}', values: constant(0, 20) },
      ],
      checks: [firing('ServiceDown', `${minutes(t.serviceDownFor) + 2}m`, 'critical')],
    },
    {
      name: 'restarts at the crash-loop threshold fire; a stable container does not',
      series: [
        { series: 'kube_pod_container_status_restarts_total{namespace="apps", pod="gitea-x", container="gitea"}', values: '0+1x40' },
        { series: 'kube_pod_container_status_restarts_total{namespace="apps", pod="kopia-x", container="kopia"}', values: constant(2, 40) },
      ],
      checks: [firing('PodCrashLooping', '30m', 'warning', ', container="gitea"'), quiet('PodCrashLooping', '30m', ', container="kopia"')],
    },
    {
      name: 'a restart after an OOM kill is PodOOMKilled',
      series: [
        { series: 'kube_pod_container_status_restarts_total{namespace="apps", pod="nextcloud-x", container="nextcloud"}', values: '0 0 0 0 0 1 1 1 1 1' },
        { series: 'kube_pod_container_status_last_terminated_reason{namespace="apps", pod="nextcloud-x", container="nextcloud", reason="OOMKilled"}', values: '_ _ _ _ _ 1 1 1 1 1' },
      ],
      checks: [firing('PodOOMKilled', '7m', 'warning')],
    },
    {
      name: `more than ${t.slowRequestShare * 100} % of requests slower than ${t.responseTimeSeconds} s fires`,
      series: slowShare(t.slowRequestShare * 2),
      checks: [firing('ServiceResponseTimeHigh', '30m', 'warning')],
    },
    {
      name: `fewer than ${t.slowRequestShare * 100} % slow requests stay quiet`,
      series: slowShare(t.slowRequestShare / 2),
      checks: [quiet('ServiceResponseTimeHigh', '30m')],
    },
    {
      name: `backup success below ${t.backupSuccessRatio * 100} % fires`,
      series: [...jobs(succeeded, 'kube_job_status_succeeded', '', 0), ...jobs(failed, 'kube_job_failed', ', condition="true"', succeeded), ...jobs(failed, 'kube_job_status_succeeded', '', succeeded).map((s) => ({ ...s, values: constant(0, 20) }))],
      checks: [firing('BackupSuccessRateLow', '10m', 'warning')],
    },
    {
      name: 'all backups succeeding stays quiet',
      series: jobs(succeeded, 'kube_job_status_succeeded', '', 0),
      checks: [quiet('BackupSuccessRateLow', '10m')],
    },
    {
      name: 'a failing SMART self-assessment is critical; a disk without readable SMART only warns that it is not watched',
      series: [
        { series: `${SMARTMON_METRICS.healthy}{disk="/dev/sda", type="sat", instance="potato"}`, values: constant(0, 20) },
        { series: `${SMARTMON_METRICS.enabled}{disk="/dev/sda", type="sat", instance="potato"}`, values: constant(1, 20) },
        { series: `${SMARTMON_METRICS.healthy}{disk="/dev/sdb", type="sat", instance="potato"}`, values: constant(1, 20) },
        { series: `${SMARTMON_METRICS.enabled}{disk="/dev/sdb", type="sat", instance="potato"}`, values: constant(1, 20) },
        // No verdict (the collector writes 0) from a disk whose SMART is unreadable: not failing, but not readable either.
        { series: `${SMARTMON_METRICS.healthy}{disk="/dev/sdc", type="scsi", instance="potato"}`, values: constant(0, 80) },
        { series: `${SMARTMON_METRICS.enabled}{disk="/dev/sdc", type="scsi", instance="potato"}`, values: constant(0, 80) },
        { series: `${SMARTMON_METRICS.active}{disk="/dev/sdc", type="scsi", instance="potato"}`, values: constant(1, 80) },
      ],
      checks: [
        firing('SmartDeviceFailing', '10m', 'critical', ', disk="/dev/sda"'),
        quiet('SmartDeviceFailing', '10m', ', disk="/dev/sdb"'),
        quiet('SmartDeviceFailing', '70m', ', disk="/dev/sdc"'),
        firing('SmartNotReadable', '70m', 'warning', ', disk="/dev/sdc"'),
        quiet('SmartNotReadable', '70m', ', disk="/dev/sda"'),
      ],
    },
    {
      name: 'a growing sector count warns and names its attribute; a steady non-zero one does not',
      series: [
        { series: `${rawValueMetric('reallocated_sector_ct')}{disk="/dev/sda", type="sat", smart_id="5", instance="potato"}`, values: `${constant(0, 60)} ${constant(8, 60)}` },
        { series: `${rawValueMetric('current_pending_sector')}{disk="/dev/sdb", type="sat", smart_id="197", instance="potato"}`, values: constant(3, 120) },
      ],
      checks: [
        firing('SmartSectorsDegrading', '100m', 'warning', ', disk="/dev/sda", attribute="reallocated_sector_ct"'),
        quiet('SmartSectorsDegrading', '50m'),
        quiet('SmartSectorsDegrading', '100m', ', disk="/dev/sdb"'),
      ],
    },
    {
      name: 'SMART data older than its limit warns; data the timer keeps writing does not',
      series: [
        // The file's modification time stays at 0 (stale) on one node and follows the clock on the other.
        { series: `node_textfile_mtime_seconds{file="${TEXTFILE_MOUNT}/${SMART_TEXTFILE}", instance="stale"}`, values: constant(0, 120) },
        { series: `node_textfile_mtime_seconds{file="${TEXTFILE_MOUNT}/${SMART_TEXTFILE}", instance="fresh"}`, values: '0+60x120' },
      ],
      checks: [
        firing('SmartDataStale', `${SMART_DATA_MAX_AGE_SECONDS / 60 + 20}m`, 'warning', ', instance="stale"'),
        quiet('SmartDataStale', `${SMART_DATA_MAX_AGE_SECONDS / 60 - 5}m`),
        quiet('SmartDataStale', `${SMART_DATA_MAX_AGE_SECONDS / 60 + 20}m`, ', instance="fresh"'),
      ],
    },
    {
      name: 'no SMART file at all (the host timer never ran) warns',
      series: [{ series: 'up{job="node-exporter", instance="potato"}', values: constant(1, 40) }],
      checks: [firing('SmartDataStale', '20m', 'warning'), firing('SmartDataStale', '10m')],
    },
    {
      name: 'the VPN pod not available is a critical VpnDown',
      series: [{ series: 'kube_deployment_status_replicas_available{namespace="vpn", deployment="vpn"}', values: constant(0, 20) }],
      checks: [firing('VpnDown', `${minutes(t.vpnDownFor) + 2}m`, 'critical')],
    },
    {
      name: 'a working VPN pod stays quiet',
      series: [{ series: 'kube_deployment_status_replicas_available{namespace="vpn", deployment="vpn"}', values: constant(1, 20) }],
      checks: [quiet('VpnDown', '15m')],
    },
    {
      name: 'the watchdog always fires, as info',
      series: [],
      checks: [firing('Watchdog', '1m', 'info')],
    },
  ];
}

/**
 * Every backup CronJob's age alerts (dumps and snapshot, copies, verification, maintenance), at
 * its own maximum age: stale fires, fresh stays quiet, an hour before the limit too. They run
 * against the backups group alone, evaluated at its own 5-minute interval: the weekly
 * verification needs eight days of samples, too long to evaluate every rule each minute.
 */
function backupAgeCases(): Case[] {
  const config = fullConfig();
  return backupCronJobs(config).flatMap((j): Case[] => {
    const cron = `namespace="${BACKUP_JOBS.namespace}", cronjob="${j.cronjob}"`;
    const samples = (j.maxAgeHours + 2) * 60;
    const only = `, cronjob="${j.cronjob}"`;
    return [
      {
        name: `${j.cronjob}: no success for more than ${j.maxAgeHours} h is a critical BackupTooOld`,
        series: [
          { series: `kube_cronjob_info{${cron}}`, values: constant(1, samples) },
          { series: `kube_cronjob_status_last_successful_time{${cron}}`, values: constant(0, samples) },
        ],
        checks: [firing('BackupTooOld', `${j.maxAgeHours + 1}h`, 'critical', only), quiet('BackupTooOld', `${j.maxAgeHours - 1}h`, only), quiet('BackupNeverSucceeded', `${j.maxAgeHours + 1}h`, only)],
      },
      {
        name: `${j.cronjob}: a run that keeps succeeding stays quiet`,
        series: [
          { series: `kube_cronjob_info{${cron}}`, values: constant(1, samples) },
          // Succeeding every minute: the last success is always fresh.
          { series: `kube_cronjob_status_last_successful_time{${cron}}`, values: `0+60x${samples}` },
        ],
        checks: [quiet('BackupTooOld', `${j.maxAgeHours + 1}h`, only)],
      },
      {
        name: `${j.cronjob}: never a success within ${j.maxAgeHours} h fires BackupNeverSucceeded (pending before)`,
        series: [{ series: `kube_cronjob_info{${cron}}`, values: constant(1, samples) }],
        checks: [
          firing('BackupNeverSucceeded', `${j.maxAgeHours + 1}h`, 'critical', only),
          firing('BackupNeverSucceeded', `${j.maxAgeHours - 1}h`, undefined, only),
          pending('BackupNeverSucceeded', `${j.maxAgeHours - 1}h`, only),
        ],
      },
      {
        name: `${j.cronjob}: a missing CronJob is reported`,
        series: [{ series: 'up{job="kube-state-metrics"}', values: constant(1, 80) }],
        checks: [firing('BackupNotMonitored', '65m', 'warning', only)],
      },
    ];
  });
}

/** A promtool test file for the rule file `rulesFile` (relative to the test file). */
function ruleTests(rulesFile: string, cases: Case[] = ruleCases(), evaluationInterval = '1m'): unknown {
  return {
    rule_files: [rulesFile],
    evaluation_interval: evaluationInterval,
    tests: cases.map((c) => ({ name: c.name, interval: c.interval ?? '1m', input_series: c.series, promql_expr_test: c.checks })),
  };
}
