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
   * Zones whose web UIs Uptime Kuma's monitors may check in-cluster (for example
   * `http://gitea.apps.svc:3000`). The policies open each enabled UI's pod to Uptime Kuma on
   * exactly its web port, and nothing else; leave a zone out to keep Uptime Kuma away from it.
   * @default ['apps', 'vpn', 'monitoring', 'management']
   */
  readonly watchedZones: readonly WatchedZone[];
}

/** Settings of the management zone (Portainer, Uptime Kuma, Dozzle, Diun). */
export interface ManagementConfig {
  readonly diun: DiunConfig;
  readonly uptimeKuma: UptimeKumaConfig;
}

export const DEFAULT_MANAGEMENT: ManagementConfig = {
  diun: { schedule: '0 */6 * * *', watchRepo: true, maxTags: 5 },
  uptimeKuma: {
    watchedZones: WATCHED_ZONES,
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
  const zones = uptimeKuma.watchedZones;
  if (!Array.isArray(zones)) {
    report('management.uptimeKuma.watchedZones', zones, `a list of zones from ${WATCHED_ZONES.join(', ')} (or [] for none)`);
  } else {
    zones.forEach((zone, i) => {
      if (!WATCHED_ZONES.includes(zone)) report(`management.uptimeKuma.watchedZones[${i}]`, zone, `one of ${WATCHED_ZONES.join(', ')}`);
      else if (zones.indexOf(zone) !== i) report(`management.uptimeKuma.watchedZones[${i}]`, zone, 'each zone listed once');
    });
  }
}
