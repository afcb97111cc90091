import { VPN_POD } from '../../../names';
import type { DashboardSpec } from './dashboard';

/** VPN: gluetun's health, the tunnel's traffic, and gluetun's log. */
export function vpnDashboard(): DashboardSpec {
  const pod = `namespace="vpn", pod=~"${VPN_POD}-.*"`;
  return {
    uid: 'potato-vpn',
    title: 'VPN',
    description: 'gluetun tunnel health, traffic of the VPN pod, gluetun log',
    panels: [
      {
        title: 'gluetun ready',
        type: 'stat',
        valueText: { '1': { text: 'UP', color: 'green' }, '0': { text: 'DOWN', color: 'red' } },
        queries: [{ expr: 'max(kube_pod_container_status_ready{namespace="vpn", container="gluetun"})' }],
      },
      {
        title: 'VPN pod restarts (24h)',
        type: 'stat',
        thresholds: [{ value: 1, color: 'orange' }, { value: 5, color: 'red' }],
        queries: [{ expr: 'sum(increase(kube_pod_container_status_restarts_total{namespace="vpn"}[24h]))' }],
      },
      {
        title: 'Download rate',
        type: 'stat',
        unit: 'Bps',
        queries: [{ expr: `sum(rate(container_network_receive_bytes_total{${pod}}[5m]))` }],
      },
      {
        title: 'Upload rate',
        type: 'stat',
        unit: 'Bps',
        queries: [{ expr: `sum(rate(container_network_transmit_bytes_total{${pod}}[5m]))` }],
      },
      {
        title: 'Traffic of the VPN pod',
        type: 'timeseries',
        unit: 'Bps',
        queries: [
          { expr: `sum(rate(container_network_receive_bytes_total{${pod}}[5m]))`, legend: 'in' },
          { expr: `sum(rate(container_network_transmit_bytes_total{${pod}}[5m]))`, legend: 'out' },
        ],
      },
      {
        title: 'Memory of the VPN containers',
        type: 'timeseries',
        unit: 'bytes',
        queries: [{ expr: 'sum by (container) (container_memory_working_set_bytes{namespace="vpn", container!=""})', legend: '{{container}}' }],
      },
      {
        title: 'gluetun log',
        type: 'logs',
        width: 24,
        queries: [{ expr: '{namespace="vpn", container="gluetun"}' }],
      },
    ],
  };
}
