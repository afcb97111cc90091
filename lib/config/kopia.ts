import { firesMoreThanHourly, isCronExpression } from './management';
import type { Report } from './validate';

/** The nightly snapshot CronJob (`kopia-snapshot` in `apps`). */
export interface KopiaSnapshotConfig {
  /**
   * When the snapshot runs: a 5-field cron expression (minute hour day month weekday) in the
   * configured time zone. It must run every day (day, month and weekday fields `*`): the
   * BackupTooOld alert expects a successful snapshot at least every 26 h. At most hourly.
   * @default '30 3 * * *' (03:30, when the apps are idle)
   */
  readonly schedule: string;
  /**
   * Hours one run may take before Kubernetes stops it and counts the Job as failed (1-23).
   * The first snapshot of a full disk reads everything once; later runs only hash changed
   * files. A stopped run is not lost: Kopia writes a checkpoint every 45 minutes and the next
   * run resumes from it. @default 8
   */
  readonly maxHours: number;
}

/** Settings of the Kopia backup component. */
export interface KopiaConfig {
  readonly snapshot: KopiaSnapshotConfig;
}

export const DEFAULT_KOPIA: KopiaConfig = {
  snapshot: { schedule: '30 3 * * *', maxHours: 8 },
};

/** True when the cron expression fires on every day of every month (day, month and weekday fields `*`). */
export function firesDaily(schedule: string): boolean {
  const [, , day, month, weekday] = schedule.trim().split(/\s+/);
  return day === '*' && month === '*' && weekday === '*';
}

export function checkKopia(kopia: KopiaConfig, report: Report): void {
  const { schedule, maxHours } = kopia.snapshot;
  const prop = 'kopia.snapshot.schedule';
  if (typeof schedule !== 'string' || !isCronExpression(schedule)) {
    report(prop, schedule, "a 5-field cron expression such as '30 3 * * *'");
  } else if (firesMoreThanHourly(schedule)) {
    report(prop, schedule, "at most one run an hour: a single minute in the first field, such as '30 3 * * *'");
  } else if (!firesDaily(schedule)) {
    report(prop, schedule, "a run every day (day, month and weekday fields '*', such as '30 3 * * *'): the BackupTooOld alert expects a successful snapshot every 26 h");
  }
  if (typeof maxHours !== 'number' || !Number.isInteger(maxHours) || maxHours < 1 || maxHours > 23) {
    report('kopia.snapshot.maxHours', maxHours, 'a whole number of hours from 1 to 23 (a run must end before the next one is due)');
  }
}
