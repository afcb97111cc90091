import { LINK_ATTRIBUTES, SECTOR_ATTRIBUTES, SMARTMON_METRICS, SMART_DATA_MAX_AGE_SECONDS, SMART_TEXTFILE_MTIME, rawValueMetric } from '../../../host/smart';
import type { DashboardSpec } from './dashboard';

/** SMART attributes that predict a failing HDD or a bad USB link (raw counts should stay 0). */
export const FAILURE_ATTRIBUTES = [...SECTOR_ATTRIBUTES, ...LINK_ATTRIBUTES];

/** SMART health of the HDDs, written by the storage node's smartmontools timer and served by node-exporter. */
export function smartDashboard(): DashboardSpec {
  return {
    uid: 'potato-smart',
    title: 'Disk health (SMART)',
    description: 'SMART verdict, temperatures and failure-predicting attributes of the HDDs (host smartmontools timer, every 15 minutes)',
    from: 'now-7d',
    panels: [
      {
        title: 'SMART overall status',
        type: 'stat',
        width: 12,
        valueText: { '1': { text: 'PASSED', color: 'green' }, '0': { text: 'FAILING', color: 'red' } },
        queries: [{ expr: SMARTMON_METRICS.healthy, legend: '{{disk}}' }],
      },
      {
        title: 'Age of the SMART data',
        type: 'stat',
        unit: 's',
        width: 12,
        description: 'Seconds since the timer last wrote; it runs every 15 minutes. Disks in standby are skipped (not spun up), so their panels keep older values',
        thresholds: [{ value: SMART_DATA_MAX_AGE_SECONDS, color: 'red' }],
        queries: [{ expr: `time() - ${SMART_TEXTFILE_MTIME}`, legend: 'SMART data age' }],
      },
      {
        title: 'Temperature',
        type: 'timeseries',
        unit: 'celsius',
        thresholds: [{ value: 50, color: 'orange' }, { value: 60, color: 'red' }],
        queries: [{ expr: SMARTMON_METRICS.temperature, legend: '{{disk}}' }],
      },
      {
        title: 'Failure-predicting attributes (raw)',
        type: 'timeseries',
        unit: 'short',
        queries: FAILURE_ATTRIBUTES.map((a) => ({ expr: rawValueMetric(a), legend: `{{disk}} ${a}` })),
      },
      {
        title: 'Power-on time',
        type: 'stat',
        unit: 'h',
        width: 12,
        queries: [{ expr: SMARTMON_METRICS.powerOnHours, legend: '{{disk}}' }],
      },
      {
        title: 'Spinning (1) or in standby (0)',
        type: 'stat',
        width: 12,
        queries: [{ expr: SMARTMON_METRICS.active, legend: '{{disk}}' }],
      },
    ],
  };
}
