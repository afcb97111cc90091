import type { PotatoStackConfig } from '../../../config';
import { memoryBytes } from '../../../config/quantity';
import type { DashboardSpec } from './dashboard';

/** Mount points whose space matters: the SD card root and the two HDDs. */
export function watchedMountPoints(config: PotatoStackConfig): string[] {
  return ['/', config.storage.mainPath, config.storage.cachePath];
}

/**
 * Node: CPU, memory against the budget, disks. The budget lines are the numbers the synth-time
 * budget check uses (node model), so the graph shows how reality compares with the plan.
 */
export function nodeDashboard(config: PotatoStackConfig): DashboardSpec {
  const memTotal = memoryBytes(config.node.memTotal) ?? 0;
  const mounts = `mountpoint=~"${watchedMountPoints(config).join('|')}"`;
  return {
    uid: 'potato-node',
    title: 'Node',
    description: 'CPU, memory against the memory budget, disks of the board',
    panels: [
      {
        title: 'CPU busy',
        type: 'stat',
        unit: 'percent',
        thresholds: [{ value: 80, color: 'orange' }, { value: 95, color: 'red' }],
        queries: [{ expr: '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m])))' }],
      },
      {
        title: 'Memory used',
        type: 'stat',
        unit: 'percent',
        thresholds: [{ value: 80, color: 'orange' }, { value: 90, color: 'red' }],
        queries: [{ expr: '100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)' }],
      },
      {
        title: 'Workload memory vs budget',
        type: 'stat',
        unit: 'percent',
        description: "Working set of all containers against the node's allocatable memory (the kubelet reservations come from the node model)",
        thresholds: [{ value: 90, color: 'orange' }, { value: 100, color: 'red' }],
        queries: [{ expr: '100 * sum(container_memory_working_set_bytes{container!=""}) / sum(kube_node_status_allocatable{resource="memory"})' }],
      },
      {
        title: 'Load average',
        type: 'stat',
        unit: 'short',
        thresholds: [{ value: 4, color: 'orange' }, { value: 8, color: 'red' }],
        queries: [{ expr: 'node_load5' }],
      },
      {
        title: 'CPU by mode',
        type: 'timeseries',
        unit: 'percent',
        queries: [{ expr: '100 * sum by (mode) (rate(node_cpu_seconds_total{mode!="idle"}[5m])) / scalar(count(node_cpu_seconds_total{mode="idle"}))', legend: '{{mode}}' }],
      },
      {
        title: 'Memory against the budget',
        type: 'timeseries',
        unit: 'bytes',
        queries: [
          { expr: 'node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes', legend: 'node used' },
          { expr: 'sum(container_memory_working_set_bytes{container!=""})', legend: 'containers (working set)' },
          { expr: 'sum(kube_pod_container_resource_requests{resource="memory"})', legend: 'pod requests' },
          { expr: 'sum(kube_node_status_allocatable{resource="memory"})', legend: 'allocatable' },
          { expr: `vector(${memTotal})`, legend: 'MemTotal (node model)' },
        ],
      },
      {
        title: 'Disk space used',
        type: 'bargauge',
        unit: 'percent',
        thresholds: [{ value: 85, color: 'orange' }, { value: 95, color: 'red' }],
        queries: [{ expr: `100 * (1 - node_filesystem_avail_bytes{${mounts}} / node_filesystem_size_bytes{${mounts}})`, legend: '{{mountpoint}}', instant: true }],
      },
      {
        title: 'Disk free',
        type: 'timeseries',
        unit: 'bytes',
        queries: [{ expr: `node_filesystem_avail_bytes{${mounts}}`, legend: '{{mountpoint}}' }],
      },
      {
        title: 'Disk busy',
        type: 'timeseries',
        unit: 'percentunit',
        queries: [{ expr: 'rate(node_disk_io_time_seconds_total{device=~"sd.+|mmcblk.+"}[5m])', legend: '{{device}}' }],
      },
      {
        title: 'Temperature',
        type: 'timeseries',
        unit: 'celsius',
        queries: [{ expr: 'node_thermal_zone_temp', legend: '{{type}}' }],
      },
    ],
  };
}
