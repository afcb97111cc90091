import type { DashboardSpec } from './dashboard';

const NS = 'namespace=~"$namespace"';

/** Pods: memory against requests and limits, CPU, restarts and OOM kills. */
export function podsDashboard(): DashboardSpec {
  return {
    uid: 'potato-pods',
    title: 'Pods',
    description: 'Memory against requests and limits, restarts, OOM kills',
    variables: [{ name: 'namespace', label: 'Namespace', query: 'label_values(kube_pod_container_resource_requests, namespace)' }],
    panels: [
      {
        title: 'Memory working set',
        type: 'timeseries',
        unit: 'bytes',
        queries: [{ expr: `sum by (namespace, pod, container) (container_memory_working_set_bytes{${NS}, container!=""})`, legend: '{{pod}}/{{container}}' }],
      },
      {
        title: 'Memory use of limit',
        type: 'timeseries',
        unit: 'percentunit',
        thresholds: [{ value: 0.9, color: 'red' }],
        queries: [
          {
            expr: `max by (namespace, pod, container) (container_memory_working_set_bytes{${NS}, container!=""}) / on (namespace, pod, container) max by (namespace, pod, container) (kube_pod_container_resource_limits{${NS}, resource="memory"})`,
            legend: '{{pod}}/{{container}}',
          },
        ],
      },
      {
        title: 'Memory: usage, request, limit',
        type: 'table',
        unit: 'bytes',
        width: 24,
        queries: [
          { expr: `max by (namespace, pod, container) (container_memory_working_set_bytes{${NS}, container!=""})`, legend: 'usage' },
          { expr: `max by (namespace, pod, container) (kube_pod_container_resource_requests{${NS}, resource="memory"})`, legend: 'request' },
          { expr: `max by (namespace, pod, container) (kube_pod_container_resource_limits{${NS}, resource="memory"})`, legend: 'limit' },
        ],
      },
      {
        title: 'CPU',
        type: 'timeseries',
        unit: 'short',
        queries: [{ expr: `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{${NS}, container!=""}[5m]))`, legend: '{{pod}}' }],
      },
      {
        title: 'Restarts (24h)',
        type: 'table',
        queries: [{ expr: `sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total{${NS}}[24h])) > 0` }],
      },
      {
        title: 'Last terminated: OOMKilled',
        type: 'table',
        queries: [{ expr: `kube_pod_container_status_last_terminated_reason{${NS}, reason="OOMKilled"} == 1` }],
      },
      {
        title: 'Containers not ready',
        type: 'table',
        queries: [{ expr: `kube_pod_container_status_ready{${NS}} == 0` }],
      },
    ],
  };
}
