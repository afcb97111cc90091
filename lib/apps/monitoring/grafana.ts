import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import { ZONES, webUi } from '../../config';
import {
  AppDeployment,
  AppPolicy,
  PotatoChart,
  ProxiedWebUi,
  Rule,
  appLabels,
  goMemLimit,
  hostFor,
  httpProbe,
  startupWindow,
} from '../../constructs';
import { DATASOURCE_UIDS, dashboards, renderDashboard } from './dashboards';
import { LOKI_PORT, LOKI_SERVICE } from './loki';
import { ALERTMANAGER_APP, ALERTMANAGER_PORT, PROMETHEUS_APP, PROMETHEUS_PORT, alertmanagerPeer, monitoringServiceUrl, prometheusPeer, scrapeAnnotations } from './peers';
import { THANOS_QUERY, THANOS_QUERY_HTTP_PORT } from './thanos';

const NAMESPACE = ZONES.monitoring.namespace;
export const GRAFANA_PORT = 3000;
/** Keys of the admin Secret (its name is `monitoring.grafanaAdminSecret`). */
export const GRAFANA_ADMIN_KEYS = { user: 'admin-user', password: 'admin-password' } as const;

// Still exported from here for the modules that imported them before peers.ts existed.
export { ALERTMANAGER_PORT, PROMETHEUS_PORT } from './peers';

const SECRETS_DIR = '/etc/grafana/secrets';
const DASHBOARDS_DIR = '/etc/grafana/dashboards';

/** Grafana's datasource provisioning file: only the backends that are deployed. */
export function grafanaDatasources(chart: PotatoChart): string {
  const datasources: Record<string, unknown>[] = [
    {
      name: 'Prometheus',
      type: 'prometheus',
      uid: DATASOURCE_UIDS.prometheus,
      access: 'proxy',
      url: monitoringServiceUrl(PROMETHEUS_APP, PROMETHEUS_PORT),
      isDefault: true,
      editable: false,
      // Matches the 60 s scrape interval, so rate() windows never come out empty.
      jsonData: { timeInterval: '60s', httpMethod: 'POST' },
    },
  ];
  if (chart.enabled('loki')) {
    datasources.push({
      name: 'Loki',
      type: 'loki',
      uid: DATASOURCE_UIDS.loki,
      access: 'proxy',
      url: monitoringServiceUrl(LOKI_SERVICE, LOKI_PORT),
      editable: false,
      jsonData: { maxLines: 1000 },
    });
  }
  if (chart.enabled('alertmanager')) {
    datasources.push({
      name: 'Alertmanager',
      type: 'alertmanager',
      uid: DATASOURCE_UIDS.alertmanager,
      access: 'proxy',
      url: monitoringServiceUrl(ALERTMANAGER_APP, ALERTMANAGER_PORT),
      editable: false,
      jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
    });
  }
  if (chart.enabled('thanos')) {
    datasources.push({
      name: 'Thanos',
      type: 'prometheus',
      uid: 'thanos',
      access: 'proxy',
      url: monitoringServiceUrl(THANOS_QUERY, THANOS_QUERY_HTTP_PORT),
      editable: false,
      jsonData: { timeInterval: '60s' },
    });
  }
  return stringify({ apiVersion: 1, datasources });
}

/** File provider: dashboards come from the ConfigMap, and UI edits cannot drift from the code. */
export function grafanaDashboardProvider(): string {
  return stringify({
    apiVersion: 1,
    providers: [
      {
        name: 'potatostack',
        orgId: 1,
        folder: 'PotatoStack',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: DASHBOARDS_DIR },
      },
    ],
  });
}

/**
 * Grafana with provisioned datasources and dashboards, SQLite on the main HDD, admin login
 * from a Secret, reachable through the proxy.
 */
export class Grafana extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const name = 'grafana';
    const size = chart.size('grafana', 'grafana');
    const subdomain = webUi('Grafana').subdomain;

    new k8s.KubeConfigMap(this, 'Datasources', {
      metadata: { name: 'grafana-datasources', namespace: NAMESPACE, labels: appLabels(name, 'config') },
      data: { 'datasources.yaml': grafanaDatasources(chart) },
    });
    new k8s.KubeConfigMap(this, 'DashboardProvider', {
      metadata: { name: 'grafana-dashboard-provider', namespace: NAMESPACE, labels: appLabels(name, 'config') },
      data: { 'dashboards.yaml': grafanaDashboardProvider() },
    });
    const boards = dashboards(config);
    new k8s.KubeConfigMap(this, 'Dashboards', {
      metadata: { name: 'grafana-dashboards', namespace: NAMESPACE, labels: appLabels(name, 'config') },
      data: Object.fromEntries(Object.entries(boards).map(([file, spec]) => [file, JSON.stringify(renderDashboard(spec), null, 1)])),
    });

    const health = httpProbe('/api/health', 'http');
    new AppDeployment(this, 'Deployment', {
      name,
      namespace: NAMESPACE,
      role: 'dashboards',
      runAs: { uid: 472, gid: 472 },
      annotations: scrapeAnnotations(GRAFANA_PORT),
      containers: [
        {
          name,
          image: 'grafana',
          size,
          ports: [{ name: 'http', port: GRAFANA_PORT }],
          env: {
            GF_SECURITY_ADMIN_USER__FILE: `${SECRETS_DIR}/${GRAFANA_ADMIN_KEYS.user}`,
            GF_SECURITY_ADMIN_PASSWORD__FILE: `${SECRETS_DIR}/${GRAFANA_ADMIN_KEYS.password}`,
            GF_SERVER_ROOT_URL: `https://${hostFor(config, subdomain)}/`,
            GF_PATHS_DATA: '/var/lib/grafana',
            GF_PATHS_PROVISIONING: '/etc/grafana/provisioning',
            GF_LOG_MODE: 'console',
            GF_ANALYTICS_REPORTING_ENABLED: 'false',
            GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
            GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: 'false',
            GF_NEWS_NEWS_FEED_ENABLED: 'false',
            // No internet egress: Grafana must not try to download its preinstalled plugins.
            GF_PLUGINS_PREINSTALL_DISABLED: 'true',
            // Prometheus + Alertmanager do the alerting; Grafana's own evaluator would cost memory and CPU.
            GF_UNIFIED_ALERTING_ENABLED: 'false',
            GF_USERS_ALLOW_SIGN_UP: 'false',
            GF_AUTH_ANONYMOUS_ENABLED: 'false',
            GF_SECURITY_COOKIE_SECURE: 'true',
            GF_SECURITY_DISABLE_GRAVATAR: 'true',
            // SQLite in WAL mode writes less often to the HDD and does not lock readers.
            GF_DATABASE_WAL: 'true',
            GOMEMLIMIT: goMemLimit(size),
            TZ: config.timezone,
          },
          mounts: [
            { volume: 'data', path: '/var/lib/grafana' },
            { volume: 'admin', path: SECRETS_DIR, readOnly: true },
            { volume: 'datasources', path: '/etc/grafana/provisioning/datasources', readOnly: true },
            { volume: 'dashboard-provider', path: '/etc/grafana/provisioning/dashboards', readOnly: true },
            { volume: 'dashboards', path: DASHBOARDS_DIR, readOnly: true },
            { volume: 'tmp', path: '/tmp' },
          ],
          // First start runs the SQLite migrations on the HDD: a few minutes on the board.
          probes: { startup: startupWindow(health, 5), liveness: { ...health, periodSeconds: 30, failureThreshold: 4 } },
        },
      ],
      volumes: [
        { name: 'data', claim: 'grafana-data' },
        { name: 'admin', secret: config.monitoring.grafanaAdminSecret, optional: false, defaultMode: 0o440 },
        { name: 'datasources', configMap: 'grafana-datasources' },
        { name: 'dashboard-provider', configMap: 'grafana-dashboard-provider' },
        { name: 'dashboards', configMap: 'grafana-dashboards' },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ],
    });
    const ui = new ProxiedWebUi(this, 'Ui', { name, namespace: NAMESPACE, role: 'dashboards', subdomain, port: GRAFANA_PORT });

    const egress: Rule[] = [{ peers: [prometheusPeer], ports: [{ port: PROMETHEUS_PORT }] }];
    if (chart.enabled('loki')) egress.push({ peers: [{ app: LOKI_SERVICE, namespace: NAMESPACE }], ports: [{ port: LOKI_PORT }] });
    if (chart.enabled('alertmanager')) egress.push({ peers: [alertmanagerPeer], ports: [{ port: ALERTMANAGER_PORT }] });
    if (chart.enabled('thanos')) egress.push({ peers: [{ app: THANOS_QUERY, namespace: NAMESPACE }], ports: [{ port: THANOS_QUERY_HTTP_PORT }] });
    new AppPolicy(this, 'Policy', {
      name: 'grafana-flows',
      namespace: NAMESPACE,
      app: name,
      ingress: [
        ui.ingressRule,
        // Prometheus scrapes Grafana's own /metrics.
        { peers: [prometheusPeer], ports: [{ port: GRAFANA_PORT }] },
      ],
      egress,
    });
  }
}
