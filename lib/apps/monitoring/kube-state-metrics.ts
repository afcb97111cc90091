import { Construct } from 'constructs';
import { ZONES } from '../../config';
import { ApiIdentity, ApiRule, AppDeployment, AppPolicy, AppService, PotatoChart, apiServerEgress, goMemLimit, httpProbe } from '../../constructs';
import { prometheusPeer } from './peers';

const NAMESPACE = ZONES.monitoring.namespace;
export const KSM_METRICS_PORT = 8080;
export const KSM_TELEMETRY_PORT = 8081;

/** Resources kube-state-metrics watches, with the API group each lives in. */
export const KSM_RESOURCES: Readonly<Record<string, string>> = {
  pods: '',
  nodes: '',
  persistentvolumeclaims: '',
  persistentvolumes: '',
  namespaces: '',
  deployments: 'apps',
  daemonsets: 'apps',
  cronjobs: 'batch',
  jobs: 'batch',
};

/**
 * Metric families exported: the ones the alert rules and dashboards read, nothing else
 * (every other family is a series per object that Prometheus would store for nothing).
 * A test checks that every kube_* metric the dashboards and alert rules use is listed here.
 */
export const KSM_METRIC_FAMILIES = [
  'kube_pod_info',
  'kube_pod_status_phase',
  'kube_pod_status_ready',
  'kube_pod_container_info',
  'kube_pod_container_resource_requests',
  'kube_pod_container_resource_limits',
  'kube_pod_container_status_ready',
  'kube_pod_container_status_restarts_total',
  'kube_pod_container_status_waiting_reason',
  'kube_pod_container_status_terminated_reason',
  'kube_pod_container_status_last_terminated_reason',
  'kube_pod_init_container_status_restarts_total',
  'kube_pod_init_container_status_last_terminated_reason',
  'kube_node_info',
  'kube_node_status_condition',
  'kube_node_status_allocatable',
  'kube_node_status_capacity',
  'kube_deployment_spec_replicas',
  'kube_deployment_status_replicas_available',
  'kube_deployment_status_replicas_unavailable',
  'kube_daemonset_status_desired_number_scheduled',
  'kube_daemonset_status_number_ready',
  'kube_daemonset_status_number_unavailable',
  'kube_persistentvolumeclaim_info',
  'kube_persistentvolumeclaim_status_phase',
  'kube_persistentvolumeclaim_resource_requests_storage_bytes',
  'kube_persistentvolume_info',
  'kube_persistentvolume_capacity_bytes',
  'kube_persistentvolume_status_phase',
  'kube_persistentvolume_claim_ref',
  'kube_cronjob_info',
  'kube_cronjob_next_schedule_time',
  'kube_cronjob_status_last_schedule_time',
  'kube_cronjob_status_last_successful_time',
  'kube_cronjob_status_active',
  'kube_cronjob_spec_suspend',
  'kube_job_owner',
  'kube_job_status_succeeded',
  'kube_job_status_failed',
  'kube_job_status_active',
  'kube_job_status_completion_time',
  'kube_job_status_start_time',
  'kube_job_failed',
  'kube_namespace_status_phase',
] as const;

/** Read-only access to exactly the watched resources, one rule per API group. */
export function ksmRules(): ApiRule[] {
  const groups = new Map<string, string[]>();
  for (const [resource, group] of Object.entries(KSM_RESOURCES)) groups.set(group, [...(groups.get(group) ?? []), resource]);
  return [...groups.entries()].map(([group, resources]) => ({ apiGroups: [group], resources, verbs: ['list', 'watch'] }));
}

export function ksmArgs(): string[] {
  return [
    `--port=${KSM_METRICS_PORT}`,
    `--telemetry-port=${KSM_TELEMETRY_PORT}`,
    `--resources=${Object.keys(KSM_RESOURCES).join(',')}`,
    // Each entry is an unanchored regular expression to kube-state-metrics: a bare
    // kube_pod_status_ready would also let kube_pod_status_ready_time through.
    `--metric-allowlist=${KSM_METRIC_FAMILIES.map((family) => `^${family}$`).join(',')}`,
  ];
}

/** kube-state-metrics trimmed to the objects and families the rules and dashboards read. */
export class KubeStateMetrics extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const name = 'kube-state-metrics';
    const size = chart.size('kube-state-metrics', 'kube-state-metrics');
    const identity = new ApiIdentity(this, 'Identity', { name, namespace: NAMESPACE, rules: ksmRules() });
    new AppDeployment(this, 'Deployment', {
      name,
      namespace: NAMESPACE,
      role: 'exporter',
      runAs: { uid: 65534, gid: 65534 },
      serviceAccountName: identity.serviceAccountName,
      containers: [
        {
          name,
          image: 'kube-state-metrics',
          size,
          args: ksmArgs(),
          env: { GOMEMLIMIT: goMemLimit(size) },
          ports: [
            { name: 'metrics', port: KSM_METRICS_PORT },
            { name: 'telemetry', port: KSM_TELEMETRY_PORT },
          ],
          probes: {
            readiness: httpProbe('/readyz', 'telemetry'),
            liveness: httpProbe('/livez', 'metrics', { periodSeconds: 30 }),
          },
        },
      ],
    });
    new AppService(this, 'Service', {
      name,
      namespace: NAMESPACE,
      role: 'exporter',
      ports: [
        { name: 'metrics', port: KSM_METRICS_PORT },
        { name: 'telemetry', port: KSM_TELEMETRY_PORT },
      ],
    });
    new AppPolicy(this, 'Policy', {
      name: 'kube-state-metrics-flows',
      namespace: NAMESPACE,
      app: name,
      ingress: chart.enabled('prometheus')
        ? [{ peers: [prometheusPeer], ports: [{ port: KSM_METRICS_PORT }, { port: KSM_TELEMETRY_PORT }] }]
        : undefined,
      egress: apiServerEgress(chart.config),
    });
  }
}
