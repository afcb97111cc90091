import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import { PotatoStackConfig, ZONES } from '../../config';
import { AppDeployment, AppPolicy, AppService, PotatoChart, Rule, appLabels, goMemLimit, httpProbe, startupWindow } from '../../constructs';
import { lokiRuleFiles } from './loki-rules';
import { ALERTMANAGER_APP, ALERTMANAGER_PORT, alertmanagerPeer, monitoringServiceUrl, prometheusPeer, scrapeAnnotations } from './peers';

const NAMESPACE = ZONES.monitoring.namespace;
export const LOKI_SERVICE = 'loki';
export const LOKI_PORT = 3100;
/** Loki's data directory on the `loki-data` claim. */
const DATA = '/loki';
/** Local ruler storage: `<directory>/<tenant>/<file>`; without auth the tenant is `fake`. */
const RULES_DIR = '/etc/loki/rules';
const TENANT = 'fake';

/**
 * Loki's configuration: single binary, filesystem storage (TSDB index, schema v13) on the
 * main HDD, retention by the compactor, a local ruler, and caches and limits cut down to a
 * 256 MiB container (upstream defaults assume gigabytes: a 100 MB results cache, 4 GB WAL
 * replay ceiling, query parallelism 32).
 */
export function lokiConfig(config: PotatoStackConfig): Record<string, unknown> {
  const smallCache = (mb: number) => ({ embedded_cache: { enabled: true, max_size_mb: mb, ttl: '1h' } });
  return {
    target: 'all',
    auth_enabled: false,
    server: { http_listen_port: LOKI_PORT, grpc_listen_port: 9095, log_level: 'warn' },
    common: {
      path_prefix: DATA,
      replication_factor: 1,
      instance_addr: '127.0.0.1',
      ring: { kvstore: { store: 'inmemory' } },
      storage: { filesystem: { chunks_directory: `${DATA}/chunks`, rules_directory: `${DATA}/rules` } },
    },
    schema_config: {
      configs: [{ from: '2024-04-01', store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } }],
    },
    storage_config: {
      tsdb_shipper: { active_index_directory: `${DATA}/tsdb-index`, cache_location: `${DATA}/tsdb-cache` },
    },
    ingester: {
      // Fewer, fuller chunks: each open chunk costs memory, each flushed one an HDD write.
      chunk_encoding: 'snappy',
      chunk_target_size: 1048576,
      chunk_idle_period: '30m',
      max_chunk_age: '2h',
      wal: { enabled: true, dir: `${DATA}/wal`, flush_on_shutdown: true, replay_memory_ceiling: '64MB' },
    },
    limits_config: {
      retention_period: config.monitoring.lokiRetention,
      // One small board's pods log a few KB/s; these only stop a runaway logger from filling the HDD.
      ingestion_rate_mb: 1,
      ingestion_burst_size_mb: 2,
      per_stream_rate_limit: '512KB',
      per_stream_rate_limit_burst: '1MB',
      max_global_streams_per_user: 1000,
      reject_old_samples: true,
      reject_old_samples_max_age: '168h',
      max_query_parallelism: 2,
      tsdb_max_query_parallelism: 2,
      split_queries_by_interval: '12h',
      max_entries_limit_per_query: 5000,
      query_timeout: '2m',
    },
    compactor: {
      working_directory: `${DATA}/compactor`,
      compaction_interval: '10m',
      retention_enabled: true,
      retention_delete_delay: '2h',
      retention_delete_worker_count: 10,
      delete_request_store: 'filesystem',
    },
    querier: { max_concurrent: 2 },
    query_range: { cache_results: true, results_cache: { cache: smallCache(16) } },
    chunk_store_config: { chunk_cache_config: smallCache(16) },
    ruler: {
      storage: { type: 'local', local: { directory: RULES_DIR } },
      rule_path: `${DATA}/ruler`,
      alertmanager_url: monitoringServiceUrl(ALERTMANAGER_APP, ALERTMANAGER_PORT),
      enable_api: true,
      evaluation_interval: '1m',
      ring: { kvstore: { store: 'inmemory' } },
    },
    pattern_ingester: { enabled: false },
    analytics: { reporting_enabled: false },
  };
}

export interface LokiProps {
  /** Ruler rule files (file name -> YAML with LogQL alert groups). @default the failed-logins rules of loki-rules.ts */
  readonly ruleFiles?: Readonly<Record<string, string>>;
}

/** Loki single binary on the `loki-data` claim, with its ruler alerting to Alertmanager. */
export class Loki extends Construct {
  constructor(scope: Construct, id: string, props: LokiProps = {}) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const name = LOKI_SERVICE;
    const size = chart.size('loki', 'loki');
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: 'loki-config', namespace: NAMESPACE, labels: appLabels(name, 'config') },
      data: { 'loki.yaml': stringify(lokiConfig(chart.config)) },
    });
    new k8s.KubeConfigMap(this, 'Rules', {
      metadata: { name: 'loki-rules', namespace: NAMESPACE, labels: appLabels(name, 'config') },
      data: { ...(props.ruleFiles ?? lokiRuleFiles(chart.config)) },
    });
    const ready = httpProbe('/ready', 'http');
    new AppDeployment(this, 'Deployment', {
      name,
      namespace: NAMESPACE,
      role: 'logs',
      runAs: { uid: 10001, gid: 10001 },
      annotations: scrapeAnnotations(LOKI_PORT),
      // Lets the ingester flush its chunks to the HDD on shutdown.
      terminationGracePeriodSeconds: 60,
      containers: [
        {
          name,
          image: 'loki',
          size,
          args: ['-config.file=/etc/loki/config/loki.yaml', '-log.level=warn'],
          env: { GOMEMLIMIT: goMemLimit(size) },
          ports: [
            { name: 'http', port: LOKI_PORT },
            { name: 'grpc', port: 9095 },
          ],
          mounts: [
            { volume: 'data', path: DATA },
            { volume: 'config', path: '/etc/loki/config', readOnly: true },
            { volume: 'rules', path: `${RULES_DIR}/${TENANT}`, readOnly: true },
            { volume: 'tmp', path: '/tmp' },
          ],
          // WAL replay after a crash can take minutes on the HDD.
          probes: { startup: startupWindow(ready, 10), readiness: ready, liveness: { ...ready, periodSeconds: 30, failureThreshold: 6 } },
        },
      ],
      volumes: [
        { name: 'data', claim: 'loki-data' },
        { name: 'config', configMap: 'loki-config' },
        { name: 'rules', configMap: 'loki-rules' },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ],
    });
    new AppService(this, 'Service', { name, namespace: NAMESPACE, role: 'logs', ports: [{ name: 'http', port: LOKI_PORT }] });

    const ingress: Rule[] = [
      // Pushers and readers: the log shipper, Grafana, and Prometheus scraping /metrics.
      {
        peers: [
          ...(chart.enabled('fluent-bit') ? [{ app: 'fluent-bit', namespace: NAMESPACE }] : []),
          ...(chart.enabled('grafana') ? [{ app: 'grafana', namespace: NAMESPACE }] : []),
          ...(chart.enabled('prometheus') ? [prometheusPeer] : []),
        ],
        ports: [{ port: LOKI_PORT }],
      },
    ];
    const egress: Rule[] = chart.enabled('alertmanager')
      ? [{ peers: [alertmanagerPeer], ports: [{ port: ALERTMANAGER_PORT }] }]
      : [];
    if (ingress[0].peers.length > 0 || egress.length > 0) {
      new AppPolicy(this, 'Policy', {
        name: 'loki-flows',
        namespace: NAMESPACE,
        app: name,
        ingress: ingress[0].peers.length > 0 ? ingress : undefined,
        egress: egress.length > 0 ? egress : undefined,
      });
    }
  }
}
