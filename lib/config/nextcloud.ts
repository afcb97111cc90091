import type { Report } from './validate';

/** Settings of Nextcloud. */
export interface NextcloudConfig {
  /**
   * Let Nextcloud and its cron job reach public HTTPS servers (app store, update checks,
   * federation, external storage). The architecture's flows do not include it, so it is off:
   * Nextcloud then shows the app store as unreachable and skips update checks; install apps
   * by hand or switch this on. @default false
   */
  readonly internetAccess: boolean;
}

export const DEFAULT_NEXTCLOUD: NextcloudConfig = { internetAccess: false };

export function checkNextcloud(nextcloud: NextcloudConfig, report: Report): void {
  if (typeof nextcloud.internetAccess !== 'boolean') report('nextcloud.internetAccess', nextcloud.internetAccess, 'true or false');
}
