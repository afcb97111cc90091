import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import { ALERT_RECEIVER_SECRET, AlertReceiverName, PotatoStackConfig, receiverSecretKeys, webUi } from '../../config';
import { NON_PUBLIC_IPV4 } from '../../config/cidr';
import { AppDeployment, AppPolicy, PodVolume, PotatoChart, ProxiedWebUi, Rule, appLabels, goMemLimit, httpProbe } from '../../constructs';
import { ALERTMANAGER_APP, ALERTMANAGER_PORT, MONITORING_NAMESPACE, prometheusPeer } from './peers';

/** Where the Secret's keys appear inside the container, one file per key. */
export const RECEIVER_SECRET_DIR = '/etc/alertmanager/secrets';
const CONFIG_DIR = '/etc/alertmanager/config';
const DATA_DIR = '/alertmanager';

/** Receiver names in alertmanager.yml. */
export const RECEIVERS = { none: 'null', critical: 'critical', warning: 'warning' } as const;

function secretFile(paths: { secretDir: string }, receiver: AlertReceiverName): string {
  return `${paths.secretDir}/${ALERT_RECEIVER_SECRET.keys[receiver]}`;
}

/** One receiver's notification configs for every enabled channel; warnings arrive silently on Telegram. */
function channelConfigs(config: PotatoStackConfig, severity: 'critical' | 'warning', paths: { secretDir: string }): Record<string, unknown> {
  const r = config.monitoring.alerts;
  const result: Record<string, unknown> = {};
  if (r.email.enabled) result.email_configs = [{ to: r.email.to, send_resolved: true }];
  if (r.telegram.enabled) {
    result.telegram_configs = [
      { bot_token_file: secretFile(paths, 'telegram'), chat_id: r.telegram.chatId, parse_mode: 'HTML', send_resolved: true, disable_notifications: severity === 'warning' },
    ];
  }
  if (r.slack.enabled) {
    result.slack_configs = [{ api_url_file: secretFile(paths, 'slack'), ...(r.slack.channel ? { channel: r.slack.channel } : {}), send_resolved: true }];
  }
  if (r.discord.enabled) result.discord_configs = [{ webhook_url_file: secretFile(paths, 'discord'), send_resolved: true }];
  return result;
}

/**
 * alertmanager.yml: routing by severity (critical to every enabled channel within seconds and
 * repeated every 4 h; warning grouped per alert and namespace, repeated daily; info and
 * anything unlabelled to the null receiver), and inhibition of symptoms by their causes.
 * Credentials are only ever `*_file` paths into the mounted Secret.
 */
export function alertmanagerConfig(config: PotatoStackConfig, paths: { secretDir: string } = { secretDir: RECEIVER_SECRET_DIR }): Record<string, unknown> {
  const { email } = config.monitoring.alerts;
  const global: Record<string, unknown> = { resolve_timeout: '5m' };
  if (email.enabled) {
    Object.assign(global, {
      smtp_smarthost: `${email.smtpHost}:${email.smtpPort}`,
      smtp_from: email.from,
      // 465 is implicit TLS (Alertmanager detects it); 25/587 must offer STARTTLS.
      smtp_require_tls: email.smtpPort !== 465,
      ...(email.username ? { smtp_auth_username: email.username, smtp_auth_password_file: secretFile(paths, 'email') } : {}),
    });
  }
  return {
    global,
    route: {
      receiver: RECEIVERS.none,
      group_by: ['alertname', 'namespace'],
      group_wait: '1m',
      group_interval: '5m',
      repeat_interval: '24h',
      routes: [
        { matchers: ['severity="critical"'], receiver: RECEIVERS.critical, group_wait: '10s', group_interval: '1m', repeat_interval: '4h' },
        { matchers: ['severity="warning"'], receiver: RECEIVERS.warning, group_wait: '2m', group_interval: '10m', repeat_interval: '24h' },
        { matchers: ['severity="info"'], receiver: RECEIVERS.none },
      ],
    },
    inhibit_rules: [
      // The critical level of an alert hides its warning level for the same target.
      { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['alertname', 'instance', 'mountpoint'] },
      // A dead tunnel explains every other failure of the VPN pod.
      { source_matchers: ['alertname="VpnDown"'], target_matchers: ['alertname=~"ServiceDown|TargetDown|PodCrashLooping|ServiceUptimeLow"'], equal: ['namespace'] },
      // An OOM kill explains the crash loop it causes.
      { source_matchers: ['alertname="PodOOMKilled"'], target_matchers: ['alertname="PodCrashLooping"'], equal: ['namespace', 'pod', 'container'] },
      // A crash-looping pod cannot answer scrapes.
      { source_matchers: ['alertname=~"PodCrashLooping|PodOOMKilled"'], target_matchers: ['alertname="TargetDown"'], equal: ['namespace', 'pod'] },
      // While a service is down, its falling uptime is no news.
      { source_matchers: ['alertname="ServiceDown"'], target_matchers: ['alertname="ServiceUptimeLow"'], equal: ['namespace', 'deployment'] },
      // A full disk explains its fill-up forecast.
      { source_matchers: ['alertname=~"VolumeDiskAlmostFull|NodeFilesystemAlmostFull"', 'severity="critical"'], target_matchers: ['alertname="NodeFilesystemFillingUp"'], equal: ['instance', 'mountpoint'] },
    ],
    receivers: [
      { name: RECEIVERS.none },
      { name: RECEIVERS.critical, ...channelConfigs(config, 'critical', paths) },
      { name: RECEIVERS.warning, ...channelConfigs(config, 'warning', paths) },
    ],
  };
}

export function renderAlertmanagerConfig(config: PotatoStackConfig, paths?: { secretDir: string }): string {
  return stringify(alertmanagerConfig(config, paths), { lineWidth: 0 });
}

/** Egress the enabled receivers need: the internet (never private ranges) on their ports only. */
export function receiverEgress(config: PotatoStackConfig): Rule[] {
  const r = config.monitoring.alerts;
  const ports = new Set<number>();
  if (r.email.enabled) ports.add(r.email.smtpPort);
  if (r.telegram.enabled || r.slack.enabled || r.discord.enabled) ports.add(443);
  if (ports.size === 0) return [];
  return [{ peers: [{ cidr: '0.0.0.0/0', except: NON_PUBLIC_IPV4 }], ports: [...ports].sort((a, b) => a - b).map((port) => ({ port })) }];
}

/**
 * Alertmanager, one replica (clustering off) with its silences and notification log on the
 * `alertmanager-data` claim; UI behind the proxy on the `alerts` host.
 */
export class Alertmanager extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const name = ALERTMANAGER_APP;
    const namespace = MONITORING_NAMESPACE;
    const size = chart.size('alertmanager', 'alertmanager');
    const configText = renderAlertmanagerConfig(config);
    const ui = webUi('Alertmanager');
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: 'alertmanager-config', namespace, labels: appLabels(name, 'config') },
      data: { 'alertmanager.yml': configText },
    });
    const secretKeys = receiverSecretKeys(config.monitoring.alerts);
    const volumes: PodVolume[] = [
      { name: 'data', claim: 'alertmanager-data' },
      { name: 'config', configMap: 'alertmanager-config' },
    ];
    // Each needed key is mounted by name: a missing key or Secret holds the pod in
    // ContainerCreating with an event that names it, instead of failing at the first alert.
    if (secretKeys.length > 0) {
      volumes.push({ name: 'receivers', secret: ALERT_RECEIVER_SECRET.name, optional: false, defaultMode: 0o440, items: secretKeys.map((key) => ({ key, path: key })) });
    }
    const ready = httpProbe('/-/ready', 'http');
    new AppDeployment(this, 'Deployment', {
      name,
      namespace,
      role: 'alerting',
      runAs: { uid: 65534, gid: 65534 },
      annotations: {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(ALERTMANAGER_PORT),
        // A config change rolls the pod (Alertmanager only rereads its file on SIGHUP).
        'potatostack.io/config-hash': createHash('sha256').update(configText).digest('hex').slice(0, 16),
      },
      containers: [
        {
          name,
          image: 'alertmanager',
          size,
          args: [
            `--config.file=${CONFIG_DIR}/alertmanager.yml`,
            `--storage.path=${DATA_DIR}`,
            `--web.listen-address=:${ALERTMANAGER_PORT}`,
            `--web.external-url=https://${ui.subdomain}.${config.domain}/`,
            // One replica: no gossip port, no peers to wait for.
            '--cluster.listen-address=',
            '--data.retention=120h',
          ],
          env: { GOMEMLIMIT: goMemLimit(size) },
          ports: [{ name: 'http', port: ALERTMANAGER_PORT }],
          mounts: [
            { volume: 'data', path: DATA_DIR },
            { volume: 'config', path: CONFIG_DIR, readOnly: true },
            ...(secretKeys.length > 0 ? [{ volume: 'receivers', path: RECEIVER_SECRET_DIR, readOnly: true }] : []),
          ],
          probes: { readiness: ready, liveness: httpProbe('/-/healthy', 'http', { periodSeconds: 30 }) },
        },
      ],
      volumes,
    });
    const web = new ProxiedWebUi(this, 'Ui', { name, namespace, role: 'alerting', subdomain: ui.subdomain, port: ALERTMANAGER_PORT });
    const senders = [prometheusPeer, ...(chart.enabled('loki') ? [{ app: 'loki', namespace }] : []), ...(chart.enabled('grafana') ? [{ app: 'grafana', namespace }] : [])];
    const egress = receiverEgress(config);
    new AppPolicy(this, 'Policy', {
      name: 'alertmanager-flows',
      namespace,
      app: name,
      ingress: [
        web.ingressRule,
        // Prometheus and Loki's ruler send alerts (Prometheus also scrapes it); Grafana reads it as a datasource.
        { peers: senders, ports: [{ port: ALERTMANAGER_PORT }] },
      ],
      egress: egress.length > 0 ? egress : undefined,
    });
  }
}
