import type { ComponentName } from './components';

/** A web UI reachable through the proxy; Homepage lists exactly the enabled ones. */
export interface WebUi {
  readonly component: ComponentName;
  /** Title on the dashboard. */
  readonly title: string;
  /** Host label under the domain. */
  readonly subdomain: string;
  /** Dashboard group. */
  readonly group: 'Storage' | 'Development' | 'Downloads' | 'Monitoring' | 'Management';
  readonly description: string;
}

export const WEB_UIS: readonly WebUi[] = [
  { component: 'homepage', title: 'Homepage', subdomain: 'home', group: 'Management', description: 'This dashboard' },
  { component: 'nextcloud', title: 'Nextcloud', subdomain: 'cloud', group: 'Storage', description: 'Files, calendar, contacts' },
  { component: 'kopia', title: 'Kopia', subdomain: 'backup', group: 'Storage', description: 'Backup repository server' },
  { component: 'gitea', title: 'Gitea', subdomain: 'git', group: 'Development', description: 'Git server' },
  { component: 'vpn', title: 'qBittorrent', subdomain: 'torrent', group: 'Downloads', description: 'Torrents, through the VPN' },
  { component: 'slskd', title: 'slskd', subdomain: 'soulseek', group: 'Downloads', description: 'Soulseek, through the VPN' },
  { component: 'grafana', title: 'Grafana', subdomain: 'grafana', group: 'Monitoring', description: 'Dashboards' },
  { component: 'prometheus', title: 'Prometheus', subdomain: 'prometheus', group: 'Monitoring', description: 'Metrics and alert rules' },
  { component: 'alertmanager', title: 'Alertmanager', subdomain: 'alerts', group: 'Monitoring', description: 'Alert routing and silences' },
  { component: 'netdata', title: 'Netdata', subdomain: 'netdata', group: 'Monitoring', description: 'Per-second node metrics (optional)' },
  { component: 'portainer', title: 'Portainer', subdomain: 'portainer', group: 'Management', description: 'Cluster management' },
  { component: 'uptime-kuma', title: 'Uptime Kuma', subdomain: 'status', group: 'Management', description: 'Uptime checks' },
  { component: 'dozzle', title: 'Dozzle', subdomain: 'logs', group: 'Management', description: 'Live container logs' },
  { component: 'nginx-proxy-manager', title: 'Nginx Proxy Manager', subdomain: 'proxy', group: 'Management', description: 'Proxy hosts and certificates' },
];

/** The web UI entry of a given title; throws when there is none. */
export function webUi(title: string): WebUi {
  const ui = WEB_UIS.find((u) => u.title === title);
  if (!ui) throw new Error(`no web UI titled '${title}'`);
  return ui;
}
