import type { PotatoStackConfig } from '../../../config';
import { BACKUP_JOBS } from '../rules';
import type { DashboardSpec } from './dashboard';

/**
 * Backups (Kopia): the state of the Kopia server and of the backup jobs as Kubernetes sees
 * them (kube-state-metrics), plus Kopia's own log lines from Loki.
 */
export function backupsDashboard(config: PotatoStackConfig): DashboardSpec {
  // The same jobs the backup alert rules watch.
  const jobs = `namespace="${BACKUP_JOBS.namespace}", job_name=~"${BACKUP_JOBS.pattern}"`;
  const cronjobs = `namespace="${BACKUP_JOBS.namespace}", cronjob=~"${BACKUP_JOBS.pattern}"`;
  return {
    uid: 'potato-backups',
    title: 'Backups (Kopia)',
    description: 'Kopia server health, backup job outcomes and ages, Kopia logs',
    from: 'now-7d',
    panels: [
      {
        title: 'Kopia server ready',
        type: 'stat',
        valueText: { '1': { text: 'READY', color: 'green' }, '0': { text: 'DOWN', color: 'red' } },
        queries: [{ expr: 'max(kube_pod_container_status_ready{namespace="apps", container="kopia"})' }],
      },
      {
        title: 'Since last successful backup',
        type: 'stat',
        unit: 's',
        thresholds: [{ value: 26 * 3600, color: 'orange' }, { value: 48 * 3600, color: 'red' }],
        queries: [{ expr: `time() - max(kube_cronjob_status_last_successful_time{${cronjobs}})` }],
      },
      {
        title: 'Backup job success (7d)',
        type: 'stat',
        unit: 'percentunit',
        thresholds: [{ value: 0, color: 'red' }, { value: 0.95, color: 'green' }],
        queries: [
          {
            expr: `sum(max_over_time(kube_job_status_succeeded{${jobs}}[7d])) / clamp_min(sum(max_over_time(kube_job_status_succeeded{${jobs}}[7d])) + sum(max_over_time(kube_job_failed{${jobs}, condition="true"}[7d])), 1)`,
          },
        ],
      },
      {
        title: 'Kopia restarts (24h)',
        type: 'stat',
        thresholds: [{ value: 1, color: 'orange' }],
        queries: [{ expr: 'sum(increase(kube_pod_container_status_restarts_total{namespace="apps", container="kopia"}[24h]))' }],
      },
      {
        title: 'Backup jobs',
        type: 'table',
        queries: [
          { expr: `kube_job_status_succeeded{${jobs}}`, legend: 'succeeded' },
          { expr: `kube_job_failed{${jobs}, condition="true"}`, legend: 'failed' },
        ],
      },
      {
        // hostPath PVs report no kubelet volume stats: the repository's disk is the main HDD.
        title: 'Repository disk free (main HDD)',
        type: 'timeseries',
        unit: 'bytes',
        queries: [{ expr: `node_filesystem_avail_bytes{mountpoint="${config.storage.mainPath}"}`, legend: '{{mountpoint}}' }],
      },
      {
        title: 'Kopia errors and warnings',
        type: 'logs',
        width: 24,
        queries: [{ expr: '{namespace="apps", container="kopia"} |~ "(?i)(error|warn|fail)"' }],
      },
    ],
  };
}
