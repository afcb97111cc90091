import type { PotatoStackConfig } from '../../../config';
import { smartEnabled } from '../../../host/smart';
import { backupsDashboard } from './backups';
import type { DashboardSpec } from './dashboard';
import { nodeDashboard } from './node';
import { podsDashboard } from './pods';
import { smartDashboard } from './smart';
import { vpnDashboard } from './vpn';

export * from './dashboard';

/** Dashboards Grafana provisions, keyed by file name; each shows only what is deployed. */
export function dashboards(config: PotatoStackConfig): Record<string, DashboardSpec> {
  const c = config.components;
  return {
    'node.json': nodeDashboard(config),
    'pods.json': podsDashboard(),
    ...(smartEnabled(config) ? { 'smart.json': smartDashboard() } : {}),
    ...(c.kopia.enabled ? { 'backups.json': backupsDashboard(config) } : {}),
    ...(c.vpn.enabled ? { 'vpn.json': vpnDashboard() } : {}),
  };
}
