import type { Report } from './validate';

/** Zones whose web UIs Uptime Kuma may check directly (in-cluster, not through the proxy). */
export type WatchedZone = 'apps' | 'vpn' | 'monitoring' | 'management';
export const WATCHED_ZONES: readonly WatchedZone[] = ['apps', 'vpn', 'monitoring', 'management'];

/** Diun, the image update notifier. */
export interface DiunConfig {
  /**
   * When Diun checks the registries: a 5-field cron expression (minute hour day month
   * weekday) in the configured time zone. Every run costs registry requests, and Docker Hub
   * rate-limits anonymous clients: more often than hourly is refused. @default '0 *\/6 * * *'
   */
  readonly schedule: string;
  /**
   * Watch the newest tags of each image's repository, not only the pinned tag. Images are
   * pinned to exact versions, so without this Diun only notices a pinned tag being re-pushed;
   * with it, a newly published version is reported. @default true
   */
  readonly watchRepo: boolean;
  /** With `watchRepo`: how many of the newest version-like tags are checked per image (1-20). @default 5 */
  readonly maxTags: number;
}

/** Uptime Kuma, the uptime checker. */
export interface UptimeKumaConfig {
  /**
   * Container ports, per zone, that Uptime Kuma's monitors may reach in-cluster (for example
   * `http://gitea.apps.svc:3000`). The policies open exactly these ports of that zone's pods
   * to Uptime Kuma and nothing else; `[]` keeps Uptime Kuma out of a zone. A NetworkPolicy
   * sees the pod's port, not the Service port, so list the port the container listens on.
   * @default apps [80, 3000, 51515], vpn [8080, 5030], monitoring [3000, 9090, 9093], management [9000, 8080]
   */
  readonly watchedPorts: Readonly<Record<WatchedZone, readonly number[]>>;
}

/** Settings of the management zone (Portainer, Uptime Kuma, Dozzle, Diun). */
export interface ManagementConfig {
  readonly diun: DiunConfig;
  readonly uptimeKuma: UptimeKumaConfig;
}

export const DEFAULT_MANAGEMENT: ManagementConfig = {
  diun: { schedule: '0 */6 * * *', watchRepo: true, maxTags: 5 },
  uptimeKuma: {
    watchedPorts: {
      // homepage 3000, nextcloud (apache) 80, gitea 3000, kopia 51515
      apps: [80, 3000, 51515],
      // qBittorrent 8080 and slskd 5030, both through gluetun's FIREWALL_INPUT_PORTS
      vpn: [8080, 5030],
      // grafana 3000, prometheus 9090, alertmanager 9093
      monitoring: [3000, 9090, 9093],
      // portainer 9000, dozzle 8080
      management: [9000, 8080],
    },
  },
};

const CRON_FIELD = /^(\*|[0-9]+(-[0-9]+)?)(\/[0-9]+)?(,(\*|[0-9]+(-[0-9]+)?)(\/[0-9]+)?)*$/;
const CRON_NAMED_FIELD = /^[A-Za-z]{3}(-[A-Za-z]{3})?(,[A-Za-z]{3}(-[A-Za-z]{3})?)*$/;

/** True for a standard 5-field cron expression (numbers, ranges, steps, lists, month/day names). */
export function isCronExpression(value: string): boolean {
  const fields = value.trim().split(/\s+/);
  return fields.length === 5 && fields.every((f, i) => CRON_FIELD.test(f) || (i >= 3 && CRON_NAMED_FIELD.test(f)));
}

/** True when a cron expression can fire more than once an hour (a list, range, step or `*` in the minute field). */
export function firesMoreThanHourly(value: string): boolean {
  const minute = value.trim().split(/\s+/)[0];
  return !/^[0-9]+$/.test(minute);
}

export function checkManagement(management: ManagementConfig, report: Report): void {
  const { diun, uptimeKuma } = management;
  if (typeof diun.schedule !== 'string' || !isCronExpression(diun.schedule)) {
    report('management.diun.schedule', diun.schedule, "a 5-field cron expression such as '0 */6 * * *'");
  } else if (firesMoreThanHourly(diun.schedule)) {
    // Docker Hub throttles anonymous clients; sub-hourly checks burn the quota the node needs for pulls.
    report('management.diun.schedule', diun.schedule, "at most one run an hour: a single minute in the first field, such as '0 */6 * * *'");
  }
  if (typeof diun.watchRepo !== 'boolean') report('management.diun.watchRepo', diun.watchRepo, 'true or false');
  if (!Number.isInteger(diun.maxTags) || diun.maxTags < 1 || diun.maxTags > 20) {
    report('management.diun.maxTags', diun.maxTags, 'a whole number from 1 to 20');
  }
  for (const zone of WATCHED_ZONES) {
    const ports = uptimeKuma.watchedPorts[zone];
    const prop = `management.uptimeKuma.watchedPorts.${zone}`;
    if (!Array.isArray(ports)) {
      report(prop, ports, 'a list of TCP ports such as [3000, 8080] (or [] for none)');
      continue;
    }
    ports.forEach((port, i) => {
      if (!Number.isInteger(port) || port < 1 || port > 65535) report(`${prop}[${i}]`, port, 'a TCP port between 1 and 65535');
      else if (ports.indexOf(port) !== i) report(`${prop}[${i}]`, port, 'each port listed once');
    });
  }
}
