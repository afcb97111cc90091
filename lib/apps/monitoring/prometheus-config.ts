import type { PotatoStackConfig } from '../../config';
import { ALERTMANAGER_APP, ALERTMANAGER_PORT, MONITORING_NAMESPACE, PROMETHEUS_PORT } from './peers';

/** Where the files sit inside the Prometheus container. */
export interface PrometheusPaths {
  /** Directory of the rule files (a ConfigMap mount). */
  readonly rulesDir: string;
  /** The pod's ServiceAccount mount (token and cluster CA). */
  readonly serviceAccountDir: string;
}

export const CONTAINER_PATHS: PrometheusPaths = {
  rulesDir: '/etc/prometheus/rules',
  serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
};

/** Apps scraped by their own job (with their own metric filter), not by the generic `pods` job. */
export const DEDICATED_JOBS = ['node-exporter', 'kube-state-metrics', 'traefik'] as const;

/**
 * Histogram families k3s's single process exposes on every endpoint (the kubelet's /metrics
 * carries the API server's, etcd's and the controllers' too). Their buckets are the bulk of
 * a k3s scrape and nothing here reads them, so they are dropped before ingestion; the keep
 * lists below would drop them as well, the explicit list keeps them out if a keep list grows.
 */
export const K3S_HISTOGRAM_PREFIXES = [
  'apiserver',
  'etcd',
  'workqueue',
  'rest_client',
  'storage_operation',
  'kubelet_runtime_operations',
  'kubelet_pod_worker',
  'kubelet_pleg',
  'scheduler',
  'authentication',
  'authorization',
  'kubernetes_feature',
  'csi_operations',
] as const;

/** Bucket series of the families above. */
export const K3S_HISTOGRAM_DROP = `(${K3S_HISTOGRAM_PREFIXES.join('|')})_.+_bucket`;

/**
 * Metrics kept per job. Everything else is dropped at scrape time: on a 2 GB board every
 * series costs Prometheus memory, and these are the ones the rules and dashboards read.
 */
export const KEEP_METRICS = {
  // The kubelet's own metrics: volume stats (for claims that have them) and pod counts.
  kubelet: ['kubelet_volume_stats_.+', 'kubelet_running_pods', 'kubelet_running_containers', 'kubelet_node_name'],
  // cAdvisor through the kubelet: per-container CPU, memory, OOM events, throttling and pod network.
  cadvisor: [
    'container_cpu_usage_seconds_total',
    'container_cpu_cfs_periods_total',
    'container_cpu_cfs_throttled_periods_total',
    'container_memory_working_set_bytes',
    'container_memory_rss',
    'container_oom_events_total',
    'container_network_receive_bytes_total',
    'container_network_transmit_bytes_total',
  ],
  // The k3s server process: its own memory and CPU (the budget's biggest reserved line) and object counts.
  apiserver: [
    'process_resident_memory_bytes',
    'process_cpu_seconds_total',
    'process_start_time_seconds',
    'go_memstats_heap_inuse_bytes',
    'go_goroutines',
    'apiserver_storage_objects',
    'apiserver_resource_objects',
  ],
} as const;

/** Go runtime and HTTP handler internals every Go exporter carries; no rule or dashboard reads them. */
export const NOISE_METRICS = 'go_gc_.+|go_sched_.+|go_cpu_.+|go_godebug_.+|go_memstats_(?:alloc|buck|frees|gc|lookups|mallocs|mcache|mspan|next|other|stack|sys).*|promhttp_.+|net_conntrack_.+';

type Json = Record<string, unknown>;

function keepRegex(names: readonly string[]): string {
  return names.join('|');
}

/**
 * Bearer-token access with the pod's ServiceAccount, verifying the server against the cluster
 * CA: k3s signs both the API server's and the kubelets' serving certificates with its server
 * CA (the ca.crt in every ServiceAccount mount), and puts the node addresses in their SANs.
 */
function serviceAccountAuth(paths: PrometheusPaths): Json {
  return {
    scheme: 'https',
    authorization: { type: 'Bearer', credentials_file: `${paths.serviceAccountDir}/token` },
    tls_config: { ca_file: `${paths.serviceAccountDir}/ca.crt` },
  };
}

/** Target labels every pod-discovered job carries: namespace, pod, node, and the app as `job`. */
const POD_TARGET_LABELS: Json[] = [
  { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
  { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
  { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], target_label: 'app' },
];

/**
 * Pods of one app, scraped on the container port named `metrics`. An exporter that reports
 * about other objects (kube-state-metrics) carries its own namespace/pod/container labels:
 * `aboutOthers` keeps the exporter's pod out of the labels and lets the series' labels win
 * (otherwise Prometheus would rename them to exported_namespace etc.).
 */
function namedPortJob(app: string, namespace: string, extra: Json = {}, aboutOthers = false): Json {
  return {
    job_name: app,
    ...(aboutOthers ? { honor_labels: true } : {}),
    kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [namespace] } }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: app, action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics', action: 'keep' },
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed', action: 'drop' },
      ...(aboutOthers ? [] : POD_TARGET_LABELS),
      // On a single node the node name reads better than the pod IP:port.
      { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'instance' },
    ],
    ...extra,
  };
}

/**
 * Pods that opt in with `prometheus.io/scrape: "true"`, on the port (and path) their
 * annotations name; `job` is the pod's app.kubernetes.io/name.
 */
function annotatedPodsJob(jobName: string, select: { namespaces?: string[]; apps?: readonly string[]; excludeApps?: readonly string[] }, extra: Json = {}): Json {
  return {
    job_name: jobName,
    kubernetes_sd_configs: [{ role: 'pod', ...(select.namespaces ? { namespaces: { names: select.namespaces } } : {}) }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' },
      ...(select.apps ? [{ source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: select.apps.join('|'), action: 'keep' }] : []),
      ...(select.excludeApps ? [{ source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: select.excludeApps.join('|'), action: 'drop' }] : []),
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed', action: 'drop' },
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], regex: '(.+)', target_label: '__metrics_path__' },
      {
        source_labels: ['__meta_kubernetes_pod_ip', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
        regex: '(.+);([0-9]+)',
        replacement: '$1:$2',
        target_label: '__address__',
      },
      ...POD_TARGET_LABELS,
      { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: '(.+)', target_label: 'job' },
    ],
    ...extra,
  };
}

/** The kubelet of every node, straight on :10250 (the node's kubelet endpoint) with the SA token. */
function kubeletJob(jobName: string, metricsPath: string, paths: PrometheusPaths, metricRelabel: Json[]): Json {
  return {
    job_name: jobName,
    metrics_path: metricsPath,
    ...serviceAccountAuth(paths),
    kubernetes_sd_configs: [{ role: 'node' }],
    relabel_configs: [{ source_labels: ['__meta_kubernetes_node_name'], target_label: 'instance' }, { source_labels: ['__meta_kubernetes_node_name'], target_label: 'node' }],
    metric_relabel_configs: metricRelabel,
  };
}

const dropK3sHistograms: Json = { source_labels: ['__name__'], regex: K3S_HISTOGRAM_DROP, action: 'drop' };
const dropBuckets: Json = { source_labels: ['__name__'], regex: '.+_bucket', action: 'drop' };
const dropNoise: Json = { source_labels: ['__name__'], regex: NOISE_METRICS, action: 'drop' };

/**
 * prometheus.yml. Discovery is Kubernetes-native: pods opt in with annotations; the kubelet
 * (and its cAdvisor endpoint) and the API server are found through the node and
 * endpointslice roles. `paths` lets the integration test lay the same file out in a temp directory.
 */
export function prometheusConfig(config: PotatoStackConfig, paths: PrometheusPaths = CONTAINER_PATHS): Json {
  const interval = config.monitoring.prometheus.scrapeInterval;
  const enabled = (c: keyof PotatoStackConfig['components']) => config.components[c].enabled;
  const scrapeConfigs: Json[] = [
    {
      job_name: 'prometheus',
      static_configs: [{ targets: [`localhost:${PROMETHEUS_PORT}`] }],
      metric_relabel_configs: [dropBuckets, dropNoise],
    },
    {
      // The API server (k3s server process) through the `kubernetes` Service's EndpointSlice
      // (node:6443); EndpointSlices, because v1 Endpoints are deprecated since Kubernetes 1.33.
      job_name: 'apiserver',
      ...serviceAccountAuth(paths),
      kubernetes_sd_configs: [{ role: 'endpointslice', namespaces: { names: ['default'] } }],
      relabel_configs: [
        { source_labels: ['__meta_kubernetes_service_name', '__meta_kubernetes_endpointslice_port_name'], regex: 'kubernetes;https', action: 'keep' },
      ],
      metric_relabel_configs: [dropK3sHistograms, { source_labels: ['__name__'], regex: keepRegex(KEEP_METRICS.apiserver), action: 'keep' }],
    },
    kubeletJob('kubelet', '/metrics', paths, [dropK3sHistograms, { source_labels: ['__name__'], regex: keepRegex(KEEP_METRICS.kubelet), action: 'keep' }]),
    kubeletJob('cadvisor', '/metrics/cadvisor', paths, [
      { source_labels: ['__name__'], regex: keepRegex(KEEP_METRICS.cadvisor), action: 'keep' },
      // cgroup-level series (node, QoS classes, pods, the pause container) duplicate the
      // per-container ones, except network, which only exists per pod.
      { source_labels: ['__name__', 'container'], regex: '(container_cpu_.+|container_memory_.+|container_oom_events_total);(|POD)', action: 'drop' },
      // The cgroup path and runtime name make every series longer and nothing selects on them.
      { regex: 'id|name', action: 'labeldrop' },
    ]),
  ];
  if (enabled('node-exporter')) {
    scrapeConfigs.push(namedPortJob('node-exporter', MONITORING_NAMESPACE, { metric_relabel_configs: [dropNoise, { source_labels: ['__name__'], regex: 'go_.+|process_.+', action: 'drop' }] }));
  }
  if (enabled('kube-state-metrics')) {
    // kube-state-metrics exports only the families its --metric-allowlist names.
    scrapeConfigs.push(namedPortJob('kube-state-metrics', MONITORING_NAMESPACE, { metric_relabel_configs: [dropNoise] }, true));
  }
  if (enabled('traefik')) {
    // Traefik keeps its buckets: the response-time alert reads the 5 s bucket.
    scrapeConfigs.push(
      annotatedPodsJob('traefik', { namespaces: ['kube-system'], apps: ['traefik'] }, { metric_relabel_configs: [dropNoise, { source_labels: ['__name__'], regex: 'traefik_router_.+', action: 'drop' }] }),
    );
  }
  // Everything else that asks to be scraped (Kopia, Loki, Grafana, Alertmanager, exporters...).
  // Their histograms are dropped: no rule or dashboard reads another app's latency buckets.
  scrapeConfigs.push(annotatedPodsJob('pods', { excludeApps: DEDICATED_JOBS }, { metric_relabel_configs: [dropBuckets, dropNoise] }));

  return {
    global: {
      scrape_interval: interval,
      scrape_timeout: '10s',
      evaluation_interval: interval,
      // Identifies this Prometheus to Alertmanager and to a Thanos sidecar (which requires one).
      external_labels: { cluster: 'potatostack' },
    },
    rule_files: [`${paths.rulesDir}/*.yml`],
    ...(enabled('alertmanager')
      ? {
          alerting: {
            alertmanagers: [{ api_version: 'v2', static_configs: [{ targets: [`${ALERTMANAGER_APP}.${MONITORING_NAMESPACE}.svc:${ALERTMANAGER_PORT}`] }] }],
          },
        }
      : {}),
    scrape_configs: scrapeConfigs,
  };
}
