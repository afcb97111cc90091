import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import { ComponentName, PotatoStackConfig, webUi } from '../../config';
import {
  ApiIdentity,
  AppDeployment,
  AppPolicy,
  Peer,
  PotatoChart,
  ProxiedWebUi,
  Rule,
  apiServerEgress,
  appLabels,
  httpProbe,
  ingressControllerPeer,
  startupWindow,
} from '../../constructs';
import { KOPIA, KOPIA_PORTS } from '../kopia';
import { TRAEFIK_METRICS_PORT } from '../traefik';
import { FLUENT_BIT_HTTP_PORT } from './fluent-bit';
import { GRAFANA_PORT } from './grafana';
import { KSM_METRICS_PORT } from './kube-state-metrics';
import { LOKI_PORT } from './loki';
import { NODE_EXPORTER_PORT } from './node-exporter';
import { ALERTMANAGER_APP, ALERTMANAGER_PORT, MONITORING_NAMESPACE, PROMETHEUS_APP, PROMETHEUS_PORT } from './peers';
import { CONTAINER_PATHS, prometheusConfig } from './prometheus-config';
import { RULE_FILE_NAME, renderAlertRules } from './rules';
import { thanosSidecarContainer } from './thanos';

const CONFIG_DIR = '/etc/prometheus/config';
export const PROMETHEUS_DATA_DIR = '/prometheus';
/** The kubelet's port on every node. */
export const KUBELET_PORT = 10250;

/** The rendered prometheus.yml text. */
export function renderPrometheusConfig(config: PotatoStackConfig): string {
  return stringify(prometheusConfig(config), { lineWidth: 0 });
}

/**
 * Command-line flags. Memory-minded: two concurrent queries, a sample ceiling per query
 * (~80 MB of samples instead of upstream's ~800 MB), and GOMEMLIMIT left to Prometheus 3's
 * automatic 90 % of the container limit.
 */
export function prometheusArgs(config: PotatoStackConfig): string[] {
  const p = config.monitoring.prometheus;
  return [
    `--config.file=${CONFIG_DIR}/prometheus.yml`,
    `--storage.tsdb.path=${PROMETHEUS_DATA_DIR}`,
    `--storage.tsdb.retention.time=${p.retentionTime}`,
    `--storage.tsdb.retention.size=${p.retentionSize}`,
    // On by default since 2.20; stated so a future default change cannot double the WAL on the HDD.
    '--storage.tsdb.wal-compression',
    '--query.max-concurrency=2',
    '--query.max-samples=5000000',
    '--query.timeout=1m',
    `--web.listen-address=:${PROMETHEUS_PORT}`,
    `--web.external-url=https://${webUi('Prometheus').subdomain}.${config.domain}/`,
  ];
}

/** Scrape targets outside the node: app pods on their metrics ports, per enabled component. */
export function podScrapeTargets(config: PotatoStackConfig): { component: ComponentName; peer: Peer; port: number }[] {
  const monitoring = (app: string): Peer => ({ app, namespace: MONITORING_NAMESPACE });
  const targets: { component: ComponentName; peer: Peer; port: number }[] = [
    { component: 'kube-state-metrics', peer: monitoring('kube-state-metrics'), port: KSM_METRICS_PORT },
    { component: 'fluent-bit', peer: monitoring('fluent-bit'), port: FLUENT_BIT_HTTP_PORT },
    { component: 'loki', peer: monitoring('loki'), port: LOKI_PORT },
    { component: 'grafana', peer: monitoring('grafana'), port: GRAFANA_PORT },
    { component: 'kopia', peer: { app: KOPIA, namespace: 'apps' }, port: KOPIA_PORTS.metrics },
    { component: 'traefik', peer: ingressControllerPeer(config), port: TRAEFIK_METRICS_PORT },
  ];
  return targets.filter((t) => config.components[t.component].enabled);
}

/**
 * Prometheus' egress: the API server (discovery and its /metrics), the node (kubelet with
 * cAdvisor, and node-exporter on the host network), the app pods it scrapes, Alertmanager.
 */
export function prometheusEgress(config: PotatoStackConfig): Rule[] {
  const node = config.network.nodeCidr ?? config.network.lanCidr;
  const nodePorts = [KUBELET_PORT, ...(config.components['node-exporter'].enabled ? [NODE_EXPORTER_PORT] : [])];
  const rules: Rule[] = [...apiServerEgress(config), { peers: [{ cidr: node }], ports: nodePorts.map((port) => ({ port })) }];
  for (const target of podScrapeTargets(config)) rules.push({ peers: [target.peer], ports: [{ port: target.port }] });
  return rules;
}

/** Read-only access for discovery and for the kubelet's and API server's metrics. */
export function prometheusClusterRole(): Pick<k8s.KubeClusterRoleProps, 'rules'> {
  return {
    rules: [
      // nodes/metrics is what the kubelet checks for /metrics and /metrics/cadvisor (no nodes/proxy).
      { apiGroups: [''], resources: ['nodes', 'nodes/metrics', 'services', 'pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
      { nonResourceUrLs: ['/metrics'], verbs: ['get'] },
    ],
  };
}

/**
 * Prometheus without the operator: its configuration and rules rendered here into
 * ConfigMaps (a hash on the pod rolls it when they change), the TSDB on the
 * `prometheus-data` claim of the main HDD, UI behind the proxy.
 */
export class Prometheus extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const name = PROMETHEUS_APP;
    const namespace = MONITORING_NAMESPACE;
    const configText = renderPrometheusConfig(config);
    const rulesText = renderAlertRules(config);
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: 'prometheus-config', namespace, labels: appLabels(name, 'config') },
      data: { 'prometheus.yml': configText },
    });
    new k8s.KubeConfigMap(this, 'Rules', {
      metadata: { name: 'prometheus-rules', namespace, labels: appLabels(name, 'config') },
      data: { [RULE_FILE_NAME]: rulesText },
    });
    new k8s.KubeClusterRole(this, 'ClusterRole', { metadata: { name, labels: appLabels(name, 'api-access') }, ...prometheusClusterRole() });
    const identity = new ApiIdentity(this, 'Identity', { name, namespace, clusterRole: name });
    const ready = httpProbe('/-/ready', 'http');
    new AppDeployment(this, 'Deployment', {
      name,
      namespace,
      role: 'metrics',
      runAs: { uid: 65534, gid: 65534 },
      serviceAccountName: identity.serviceAccountName,
      annotations: { 'potatostack.io/config-hash': createHash('sha256').update(configText).update(rulesText).digest('hex').slice(0, 16) },
      // Lets the TSDB finish writing its head block on shutdown instead of replaying the WAL at start.
      terminationGracePeriodSeconds: 120,
      containers: [
        {
          name,
          image: 'prometheus',
          size: chart.size('prometheus', 'prometheus'),
          args: prometheusArgs(config),
          ports: [{ name: 'http', port: PROMETHEUS_PORT }],
          mounts: [
            { volume: 'data', path: PROMETHEUS_DATA_DIR },
            { volume: 'config', path: CONFIG_DIR, readOnly: true },
            { volume: 'rules', path: CONTAINER_PATHS.rulesDir, readOnly: true },
          ],
          // A WAL replay after a crash reads the whole WAL from the HDD: allow it 15 minutes.
          probes: { startup: startupWindow(ready, 15), readiness: ready, liveness: httpProbe('/-/healthy', 'http', { periodSeconds: 30, failureThreshold: 4 }) },
        },
        ...(chart.enabled('thanos') ? [thanosSidecarContainer(chart, { dataVolume: 'data', dataPath: PROMETHEUS_DATA_DIR, prometheusPort: PROMETHEUS_PORT })] : []),
      ],
      volumes: [
        { name: 'data', claim: 'prometheus-data' },
        { name: 'config', configMap: 'prometheus-config' },
        { name: 'rules', configMap: 'prometheus-rules' },
      ],
    });
    const ui = new ProxiedWebUi(this, 'Ui', { name, namespace, role: 'metrics', subdomain: webUi('Prometheus').subdomain, port: PROMETHEUS_PORT });
    const readers: Peer[] = [...ui.ingressRule.peers, ...(chart.enabled('grafana') ? [{ app: 'grafana', namespace }] : [])];
    new AppPolicy(this, 'Policy', {
      name: 'prometheus-flows',
      namespace,
      app: name,
      ingress: [{ ...ui.ingressRule, peers: readers }],
      egress: [
        ...prometheusEgress(config),
        // Alert delivery (and the scrape of Alertmanager's own metrics, same port).
        ...(chart.enabled('alertmanager') ? [{ peers: [{ app: ALERTMANAGER_APP, namespace }], ports: [{ port: ALERTMANAGER_PORT }] }] : []),
      ],
    });
  }
}
