import type { PotatoStackConfig } from './types';
import { firesMoreThanHourly, isCronExpression } from './management';
import type { Report } from './validate';

/** The nightly snapshot CronJob (`kopia-snapshot` in `apps`): database dumps, then the file snapshot. */
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

/**
 * How many snapshots Kopia keeps, per kind of period (its `keep-*` policy). A snapshot is kept
 * while any rule still wants it; Kopia expires the others after each snapshot. Hourly and
 * annual snapshots are not kept (one snapshot a night).
 */
export interface KopiaRetentionConfig {
  /** The newest snapshots kept whatever their age (a manual run beside the nightly one). @default 3 */
  readonly keepLatest: number;
  /** Last snapshot of each of the most recent days. @default 30 (the seed's 30-day retention) */
  readonly keepDaily: number;
  /** Last snapshot of each of the most recent weeks. @default 0 */
  readonly keepWeekly: number;
  /** Last snapshot of each of the most recent months. @default 0 */
  readonly keepMonthly: number;
}

/** The database dumps written before each snapshot. */
export interface KopiaDumpsConfig {
  /**
   * Dumps of each database kept in the backups folder (1-30), newest first; the snapshots keep
   * older ones as long as the retention keeps the snapshots. @default 3
   */
  readonly keep: number;
  /**
   * Longest time Nextcloud stays in maintenance mode for the MariaDB dump (1-240 minutes). When
   * the dump takes longer, maintenance mode ends anyway and the run fails (the dump would not
   * match the files); raise it for a very large database. @default 30
   */
  readonly maintenanceMinutes: number;
}

/** The second copy of the repository on the cache HDD (`kopia repository sync-to filesystem`). */
export interface KopiaCopyConfig {
  /**
   * Copy the repository to the cache HDD every day, so that losing the main HDD loses neither
   * the data nor its backups. Off only for a board with a single disk. @default true
   */
  readonly enabled: boolean;
  /**
   * When the copy runs: a daily cron expression in the configured time zone; after the
   * snapshot, so the copy holds that night's snapshot. @default '30 6 * * *'
   */
  readonly schedule: string;
}

/** Where the off-site copy goes; `none` turns it off. */
export type OffsiteType = 'none' | 's3' | 'b2' | 'sftp' | 'webdav' | 'filesystem';
export const OFFSITE_TYPES: readonly OffsiteType[] = ['none', 's3', 'b2', 'sftp', 'webdav', 'filesystem'];

/**
 * A third copy of the repository away from the board (`kopia repository sync-to <type>`). The
 * credentials come from a Secret in `apps` that the operator creates; no secret value is ever
 * in the manifests or on a command line.
 */
export interface KopiaOffsiteConfig {
  /**
   * `s3` (any S3-compatible service), `b2` (Backblaze), `sftp`, `webdav`, `filesystem` (a
   * folder on the storage node, such as an NFS mount or a disk that travels), or `none`.
   * @default 'none'
   */
  readonly type: OffsiteType;
  /** When the copy runs: a daily cron expression, after the snapshot. @default '0 7 * * *' */
  readonly schedule: string;
  /**
   * Secret in `apps` with the credentials: `access-key-id` and `secret-access-key` (s3),
   * `key-id` and `key` (b2), `ssh-private-key` and `known-hosts` (sftp), `username` and
   * `password` (webdav); filesystem needs none. @default 'kopia-offsite'
   */
  readonly secretName: string;
  /** s3 and b2: bucket name. @default '' */
  readonly bucket: string;
  /** s3 and b2: object name prefix, such as `potatostack/`. @default '' */
  readonly prefix: string;
  /** s3: endpoint host (and port), such as `s3.eu-central-1.amazonaws.com`. @default 's3.amazonaws.com' */
  readonly endpoint: string;
  /** s3: region, when the service needs one. @default '' */
  readonly region: string;
  /** sftp: server host name. @default '' */
  readonly host: string;
  /** sftp: server port; also the port the network policy opens. @default 22 */
  readonly port: number;
  /** sftp: login name. @default '' */
  readonly username: string;
  /** sftp: absolute folder on the server; filesystem: absolute folder on the storage node. @default '' */
  readonly path: string;
  /** webdav: https URL of the folder. @default '' */
  readonly url: string;
}

/** The weekly verification (`kopia snapshot verify`). */
export interface KopiaVerifyConfig {
  /**
   * When it runs: a cron expression that fires at least once a week (day and month fields
   * `*`), at most hourly. @default '0 9 * * 0' (Sundays 09:00)
   */
  readonly schedule: string;
  /**
   * Share of the files (0-100 %) read back and decrypted in full, chosen at random each run;
   * every snapshot's structure is always checked. 5 % a week reads every file about once in
   * a year and a half, at a twentieth of the disk's size each Sunday. @default 5
   */
  readonly filesPercent: number;
}

/** Repository maintenance (`kopia maintenance run --full`), by the one client that owns it. */
export interface KopiaMaintenanceConfig {
  /** When it runs: a daily cron expression, away from the snapshot. @default '0 2 * * *' */
  readonly schedule: string;
}

/** Kopia compression algorithms: kopia 0.21's compressors that are not deprecated, and `none`. */
export const KOPIA_COMPRESSIONS = [
  'none',
  'deflate-best-speed',
  'deflate-default',
  'deflate-best-compression',
  'gzip',
  'gzip-best-speed',
  'gzip-best-compression',
  'pgzip',
  'pgzip-best-speed',
  'pgzip-best-compression',
  's2-default',
  's2-better',
  's2-parallel-4',
  's2-parallel-8',
  'zstd',
  'zstd-fastest',
  'zstd-better-compression',
] as const;

/** Settings of the Kopia backup component. */
export interface KopiaConfig {
  readonly snapshot: KopiaSnapshotConfig;
  readonly retention: KopiaRetentionConfig;
  /**
   * Compression of new data, one of Kopia's algorithms. zstd-fastest packs database dumps
   * and documents well at a cost the board's cores keep ahead of a USB 2.0 disk.
   * @default 'zstd-fastest'
   */
  readonly compression: (typeof KOPIA_COMPRESSIONS)[number];
  /**
   * Extra ignore rules for the snapshot, in Kopia's .gitignore syntax relative to the main
   * disk (such as `/monitoring/prometheus/`). Kopia's own folders, the live database folders
   * (the dumps replace them) and Nextcloud's thumbnail cache are always ignored. @default []
   */
  readonly ignore: readonly string[];
  readonly dumps: KopiaDumpsConfig;
  readonly copy: KopiaCopyConfig;
  readonly offsite: KopiaOffsiteConfig;
  readonly verify: KopiaVerifyConfig;
  readonly maintenance: KopiaMaintenanceConfig;
}

export const DEFAULT_KOPIA: KopiaConfig = {
  snapshot: { schedule: '30 3 * * *', maxHours: 8 },
  retention: { keepLatest: 3, keepDaily: 30, keepWeekly: 0, keepMonthly: 0 },
  compression: 'zstd-fastest',
  ignore: [],
  dumps: { keep: 3, maintenanceMinutes: 30 },
  copy: { enabled: true, schedule: '30 6 * * *' },
  offsite: {
    type: 'none',
    schedule: '0 7 * * *',
    secretName: 'kopia-offsite',
    bucket: '',
    prefix: '',
    endpoint: 's3.amazonaws.com',
    region: '',
    host: '',
    port: 22,
    username: '',
    path: '',
    url: '',
  },
  verify: { schedule: '0 9 * * 0', filesPercent: 5 },
  maintenance: { schedule: '0 2 * * *' },
};

/** True when the cron expression fires on every day of every month (day, month and weekday fields `*`). */
export function firesDaily(schedule: string): boolean {
  const [, , day, month, weekday] = schedule.trim().split(/\s+/);
  return day === '*' && month === '*' && weekday === '*';
}

/** True when the cron expression fires at least once every week (day and month fields `*`). */
export function firesWeekly(schedule: string): boolean {
  const [, , day, month] = schedule.trim().split(/\s+/);
  return day === '*' && month === '*';
}

/** Checks one schedule prop: cron syntax, at most hourly, and daily or weekly as the alerts expect. */
function checkSchedule(prop: string, schedule: unknown, cadence: 'daily' | 'weekly', report: Report, why: string): void {
  if (typeof schedule !== 'string' || !isCronExpression(schedule)) {
    report(prop, schedule, "a 5-field cron expression such as '30 3 * * *'");
  } else if (firesMoreThanHourly(schedule)) {
    report(prop, schedule, "at most one run an hour: a single minute in the first field, such as '30 3 * * *'");
  } else if (cadence === 'daily' && !firesDaily(schedule)) {
    report(prop, schedule, `a run every day (day, month and weekday fields '*', such as '30 3 * * *'): ${why}`);
  } else if (cadence === 'weekly' && !firesWeekly(schedule)) {
    report(prop, schedule, `a run every week (day and month fields '*', such as '0 9 * * 0'): ${why}`);
  }
}

function isWhole(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

const SECRET_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$|^[A-Za-z0-9-]{6,50}$/;
const ABSOLUTE_PATH = /^\/[A-Za-z0-9._/-]*$/;

/** Which off-site props each type needs, and the shape each must have. */
const OFFSITE_REQUIRED: Record<Exclude<OffsiteType, 'none'>, readonly (keyof KopiaOffsiteConfig)[]> = {
  s3: ['bucket', 'endpoint'],
  b2: ['bucket'],
  sftp: ['host', 'username', 'path'],
  webdav: ['url'],
  filesystem: ['path'],
};

function checkOffsite(offsite: KopiaOffsiteConfig, storagePaths: readonly string[], report: Report): void {
  if (!OFFSITE_TYPES.includes(offsite.type)) {
    report('kopia.offsite.type', offsite.type, `one of ${OFFSITE_TYPES.map((t) => `'${t}'`).join(', ')}`);
    return;
  }
  if (offsite.type === 'none') return;
  checkSchedule('kopia.offsite.schedule', offsite.schedule, 'daily', report, 'the BackupTooOld alert expects a fresh off-site copy every 26 h');
  if (offsite.type !== 'filesystem' && (typeof offsite.secretName !== 'string' || !SECRET_NAME.test(offsite.secretName))) {
    report('kopia.offsite.secretName', offsite.secretName, 'a Secret name (lowercase letters, digits and dashes)');
  }
  for (const key of OFFSITE_REQUIRED[offsite.type]) {
    const value = offsite[key];
    if (typeof value !== 'string' || value === '') report(`kopia.offsite.${key}`, value, `a value: kopia.offsite.type '${offsite.type}' needs it`);
  }
  const { bucket, endpoint, host, path, url, prefix, region, username, port } = offsite;
  if ((offsite.type === 's3' || offsite.type === 'b2') && bucket !== '' && !BUCKET.test(bucket)) report('kopia.offsite.bucket', bucket, 'a bucket name (letters, digits, dots and dashes)');
  if (offsite.type === 's3' && endpoint !== '' && (!HOST_NAME.test(endpoint) || endpoint.includes('://'))) {
    report('kopia.offsite.endpoint', endpoint, "a host name with an optional port and no scheme, such as 's3.eu-central-1.amazonaws.com'");
  }
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9._/-]*$/.test(prefix)) report('kopia.offsite.prefix', prefix, 'letters, digits, dots, dashes and slashes');
  if (typeof region !== 'string' || !/^[a-z0-9-]*$/.test(region)) report('kopia.offsite.region', region, "a region name such as 'eu-central-1'");
  if (offsite.type === 'sftp') {
    if (host !== '' && !HOST_NAME.test(host)) report('kopia.offsite.host', host, 'a host name or IPv4 address without port');
    if (username !== '' && !/^[a-z_][a-z0-9_.-]*$/i.test(username)) report('kopia.offsite.username', username, 'a login name (letters, digits, dots, dashes, underscores)');
    if (!isWhole(port, 1, 65535)) report('kopia.offsite.port', port, 'a TCP port between 1 and 65535');
  }
  if ((offsite.type === 'sftp' || offsite.type === 'filesystem') && path !== '' && (!ABSOLUTE_PATH.test(path) || path.split('/').includes('..'))) {
    report('kopia.offsite.path', path, "an absolute folder such as '/backups/potatostack' (no '..')");
  }
  if (offsite.type === 'filesystem' && ABSOLUTE_PATH.test(path)) {
    const inside = storagePaths.find((disk) => path === disk || path.startsWith(`${disk}/`));
    if (inside) report('kopia.offsite.path', path, `a folder off the stack's HDDs (not under '${inside}'): an off-site copy on the same disk survives nothing`);
  }
  if (offsite.type === 'webdav' && url !== '' && !/^https:\/\/[^\s'"]+$/.test(url)) report('kopia.offsite.url', url, "an https URL such as 'https://dav.example.org/potatostack'");
}

export function checkKopia(kopia: KopiaConfig, report: Report, storagePaths: readonly string[] = []): void {
  const { schedule, maxHours } = kopia.snapshot;
  checkSchedule('kopia.snapshot.schedule', schedule, 'daily', report, 'the BackupTooOld alert expects a successful snapshot every 26 h');
  if (!isWhole(maxHours, 1, 23)) {
    report('kopia.snapshot.maxHours', maxHours, 'a whole number of hours from 1 to 23 (a run must end before the next one is due)');
  }
  const retention = kopia.retention;
  for (const key of ['keepLatest', 'keepDaily', 'keepWeekly', 'keepMonthly'] as const) {
    if (!isWhole(retention[key], 0, 1000)) report(`kopia.retention.${key}`, retention[key], 'a whole number from 0 to 1000');
  }
  if (['keepLatest', 'keepDaily', 'keepWeekly', 'keepMonthly'].every((k) => retention[k as keyof KopiaRetentionConfig] === 0)) {
    report('kopia.retention.keepDaily', retention.keepDaily, 'at least one snapshot kept by some kopia.retention rule (all four are 0)');
  }
  if (!(KOPIA_COMPRESSIONS as readonly string[]).includes(kopia.compression)) {
    report('kopia.compression', kopia.compression, `one of Kopia's algorithms: ${KOPIA_COMPRESSIONS.join(', ')}`);
  }
  if (!Array.isArray(kopia.ignore)) {
    report('kopia.ignore', kopia.ignore, "a list of ignore rules such as ['/monitoring/prometheus/']");
  } else {
    kopia.ignore.forEach((rule, i) => {
      // Rules land in a single-quoted shell word: no quotes, no newlines.
      if (typeof rule !== 'string' || rule.trim() === '' || /['"\\\n\r`$]/.test(rule)) {
        report(`kopia.ignore[${i}]`, rule, "a .gitignore-style rule such as '/monitoring/prometheus/' (no quotes, backslashes, '$' or newlines)");
      }
    });
  }
  if (!isWhole(kopia.dumps.keep, 1, 30)) report('kopia.dumps.keep', kopia.dumps.keep, 'a whole number of dumps from 1 to 30');
  if (!isWhole(kopia.dumps.maintenanceMinutes, 1, 240)) report('kopia.dumps.maintenanceMinutes', kopia.dumps.maintenanceMinutes, 'a whole number of minutes from 1 to 240');
  if (typeof kopia.copy.enabled !== 'boolean') report('kopia.copy.enabled', kopia.copy.enabled, 'true or false');
  if (kopia.copy.enabled) {
    checkSchedule('kopia.copy.schedule', kopia.copy.schedule, 'daily', report, 'the BackupTooOld alert expects a fresh copy every 26 h');
  }
  checkOffsite(kopia.offsite, storagePaths, report);
  checkSchedule('kopia.verify.schedule', kopia.verify.schedule, 'weekly', report, 'the BackupTooOld alert expects a verification every 8 days');
  const percent = kopia.verify.filesPercent;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    report('kopia.verify.filesPercent', percent, 'a percentage from 0 to 100 (0 checks structure only)');
  }
  checkSchedule('kopia.maintenance.schedule', kopia.maintenance.schedule, 'daily', report, 'the BackupTooOld alert expects maintenance every 26 h');
}

/** Names of the backup CronJobs in `apps`; every one matches the rules' `kopia.*` pattern. */
export const BACKUP_CRONJOBS = {
  snapshot: 'kopia-snapshot',
  copy: 'kopia-copy',
  offsite: 'kopia-offsite',
  verify: 'kopia-verify',
  maintenance: 'kopia-maintenance',
} as const;

/** Name and app label of a restore Job (lib/apps/backup/restore.ts); the database policies let it in. */
export const BACKUP_RESTORE_APP = 'kopia-restore';

/** Pods of the backup component that sign in to the databases: the dump steps and a restore. */
export function databaseBackupClients(config: PotatoStackConfig): string[] {
  return config.components.kopia.enabled ? [BACKUP_CRONJOBS.snapshot, BACKUP_RESTORE_APP] : [];
}

/** One backup CronJob as the alert rules watch it: what its success stands for and how old it may get. */
export interface BackupCronJob {
  readonly cronjob: string;
  /** What a successful run of it has produced, for the alert text. */
  readonly covers: string;
  readonly maxAgeHours: number;
}

/** Hours of slack on top of a schedule's period before a missing success alerts. */
export const BACKUP_AGE_SLACK_HOURS = 2;

/**
 * The backup CronJobs the config deploys. The snapshot job dumps the databases first and
 * succeeds only when every dump and the snapshot did, so its last success is the age of both.
 */
export function backupCronJobs(config: PotatoStackConfig): BackupCronJob[] {
  if (!config.components.kopia.enabled) return [];
  const daily = 24 + BACKUP_AGE_SLACK_HOURS;
  const dumps = [config.components.mariadb.enabled ? "Nextcloud's MariaDB" : '', config.components.postgres.enabled ? "Gitea's PostgreSQL" : ''].filter(Boolean);
  const jobs: BackupCronJob[] = [
    {
      cronjob: BACKUP_CRONJOBS.snapshot,
      covers: dumps.length > 0 ? `the dumps of ${dumps.join(' and ')} and the file snapshot` : 'the file snapshot',
      maxAgeHours: daily,
    },
  ];
  if (config.kopia.copy.enabled) jobs.push({ cronjob: BACKUP_CRONJOBS.copy, covers: 'the copy of the repository on the cache HDD', maxAgeHours: daily });
  if (config.kopia.offsite.type !== 'none') {
    jobs.push({ cronjob: BACKUP_CRONJOBS.offsite, covers: `the off-site copy of the repository (${config.kopia.offsite.type})`, maxAgeHours: daily });
  }
  jobs.push(
    // A day of slack: reading a share of every file takes longer in some weeks than in others.
    { cronjob: BACKUP_CRONJOBS.verify, covers: 'the verification of every snapshot', maxAgeHours: 8 * 24 },
    { cronjob: BACKUP_CRONJOBS.maintenance, covers: 'the repository maintenance', maxAgeHours: daily },
  );
  return jobs;
}
