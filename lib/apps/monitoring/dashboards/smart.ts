import type { DashboardSpec } from './dashboard';

/** SMART attributes that predict a failing HDD (raw counts should stay 0). */
export const FAILURE_ATTRIBUTES = ['Reallocated_Sector_Ct', 'Current_Pending_Sector', 'Offline_Uncorrectable', 'UDMA_CRC_Error_Count'];

/** SMART health of the two USB HDDs, from smartctl-exporter. */
export function smartDashboard(): DashboardSpec {
  return {
    uid: 'potato-smart',
    title: 'Disk health (SMART)',
    description: 'SMART status, temperatures and failure-predicting attributes of the HDDs',
    from: 'now-7d',
    panels: [
      {
        title: 'SMART overall status',
        type: 'stat',
        width: 12,
        valueText: { '1': { text: 'PASSED', color: 'green' }, '0': { text: 'FAILING', color: 'red' } },
        queries: [{ expr: 'smartctl_device_smart_status', legend: '{{device}}' }],
      },
      {
        title: 'smartctl exit status',
        type: 'stat',
        width: 12,
        description: 'Non-zero bits mean smartctl could not read the disk or saw errors in its logs',
        thresholds: [{ value: 1, color: 'red' }],
        queries: [{ expr: 'smartctl_device_smartctl_exit_status', legend: '{{device}}' }],
      },
      {
        title: 'Temperature',
        type: 'timeseries',
        unit: 'celsius',
        thresholds: [{ value: 50, color: 'orange' }, { value: 60, color: 'red' }],
        queries: [{ expr: 'smartctl_device_temperature{temperature_type="current"}', legend: '{{device}}' }],
      },
      {
        title: 'Failure-predicting attributes (raw)',
        type: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: `smartctl_device_attribute{attribute_name=~"${FAILURE_ATTRIBUTES.join('|')}", attribute_value_type="raw"}`,
            legend: '{{device}} {{attribute_name}}',
          },
        ],
      },
      {
        title: 'Power-on time',
        type: 'stat',
        unit: 'dtdurations',
        width: 12,
        queries: [{ expr: 'smartctl_device_power_on_seconds', legend: '{{device}}' }],
      },
      {
        title: 'Error log entries',
        type: 'stat',
        width: 12,
        thresholds: [{ value: 1, color: 'red' }],
        queries: [{ expr: 'smartctl_device_error_log_count', legend: '{{device}} {{error_log_type}}' }],
      },
    ],
  };
}
