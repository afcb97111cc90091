import { stringify } from 'yaml';
import { BACKUP_AGE_SLACK_HOURS, PotatoStackConfig, Disk, RULE_LOOKBACK_DAYS, backupCronJobs, enabledVolumes } from '../../config';
import { VPN_POD } from '../../names';
import { SECTOR_ATTRIBUTES, SMARTMON_METRICS, SMART_DATA_MAX_AGE_SECONDS, SMART_TEXTFILE_MTIME, rawValueMetric, smartEnabled } from '../../host/smart';

/** The seed's KPI table, plus what the issue adds; every rule names the one it serves. */
export type SeedKpi =
  | 'memory > 90 %'
  | 'disk > 95 %'
  | 'service down'
  | 'service uptime < 99.5 %'
  | 'response time > 5 s'
  | 'backup success < 95 %'
  | 'failed logins > 50/day'
  | 'SMART failing'
  | 'pod crash-looping'
  | 'OOMKilled'
  | 'PV filling up'
  | 'VPN down'
  | 'alerting pipeline';

export type Severity = 'critical' | 'warning' | 'info';

/**
 * Every threshold the rules use, in one place. The integration suite generates its
 * `promtool test rules` cases from these same numbers, so a change here is tested as is.
 */
export const THRESHOLDS = {
  /** Seed KPI: memory > 90 %. Sustained, because the page cache makes short peaks normal. */
  memoryUsedPercent: 90,
  memoryFor: '15m',
  /** Seed KPI: disk > 95 % is critical; 90 % warns ahead of it. */
  diskWarningPercent: 90,
  diskCriticalPercent: 95,
  /** Fill-up forecast: free space predicted to reach zero within this many hours, from the trend of the last 6 h. */
  fillUpHorizonHours: 24,
  fillUpLookback: '6h',
  /** Only forecast for filesystems already this full (a big download on an empty disk is no emergency). */
  fillUpMinUsedPercent: 80,
  /** Seed KPI: response time > 5 s. Must be one of Traefik's bucket bounds (helm-values/traefik.yaml). */
  responseTimeSeconds: 5,
  /** Share of a service's requests slower than that which alerts, over the window below. */
  slowRequestShare: 0.05,
  responseWindow: '15m',
  /** Fewer requests than this in the window are too few to judge. */
  responseMinRequests: 20,
  /** Seed KPI: backup success rate < 95 %, over the lookback window. */
  backupSuccessRatio: 0.95,
  backupWindowDays: RULE_LOOKBACK_DAYS,
  /**
   * A daily backup job (the dumps and snapshot, the copies, the maintenance) plus two hours of
   * slack; the weekly verification gets eight days (backupCronJobs in lib/config/kopia.ts).
   */
  backupMaxAgeHours: 24 + BACKUP_AGE_SLACK_HOURS,
  /** Seed KPI: failed logins > 50/day (Loki ruler, see loki-rules.ts). */
  failedLoginsPerDay: 50,
  /** Restarts within the window that count as crash-looping. */
  crashLoopRestarts: 3,
  crashLoopWindow: '30m',
  /** Seed KPI: service uptime < 99.5 %, per Deployment over the lookback window. */
  uptimeRatio: 0.995,
  uptimeWindowDays: RULE_LOOKBACK_DAYS,
  /** How long a scrape target may fail before TargetDown. */
  targetDownFor: '10m',
  /** How long a Deployment may have no available pod before ServiceDown (covers a Recreate rollout). */
  serviceDownFor: '5m',
  vpnDownFor: '5m',
} as const;

/** CronJobs in `apps` that take the backups (kube-state-metrics' `cronjob` / `job_name` labels). */
export const BACKUP_JOBS = { namespace: 'apps', pattern: 'kopia.*' } as const;

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  /** @default fires on the first evaluation */
  readonly for?: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly description: string;
  /** Extra static labels (such as the disk of a volume rule). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly kpi: SeedKpi;
}

export interface RuleGroup {
  readonly name: string;
  /** @default the global evaluation interval */
  readonly interval?: string;
  readonly rules: readonly AlertRule[];
}

/** Filesystems worth watching: the SD card and the HDDs, not the kernel's virtual ones. */
const REAL_FS = 'fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.lxcfs|autofs"';

function usedPercent(selector: string): string {
  return `100 * (1 - node_filesystem_avail_bytes{${selector}} / node_filesystem_size_bytes{${selector}})`;
}

/** Regex matcher for a Prometheus `le` label value: v3 stores `5.0`, older scrapes `5`. */
export function leMatcher(bound: number): string {
  const text = String(bound).replace('.', '\\\\.');
  return Number.isInteger(bound) ? `${text}(\\\\.0)?` : text;
}

/** The HDD mount points, by disk. */
export function diskMounts(config: PotatoStackConfig): Record<Disk, string> {
  return { main: config.storage.mainPath, cache: config.storage.cachePath };
}

function nodeRules(config: PotatoStackConfig): RuleGroup {
  const t = THRESHOLDS;
  const hdds = Object.values(diskMounts(config)).join('|');
  const notHdd = `${REAL_FS}, mountpoint!~"${hdds}"`;
  const rootFsRules: AlertRule[] = (['warning', 'critical'] as const).map((severity) => {
    const percent = severity === 'critical' ? t.diskCriticalPercent : t.diskWarningPercent;
    return {
      alert: 'NodeFilesystemAlmostFull',
      expr: `${usedPercent(notHdd)} > ${percent}`,
      for: severity === 'critical' ? '5m' : '30m',
      severity,
      summary: `Filesystem {{ $labels.mountpoint }} is more than ${percent} % full`,
      description: `{{ $labels.mountpoint }} ({{ $labels.device }}) on {{ $labels.instance }} is {{ printf "%.1f" $value }} % full. On the SD card this is usually container images and logs: prune unused images (k3s crictl rmi --prune) and check journald's size.`,
      kpi: 'disk > 95 %',
    };
  });
  return {
    name: 'node',
    rules: [
      {
        alert: 'NodeMemoryHigh',
        expr: `100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > ${t.memoryUsedPercent}`,
        for: t.memoryFor,
        severity: 'warning',
        summary: `Memory use above ${t.memoryUsedPercent} % on {{ $labels.instance }}`,
        description: `{{ $labels.instance }} has used {{ printf "%.1f" $value }} % of its memory for ${t.memoryFor}. The Pods dashboard shows which containers grew; the memory budget in docs/budget.md lists every request and limit.`,
        kpi: 'memory > 90 %',
      },
      ...rootFsRules,
      {
        alert: 'NodeFilesystemFillingUp',
        expr: `predict_linear(node_filesystem_avail_bytes{${REAL_FS}}[${t.fillUpLookback}], ${t.fillUpHorizonHours} * 3600) < 0 and ${usedPercent(REAL_FS)} > ${t.fillUpMinUsedPercent}`,
        for: '1h',
        severity: 'warning',
        summary: `Filesystem {{ $labels.mountpoint }} will be full within ${t.fillUpHorizonHours} h`,
        description: `At the rate of the last ${t.fillUpLookback}, {{ $labels.mountpoint }} on {{ $labels.instance }} (now {{ printf "%.1f" $value }} % used) runs out of space within ${t.fillUpHorizonHours} hours.`,
        kpi: 'disk > 95 %',
      },
    ],
  };
}

function storageRules(config: PotatoStackConfig): RuleGroup {
  const t = THRESHOLDS;
  const rules: AlertRule[] = [];
  for (const [disk, mount] of Object.entries(diskMounts(config)) as [Disk, string][]) {
    const volumes = enabledVolumes(config).filter((v) => v.disk === disk && !v.readOnly).map((v) => v.name);
    if (volumes.length === 0) continue;
    for (const severity of ['warning', 'critical'] as const) {
      const percent = severity === 'critical' ? t.diskCriticalPercent : t.diskWarningPercent;
      rules.push({
        alert: 'VolumeDiskAlmostFull',
        expr: `${usedPercent(`mountpoint="${mount}"`)} > ${percent}`,
        for: severity === 'critical' ? '5m' : '30m',
        severity,
        labels: { disk },
        summary: `The ${disk} HDD is more than ${percent} % full`,
        description: `${mount} is {{ printf "%.1f" $value }} % full. Its hostPath volumes share this space and have no quota of their own: ${volumes.join(', ')}.`,
        kpi: 'PV filling up',
      });
    }
  }
  rules.push({
    alert: 'PersistentVolumeFillingUp',
    // Only volumes whose plugin reports usage: the stack's hostPath volumes do not (the
    // VolumeDiskAlmostFull rules above watch the disks they live on instead).
    expr: `100 * (1 - kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes) > ${t.diskWarningPercent}`,
    for: '15m',
    severity: 'warning',
    summary: 'Volume of claim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is almost full',
    description: `The volume of {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is {{ printf "%.1f" $value }} % full.`,
    kpi: 'PV filling up',
  });
  if (smartEnabled(config)) {
    // SMART data comes from the host's smartmontools timer through node-exporter's textfile collector (lib/host/smart.ts).
    rules.push(
      {
        alert: 'SmartDeviceFailing',
        // The collector also writes 0 when smartctl printed no verdict: only disks whose SMART it reads count.
        expr: `${SMARTMON_METRICS.healthy} == 0 and ${SMARTMON_METRICS.enabled} == 1`,
        for: '5m',
        severity: 'critical',
        summary: 'Disk {{ $labels.disk }} fails its SMART health check',
        description: 'smartctl reports that {{ $labels.disk }} on {{ $labels.instance }} did not pass its overall health self-assessment. Check that the last backup is good and replace the disk.',
        kpi: 'SMART failing',
      },
      {
        alert: 'SmartSectorsDegrading',
        // The raw counts only grow; a rise within a day means the disk is remapping or losing sectors.
        // increase() drops the metric name, so each attribute is named in a label of its own.
        expr: SECTOR_ATTRIBUTES.map((a) => `label_replace(increase(${rawValueMetric(a)}[1d]) > 0, "attribute", "${a}", "", "")`).join(' or '),
        severity: 'warning',
        summary: 'Disk {{ $labels.disk }}: {{ $labels.attribute }} is growing',
        description: '{{ $labels.attribute }} of {{ $labels.disk }} rose by {{ $value }} in the last day: the disk is remapping or losing sectors.',
        kpi: 'SMART failing',
      },
      {
        alert: 'SmartNotReadable',
        expr: `${SMARTMON_METRICS.enabled} == 0 and ${SMARTMON_METRICS.active} == 1`,
        for: '1h',
        severity: 'warning',
        summary: 'SMART of disk {{ $labels.disk }} cannot be read',
        description: 'smartctl finds {{ $labels.disk }} (type {{ $labels.type }}) on {{ $labels.instance }} but reads no SMART data from it: a USB bridge without SAT pass-through, or SMART turned off on the disk (smartctl -s on). Its health is not watched.',
        kpi: 'SMART failing',
      },
      {
        alert: 'SmartDataStale',
        // Missing or old: the host's timer (dist/host/setup-host.sh) did not run, or node-exporter cannot read its file.
        expr: `time() - ${SMART_TEXTFILE_MTIME} > ${SMART_DATA_MAX_AGE_SECONDS} or absent(${SMART_TEXTFILE_MTIME})`,
        for: '15m',
        severity: 'warning',
        summary: 'No fresh SMART data from the storage node',
        description: `node-exporter serves no SMART data written within the last ${SMART_DATA_MAX_AGE_SECONDS / 60} minutes: check \`systemctl status prometheus-node-exporter-smartmon.timer\` on the storage node (dist/host/setup-host.sh installs it). Failing disks go unnoticed meanwhile.`,
        kpi: 'SMART failing',
      },
    );
  }
  return { name: 'storage', rules };
}

function workloadRules(): RuleGroup {
  const t = THRESHOLDS;
  const restarts = (family: string) => `increase(${family}[${t.crashLoopWindow}]) >= ${t.crashLoopRestarts}`;
  const oom = (prefix: string) =>
    `(increase(${prefix}_status_restarts_total[15m]) > 0 and on (namespace, pod, container) ${prefix}_status_last_terminated_reason{reason="OOMKilled"} == 1)`;
  return {
    name: 'workloads',
    rules: [
      {
        alert: 'TargetDown',
        expr: 'up == 0',
        for: t.targetDownFor,
        severity: 'warning',
        summary: 'Prometheus cannot scrape {{ $labels.job }} ({{ $labels.instance }})',
        description: 'The metrics endpoint of {{ $labels.job }} at {{ $labels.instance }} has not answered for ' + t.targetDownFor + ': the app is down, or a NetworkPolicy blocks Prometheus.',
        kpi: 'service down',
      },
      {
        alert: 'ServiceDown',
        expr: 'kube_deployment_spec_replicas > 0 and kube_deployment_status_replicas_available == 0',
        for: t.serviceDownFor,
        severity: 'critical',
        summary: '{{ $labels.namespace }}/{{ $labels.deployment }} has no running pod',
        description: `No pod of {{ $labels.namespace }}/{{ $labels.deployment }} has been ready for ${t.serviceDownFor}. kubectl -n {{ $labels.namespace }} describe pod -l app.kubernetes.io/name={{ $labels.deployment }} shows why (a missing Secret, an unmounted disk, a failing probe).`,
        kpi: 'service down',
      },
      {
        alert: 'PodCrashLooping',
        expr: `${restarts('kube_pod_container_status_restarts_total')} or ${restarts('kube_pod_init_container_status_restarts_total')}`,
        for: '5m',
        severity: 'warning',
        summary: 'Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} is crash-looping',
        description: `{{ $labels.container }} in {{ $labels.namespace }}/{{ $labels.pod }} restarted {{ printf "%.0f" $value }} times in ${t.crashLoopWindow}. Its previous log: kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c {{ $labels.container }} --previous.`,
        kpi: 'pod crash-looping',
      },
      {
        alert: 'PodOOMKilled',
        expr: `${oom('kube_pod_container')} or ${oom('kube_pod_init_container')}`,
        severity: 'warning',
        summary: 'Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} was OOM-killed',
        description: '{{ $labels.container }} in {{ $labels.namespace }}/{{ $labels.pod }} hit its memory limit and was killed. Raise components.<component>.containers.{{ $labels.container }}.limits.memory in stack.config.ts if the budget allows, or find the leak on the Pods dashboard.',
        kpi: 'OOMKilled',
      },
    ],
  };
}

function availabilityRules(config: PotatoStackConfig): RuleGroup {
  const t = THRESHOLDS;
  const window = `${t.uptimeWindowDays}d`;
  const rules: AlertRule[] = [
    {
      alert: 'ServiceUptimeLow',
      expr: `avg_over_time(kube_deployment_status_replicas_available[${window}]) / avg_over_time(kube_deployment_spec_replicas[${window}]) < ${t.uptimeRatio}`,
      for: '1h',
      severity: 'warning',
      summary: `{{ $labels.namespace }}/{{ $labels.deployment }} was up less than ${t.uptimeRatio * 100} % of the last ${t.uptimeWindowDays} days`,
      description: `{{ $labels.namespace }}/{{ $labels.deployment }} had a ready pod {{ $value | humanizePercentage }} of the time over ${t.uptimeWindowDays} days (target ${t.uptimeRatio * 100} %).`,
      kpi: 'service uptime < 99.5 %',
    },
  ];
  if (config.components.traefik.enabled) {
    const w = t.responseWindow;
    const total = `sum by (service) (rate(traefik_service_request_duration_seconds_count[${w}]))`;
    const fast = `sum by (service) (rate(traefik_service_request_duration_seconds_bucket{le=~"${leMatcher(t.responseTimeSeconds)}"}[${w}]))`;
    rules.push({
      alert: 'ServiceResponseTimeHigh',
      // Traefik's histogram (measured at the proxy, so it includes the app's whole answer);
      // the share above the 5 s bucket is exact, where a quantile would be interpolated.
      expr: `(${total} - ${fast}) / ${total} > ${t.slowRequestShare} and sum by (service) (increase(traefik_service_request_duration_seconds_count[${w}])) >= ${t.responseMinRequests}`,
      for: '5m',
      severity: 'warning',
      summary: `Requests to {{ $labels.service }} take longer than ${t.responseTimeSeconds} s`,
      description: `{{ $value | humanizePercentage }} of the requests Traefik sent to {{ $labels.service }} in the last ${w} took longer than ${t.responseTimeSeconds} s (alerting above ${t.slowRequestShare * 100} %).`,
      kpi: 'response time > 5 s',
    });
  }
  // Long windows: evaluated every 5 minutes, they still react within the `for` times.
  return { name: 'availability', interval: '5m', rules };
}

function backupRules(config: PotatoStackConfig): RuleGroup {
  const t = THRESHOLDS;
  const { namespace, pattern } = BACKUP_JOBS;
  const jobs = `namespace="${namespace}", job_name=~"${pattern}"`;
  const window = `${t.backupWindowDays}d`;
  const succeeded = `max_over_time(kube_job_status_succeeded{${jobs}}[${window}]) > 0`;
  const failed = `max_over_time(kube_job_failed{${jobs}, condition="true"}[${window}]) > 0`;
  const cronJobs = backupCronJobs(config);
  // One age rule per backup CronJob, each with the age its schedule allows. A dump is a step of
  // the snapshot Job, which succeeds only with every dump: its age is the dumps' age too.
  const ageRules: AlertRule[] = cronJobs.flatMap((j): AlertRule[] => {
    const selector = `namespace="${namespace}", cronjob="${j.cronjob}"`;
    return [
      {
        alert: 'BackupTooOld',
        expr: `time() - kube_cronjob_status_last_successful_time{${selector}} > ${j.maxAgeHours} * 3600`,
        severity: 'critical',
        labels: { cronjob: j.cronjob },
        summary: `No successful ${j.cronjob} for more than ${j.maxAgeHours} h`,
        description: `The last successful run of ${j.cronjob} finished {{ $value | humanizeDuration }} ago, so ${j.covers} is that old. kubectl -n ${namespace} get jobs -l app.kubernetes.io/name=${j.cronjob} shows its runs; docs/backups.md lists what each step does.`,
        kpi: 'backup success < 95 %',
      },
      {
        alert: 'BackupNeverSucceeded',
        expr: `kube_cronjob_info{${selector}} unless on (namespace, cronjob) kube_cronjob_status_last_successful_time`,
        for: `${j.maxAgeHours}h`,
        severity: 'critical',
        labels: { cronjob: j.cronjob },
        summary: `${j.cronjob} has not completed a single run`,
        description: `${j.cronjob} has existed for ${j.maxAgeHours} h without one successful run: ${j.covers} does not exist yet.`,
        kpi: 'backup success < 95 %',
      },
      {
        alert: 'BackupNotMonitored',
        expr: `absent(kube_cronjob_info{${selector}})`,
        for: '1h',
        severity: 'warning',
        labels: { cronjob: j.cronjob },
        summary: `The backup CronJob ${j.cronjob} is missing`,
        description: `No CronJob ${j.cronjob} exists in ${namespace}, although the config deploys it, so ${j.covers} is neither made nor measured. Kopia's own metrics report repository I/O, not backup outcomes. Apply dist/ again, or silence this alert if backups are watched elsewhere.`,
        kpi: 'backup success < 95 %',
      },
    ];
  });
  return {
    name: 'backups',
    interval: '5m',
    rules: [
      {
        alert: 'BackupSuccessRateLow',
        expr: `(count(${succeeded}) or vector(0)) / count(${succeeded} or ${failed}) < ${t.backupSuccessRatio}`,
        severity: 'warning',
        summary: `Less than ${t.backupSuccessRatio * 100} % of the backups of the last ${t.backupWindowDays} days succeeded`,
        description: `Only {{ $value | humanizePercentage }} of the backup jobs (${pattern} in ${namespace}) of the last ${t.backupWindowDays} days succeeded. kubectl -n ${namespace} get jobs shows the failed runs; their logs say why.`,
        kpi: 'backup success < 95 %',
      },
      ...ageRules,
      {
        alert: 'BackupRepositoryErrors',
        expr: 'sum by (method) (increase(kopia_blob_errors_total[1h])) > 0',
        severity: 'warning',
        summary: 'Kopia fails to {{ $labels.method }} repository blobs',
        description: 'The Kopia server saw {{ printf "%.0f" $value }} failed {{ $labels.method }} operations on its repository in the last hour: check the main HDD and the kopia/repository folder.',
        kpi: 'backup success < 95 %',
      },
    ],
  };
}

function vpnRules(): RuleGroup {
  const t = THRESHOLDS;
  return {
    name: 'vpn',
    rules: [
      {
        alert: 'VpnDown',
        // gluetun is a native sidecar: while its tunnel health check fails the whole pod is
        // not ready, and qBittorrent and slskd are cut off by its killswitch.
        expr: `kube_deployment_status_replicas_available{namespace="vpn", deployment="${VPN_POD}"} == 0`,
        for: t.vpnDownFor,
        severity: 'critical',
        summary: 'The VPN tunnel is down',
        description: `The VPN pod has not been ready for ${t.vpnDownFor}: gluetun's tunnel is not up, so qBittorrent and slskd have no connectivity. kubectl -n vpn logs deploy/${VPN_POD} -c gluetun shows the provider's answer.`,
        kpi: 'VPN down',
      },
    ],
  };
}

function metaRules(config: PotatoStackConfig): RuleGroup {
  const rules: AlertRule[] = [
    {
      alert: 'Watchdog',
      expr: 'vector(1)',
      severity: 'info',
      summary: 'Always firing: proves the rule-to-Alertmanager path works',
      description: 'This alert always fires. Alertmanager routes it to the null receiver; seeing it in the Alertmanager UI shows that Prometheus evaluates rules and delivers alerts.',
      kpi: 'alerting pipeline',
    },
    {
      alert: 'PrometheusRuleFailures',
      expr: 'increase(prometheus_rule_evaluation_failures_total[15m]) > 0',
      severity: 'warning',
      summary: 'Rule group {{ $labels.rule_group }} fails to evaluate',
      description: 'Prometheus failed {{ printf "%.0f" $value }} evaluations of {{ $labels.rule_group }} in 15 minutes: the alerts in it are blind. The Prometheus UI (Status > Rule health) shows the error.',
      kpi: 'alerting pipeline',
    },
  ];
  if (config.components.alertmanager.enabled) {
    rules.push({
      alert: 'AlertmanagerNotificationsFailing',
      expr: 'sum by (integration) (increase(alertmanager_notifications_failed_total[30m])) > 0',
      severity: 'critical',
      summary: 'Alertmanager cannot deliver to {{ $labels.integration }}',
      description: 'Alertmanager failed {{ printf "%.0f" $value }} {{ $labels.integration }} notifications in 30 minutes. Its log names the error: usually a wrong key in the alertmanager-receivers Secret or a blocked port.',
      kpi: 'alerting pipeline',
    });
  }
  return { name: 'meta', rules };
}

/** Every rule group for the enabled components. */
export function alertRuleGroups(config: PotatoStackConfig): RuleGroup[] {
  const groups = [nodeRules(config), storageRules(config), workloadRules(), availabilityRules(config)];
  if (config.components.kopia.enabled) groups.push(backupRules(config));
  if (config.components.vpn.enabled) groups.push(vpnRules());
  groups.push(metaRules(config));
  return groups;
}

/** The groups as a Prometheus rule file (the PrometheusRule `spec` format). */
export function ruleFile(groups: readonly RuleGroup[]): { groups: unknown[] } {
  return {
    groups: groups.map((g) => ({
      name: g.name,
      ...(g.interval ? { interval: g.interval } : {}),
      rules: g.rules.map((r) => ({
        alert: r.alert,
        expr: r.expr,
        ...(r.for ? { for: r.for } : {}),
        labels: { severity: r.severity, ...r.labels },
        annotations: { summary: r.summary, description: r.description },
      })),
    })),
  };
}

/** File name of the rule file inside the rules directory. */
export const RULE_FILE_NAME = 'potatostack-alerts.yml';

/** The rule file's YAML text. */
export function renderAlertRules(config: PotatoStackConfig): string {
  return stringify(ruleFile(alertRuleGroups(config)), { lineWidth: 0 });
}
