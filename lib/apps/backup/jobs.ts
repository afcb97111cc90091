import { Construct } from 'constructs';
import { BACKUP_CRONJOBS, BACKUP_RESTORE_APP, ContainerSize, PotatoStackConfig, VOLUMES, VolumeSpec } from '../../config';
import { memoryBytes } from '../../config/quantity';
import {
  AppPolicy,
  EnvValue,
  LongRunningContainerProps,
  PodVolume,
  PotatoChart,
  Rule,
  RunToCompletionContainerProps,
  ScheduledJob,
  SecurityException,
  VolumeMount,
  execProbe,
} from '../../constructs';
import { GITEA_POSTGRES } from '../postgres';
import { MARIADB } from '../mariadb';
import { WWW_DATA, nextcloudCliEnv } from '../nextcloud';
import {
  CacheCaps,
  KopiaIdentity,
  maintenanceHolderAliveCommand,
  maintenanceHolderStartedCommand,
  renderCopyScript,
  renderMaintenanceHolderScript,
  renderMaintenanceScript,
  renderMariadbDumpScript,
  renderMariadbRestoreScript,
  renderPostgresDumpScript,
  renderPostgresRestoreScript,
  renderRestoreFilesScript,
  renderSnapshotScript,
  renderVerifyScript,
} from './scripts';
import { CopyTargetSpec, cacheDiskTarget, offsiteTarget, targetPorts } from './targets';

/** Hostname every Kopia client of the stack records; pod names change, this must not. */
export const KOPIA_HOSTNAME = 'potatostack';

/** Each client's identity. The maintenance job alone owns repository maintenance. */
export const BACKUP_IDENTITIES = {
  server: { hostname: KOPIA_HOSTNAME, username: 'kopia' },
  snapshot: { hostname: KOPIA_HOSTNAME, username: BACKUP_CRONJOBS.snapshot },
  copy: { hostname: KOPIA_HOSTNAME, username: BACKUP_CRONJOBS.copy },
  offsite: { hostname: KOPIA_HOSTNAME, username: BACKUP_CRONJOBS.offsite },
  verify: { hostname: KOPIA_HOSTNAME, username: BACKUP_CRONJOBS.verify },
  maintenance: { hostname: KOPIA_HOSTNAME, username: BACKUP_CRONJOBS.maintenance },
  restore: { hostname: KOPIA_HOSTNAME, username: 'kopia-restore' },
} as const satisfies Record<string, KopiaIdentity>;

/** Name (and app label) of a restore Job's pod; the database policies let it in. */
export const KOPIA_RESTORE = BACKUP_RESTORE_APP;

/** Repository password and the web UI / API login. */
export const KOPIA_SECRET = { name: 'kopia', repositoryPasswordKey: 'repository-password', usernameKey: 'server-username', passwordKey: 'server-password' } as const;

/** Paths inside the backup containers; each one is a mount, passed to the scripts in the environment. */
export const BACKUP_PATHS = {
  repository: '/repository',
  cache: '/app/cache',
  config: '/app/config',
  logs: '/app/logs',
  sources: '/data',
  dumps: '/dumps',
  state: '/backup-state',
  scripts: '/scripts',
  disk: '/disk',
  tmp: '/tmp',
} as const;

/** ConfigMap with every script of the server, the backup jobs and the restore Job. */
export const KOPIA_SCRIPTS = 'kopia-scripts';

/** Owner of the dumps folder and UID of the dump and database restore steps (an unprivileged UID of its own). */
export const DUMP_UID = 65532;

/** Sub-folder of the `kopia-cache` claim per client: two clients never share a cache. */
export const CACHE_SUBPATHS = {
  snapshot: 'snapshot-job',
  copy: 'copy-job',
  offsite: 'offsite-job',
  verify: 'verify-job',
  maintenance: 'maintenance-job',
} as const;

/**
 * Cache caps of the job clients (MB). The repository is a local folder, so a cache miss is only a
 * read from the same disk: a small cache of directory metadata and indexes is all that pays off.
 */
export const JOB_CACHE: CacheCaps = { contentMb: 256, metadataMb: 1024 };

/**
 * Files read and hashed at once. One: the sources and the repository share one USB 2.0 disk,
 * which a second reader only makes seek; each extra upload also costs about 40 MiB of buffers.
 */
export const SNAPSHOT_PARALLEL = 1;

/** A database the snapshot dumps first and the restore reloads. */
export interface DumpedDatabase {
  /** Component whose data it is (restore unit) and the component of its server. */
  readonly app: 'nextcloud' | 'gitea';
  readonly server: 'mariadb' | 'postgres';
  /** Dump file name prefix: `<name>-<UTC time>.<sql|dump>`. */
  readonly dumpName: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Secret (in `apps`, where the app reads it too) and key of the password. */
  readonly secret: { readonly name: string; readonly key: string };
}

export const DUMPED_DATABASES: readonly DumpedDatabase[] = [
  {
    app: 'nextcloud',
    server: 'mariadb',
    dumpName: 'nextcloud-mariadb',
    host: MARIADB.host,
    port: MARIADB.port,
    database: MARIADB.database,
    user: MARIADB.user,
    secret: { name: MARIADB.secret.name, key: MARIADB.secret.passwordKey },
  },
  {
    app: 'gitea',
    server: 'postgres',
    dumpName: 'gitea-postgres',
    host: GITEA_POSTGRES.host,
    port: GITEA_POSTGRES.port,
    database: GITEA_POSTGRES.database,
    user: GITEA_POSTGRES.user,
    secret: { name: GITEA_POSTGRES.secret.name, key: GITEA_POSTGRES.secret.passwordKey },
  },
];

/** The databases whose servers the config runs. */
export function dumpedDatabases(config: PotatoStackConfig): DumpedDatabase[] {
  return DUMPED_DATABASES.filter((db) => config.components[db.server].enabled);
}

/** Database server app label (in `data`) of a dumped database, for the network policies. */
export function databaseApp(db: DumpedDatabase): string {
  return db.server === 'mariadb' ? MARIADB.app : GITEA_POSTGRES.app;
}

/** Folder of the dumps relative to the main disk. */
export function dumpsFolder(volumes: readonly VolumeSpec[] = VOLUMES): string {
  return volumes.find((v) => v.name === 'database-dumps')?.folder ?? 'backups/databases';
}

/** Staging folder of restores on the main disk (ignored by the snapshot). */
export const RESTORE_STAGING = '.potatostack-restore';

/** Nextcloud's thumbnail cache inside its folder: regenerated on demand, not worth backing up. */
export const NEXTCLOUD_PREVIEW_CACHE = 'data/appdata_*/preview/';

/**
 * Ignore rules of the snapshot, relative to the snapshot source (the main disk): Kopia's own
 * repository and cache (never back up the backup into itself), the live database folders (the
 * dumps replace them: a copy of files in use is not a consistent database), restore staging
 * folders, Nextcloud's thumbnail cache, and the operator's extra rules.
 */
export function snapshotIgnoreRules(config: PotatoStackConfig, volumes: readonly VolumeSpec[] = VOLUMES): string[] {
  const sources = volumes.find((v) => v.name === 'kopia-sources');
  if (!sources) throw new Error('kopia: no read-only sources volume in the storage layout');
  const prefix = sources.folder === '' ? '' : `${sources.folder}/`;
  const below = (v: VolumeSpec) => v.disk === sources.disk && v.folder.startsWith(prefix) && v.folder !== sources.folder;
  const rel = (folder: string) => `/${folder.slice(prefix.length)}/`;
  const own = volumes.filter((v) => (v.name === 'kopia-repository' || v.name === 'kopia-cache') && below(v)).map((v) => rel(v.folder));
  const live = volumes.filter((v) => (v.component === 'mariadb' || v.component === 'postgres') && below(v)).map((v) => rel(v.folder));
  const nextcloud = volumes.find((v) => v.name === 'nextcloud-data' && below(v));
  return [
    ...own,
    ...live,
    `/${RESTORE_STAGING}/`,
    ...(nextcloud && config.components.nextcloud.enabled ? [`${rel(nextcloud.folder)}${NEXTCLOUD_PREVIEW_CACHE}`] : []),
    ...config.kopia.ignore,
  ];
}

/**
 * The garbage collector's target of a job's kopia is its memory request, not a share of the
 * limit: a nightly run then stays near what the budget reserves for it, and the limit is only the
 * room for a first full run, which holds more buffers (components.ts has the numbers).
 */
export function jobMemLimit(size: ContainerSize): string {
  const request = memoryBytes(size.requests.memory);
  if (request === undefined) throw new Error(`unparsable memory request '${size.requests.memory}'`);
  return `${Math.floor(request / 1024 ** 2)}MiB`;
}

/** Every job's kopia reads the same 0700 repository the server (root) writes. */
const ROOT_FOR_REPOSITORY: SecurityException = {
  reason: 'reads and writes the Kopia repository, whose files belong to root (the server runs as root); no capability beyond that',
  runAsRoot: true,
};

/** The snapshot reads every app's 0700/0750 folder. */
export const READ_EVERY_APP: SecurityException = {
  reason:
    'backs up every app folder, each owned by its own UID with mode 0700/0750: runs as root with only DAC_OVERRIDE (DAC_READ_SEARCH is not allowed at baseline); the sources are mounted read-only',
  runAsRoot: true,
  addCapabilities: ['DAC_OVERRIDE'],
};

/** The restore writes every app's folder back with its owners and modes. */
export const RESTORE_EVERY_APP: SecurityException = {
  reason:
    "restores an app's folders with their original owners and modes: runs as root with DAC_OVERRIDE, CHOWN and FOWNER (all allowed at baseline); a one-off Job the operator applies by hand",
  runAsRoot: true,
  addCapabilities: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'],
};

/** The environment every kopia client container of the stack shares. */
export function kopiaClientEnv(config: PotatoStackConfig, size: ContainerSize, repository: string = BACKUP_PATHS.repository): Record<string, EnvValue> {
  return {
    KOPIA_PASSWORD: { secret: KOPIA_SECRET.name, key: KOPIA_SECRET.repositoryPasswordKey },
    KOPIA_CONFIG_PATH: `${BACKUP_PATHS.config}/repository.config`,
    KOPIA_CACHE_DIRECTORY: BACKUP_PATHS.cache,
    // The connection is thrown away with the pod; the password stays in the environment.
    KOPIA_PERSIST_CREDENTIALS_ON_CONNECT: 'false',
    KOPIA_LOG_DIR: BACKUP_PATHS.logs,
    // Log files live on an emptyDir: keep them well under its size limit.
    KOPIA_LOG_DIR_MAX_SIZE_MB: '16',
    KOPIA_CONTENT_LOG_DIR_MAX_SIZE_MB: '16',
    KOPIA_LOG_FILE_MAX_SEGMENT_SIZE: '4000000',
    KOPIA_CHECK_FOR_UPDATES: 'false',
    GOMEMLIMIT: jobMemLimit(size),
    TZ: config.timezone,
    REPOSITORY: repository,
  };
}

/** Volumes of a kopia client pod: connection config, logs and tmp are per pod and thrown away. */
export function kopiaClientVolumes(): PodVolume[] {
  return [
    { name: 'scripts', configMap: KOPIA_SCRIPTS, defaultMode: 0o555 },
    { name: 'config', emptyDir: { sizeLimit: '16Mi' } },
    { name: 'logs', emptyDir: { sizeLimit: '64Mi' } },
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
  ];
}

export function kopiaClientMounts(): VolumeMount[] {
  return [
    { volume: 'scripts', path: BACKUP_PATHS.scripts, readOnly: true },
    { volume: 'config', path: BACKUP_PATHS.config },
    { volume: 'logs', path: BACKUP_PATHS.logs },
    { volume: 'tmp', path: BACKUP_PATHS.tmp },
  ];
}

/** Script file names in the KOPIA_SCRIPTS ConfigMap. */
export const SCRIPT_FILES = {
  snapshot: 'snapshot.sh',
  nextcloudMaintenance: 'nextcloud-maintenance.sh',
  dumpMariadb: 'dump-mariadb.sh',
  dumpPostgres: 'dump-postgres.sh',
  copy: 'copy.sh',
  offsite: 'offsite.sh',
  verify: 'verify.sh',
  maintenance: 'maintenance.sh',
  restoreFiles: 'restore-files.sh',
  restoreMariadb: 'restore-mariadb.sh',
  restorePostgres: 'restore-postgres.sh',
} as const;

function dumpScriptOf(db: DumpedDatabase): string {
  return db.server === 'mariadb' ? SCRIPT_FILES.dumpMariadb : SCRIPT_FILES.dumpPostgres;
}

export function restoreScriptOf(db: DumpedDatabase): string {
  return db.server === 'mariadb' ? SCRIPT_FILES.restoreMariadb : SCRIPT_FILES.restorePostgres;
}

/** Container name of a database's dump step and of its restore step. */
export const dumpContainerName = (db: DumpedDatabase) => `dump-${db.server}`;
export const restoreContainerName = (db: DumpedDatabase) => `restore-${db.server}`;

/** The password variable each database client reads itself. */
export function databaseEnv(db: DumpedDatabase): Record<string, EnvValue> {
  const password = db.server === 'mariadb' ? 'MYSQL_PWD' : 'PGPASSWORD';
  return {
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_NAME: db.database,
    DB_USER: db.user,
    DUMP_NAME: db.dumpName,
    [password]: { secret: db.secret.name, key: db.secret.key },
  };
}

/** The scripts the KOPIA_SCRIPTS ConfigMap carries for the jobs and the restore (the server's start script is added by the Kopia construct). */
export function backupScripts(config: PotatoStackConfig): Record<string, string> {
  const scripts: Record<string, string> = {
    [SCRIPT_FILES.snapshot]: renderSnapshotScript(BACKUP_IDENTITIES.snapshot, JOB_CACHE, {
      ignoreRules: snapshotIgnoreRules(config),
      ...config.kopia.retention,
      compression: config.kopia.compression,
      parallel: SNAPSHOT_PARALLEL,
      description: `${BACKUP_CRONJOBS.snapshot} CronJob`,
    }),
    [SCRIPT_FILES.verify]: renderVerifyScript(BACKUP_IDENTITIES.verify, JOB_CACHE, config.kopia.verify.filesPercent),
    [SCRIPT_FILES.maintenance]: renderMaintenanceScript(BACKUP_IDENTITIES.maintenance, JOB_CACHE),
    [SCRIPT_FILES.restoreFiles]: renderRestoreFilesScript(BACKUP_IDENTITIES.restore, JOB_CACHE),
  };
  if (config.components.nextcloud.enabled) scripts[SCRIPT_FILES.nextcloudMaintenance] = renderMaintenanceHolderScript();
  for (const db of dumpedDatabases(config)) {
    scripts[dumpScriptOf(db)] = db.server === 'mariadb' ? renderMariadbDumpScript() : renderPostgresDumpScript();
    scripts[restoreScriptOf(db)] = db.server === 'mariadb' ? renderMariadbRestoreScript() : renderPostgresRestoreScript();
  }
  if (config.kopia.copy.enabled) scripts[SCRIPT_FILES.copy] = renderCopyScript(BACKUP_IDENTITIES.copy, JOB_CACHE, cacheDiskTarget().target);
  if (config.kopia.offsite.type !== 'none') scripts[SCRIPT_FILES.offsite] = renderCopyScript(BACKUP_IDENTITIES.offsite, JOB_CACHE, offsiteTarget(config.kopia.offsite).target);
  return scripts;
}

export interface BackupJobProps {
  readonly namespace: string;
}

/**
 * The nightly snapshot (`kopia-snapshot`): its init steps dump the databases, then its kopia
 * takes the file snapshot of the main disk, dumps included, live database folders excluded.
 * While MariaDB is dumped, a native sidecar holds Nextcloud in maintenance mode. The pod never
 * restarts a failed step in place (restartPolicy Never): a retry is a fresh pod with a fresh
 * maintenance window, and a failure fails the Job, which the backup alerts count.
 */
export class KopiaSnapshotJob extends Construct {
  constructor(scope: Construct, id: string, props: BackupJobProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const { namespace } = props;
    const name = BACKUP_CRONJOBS.snapshot;
    const size = chart.size('kopia', name);
    const databases = dumpedDatabases(config);
    const nextcloud = config.components.nextcloud.enabled;
    const maxSeconds = config.kopia.dumps.maintenanceMinutes * 60;
    const state = BACKUP_PATHS.state;

    const sidecars: LongRunningContainerProps[] = [];
    if (nextcloud && databases.some((db) => db.app === 'nextcloud')) {
      const holderSize = chart.size('kopia', 'nextcloud-maintenance');
      sidecars.push({
        name: 'nextcloud-maintenance',
        image: 'nextcloud',
        size: holderSize,
        runAs: { uid: WWW_DATA, gid: WWW_DATA },
        command: ['/bin/sh', `${BACKUP_PATHS.scripts}/${SCRIPT_FILES.nextcloudMaintenance}`],
        env: { ...nextcloudCliEnv(config, holderSize), STATE: state, MAINTENANCE_MAX_SECONDS: String(maxSeconds) },
        mounts: [
          { volume: 'nextcloud', path: '/var/www/html' },
          { volume: 'state', path: state },
          { volume: 'scripts', path: BACKUP_PATHS.scripts, readOnly: true },
          { volume: 'tmp', path: BACKUP_PATHS.tmp },
        ],
        probes: {
          // The next step (the dump) starts only once this passes: maintenance mode is on, or refused.
          startup: execProbe(maintenanceHolderStartedCommand(state), { periodSeconds: 2, failureThreshold: 150, timeoutSeconds: 5 }),
          // Maintenance held past its window: a restart makes the holder's SIGTERM handler end it.
          liveness: execProbe(maintenanceHolderAliveCommand(state, maxSeconds), { periodSeconds: 60, failureThreshold: 1, timeoutSeconds: 10 }),
        },
      });
    }

    const dumpSteps: RunToCompletionContainerProps[] = databases.map((db) => ({
      name: dumpContainerName(db),
      image: db.server,
      size: chart.size('kopia', dumpContainerName(db)),
      runAs: { uid: DUMP_UID, gid: DUMP_UID },
      command: ['/bin/sh', `${BACKUP_PATHS.scripts}/${dumpScriptOf(db)}`],
      env: {
        ...databaseEnv(db),
        DUMPS: BACKUP_PATHS.dumps,
        KEEP: String(config.kopia.dumps.keep),
        ...(db.server === 'mariadb' ? { STATE: state, REQUIRE_MAINTENANCE: sidecars.length > 0 ? '1' : '0' } : {}),
        TZ: config.timezone,
      },
      mounts: [
        { volume: 'dumps', path: BACKUP_PATHS.dumps },
        ...(db.server === 'mariadb' ? [{ volume: 'state', path: state }] : []),
        { volume: 'scripts', path: BACKUP_PATHS.scripts, readOnly: true },
        { volume: 'tmp', path: BACKUP_PATHS.tmp },
      ],
    }));

    new ScheduledJob(this, 'Job', {
      name,
      namespace,
      role: 'backup',
      schedule: config.kopia.snapshot.schedule,
      activeDeadlineSeconds: config.kopia.snapshot.maxHours * 3600,
      restartPolicy: 'Never',
      backoffLimit: 1,
      // On SIGTERM (deadline reached, node drained) Kopia saves what it has as a partial
      // snapshot, and the maintenance holder ends maintenance mode.
      terminationGracePeriodSeconds: 120,
      // ReadWriteOnce binds per node: the job shares its claims with the apps on the storage node.
      volumes: [
        { name: 'repository', claim: 'kopia-repository' },
        { name: 'cache', claim: 'kopia-cache' },
        { name: 'sources', claim: 'kopia-sources', readOnly: true },
        ...(databases.length > 0 ? [{ name: 'dumps', claim: 'database-dumps' }] : []),
        ...(sidecars.length > 0 ? [{ name: 'nextcloud', claim: 'nextcloud-data' }] : []),
        { name: 'state', emptyDir: { sizeLimit: '1Mi', medium: 'Memory' as const } },
        ...kopiaClientVolumes(),
      ],
      sidecars,
      initContainersAfterSidecars: dumpSteps,
      containers: [
        {
          name,
          image: 'kopia',
          size,
          command: ['/bin/sh', `${BACKUP_PATHS.scripts}/${SCRIPT_FILES.snapshot}`],
          env: { ...kopiaClientEnv(config, size), SOURCES: BACKUP_PATHS.sources },
          mounts: [
            { volume: 'repository', path: BACKUP_PATHS.repository },
            { volume: 'cache', path: BACKUP_PATHS.cache, subPath: CACHE_SUBPATHS.snapshot },
            { volume: 'sources', path: BACKUP_PATHS.sources, readOnly: true },
            ...kopiaClientMounts(),
          ],
          securityException: READ_EVERY_APP,
        },
      ],
    });

    if (databases.length > 0) {
      // The dump steps sign in to the databases like the apps do; nothing else leaves the pod.
      const egress: Rule[] = databases.map((db) => ({ peers: [{ app: databaseApp(db), namespace: 'data' }], ports: [{ port: db.port }] }));
      new AppPolicy(this, 'Policy', { name, namespace, app: name, egress });
    }
  }
}

export interface KopiaToolJobProps extends BackupJobProps {
  readonly name: string;
  readonly container: string;
  readonly schedule: string;
  readonly script: string;
  readonly identityCache: string;
  /** Hours a run may take. */
  readonly maxHours: number;
  /** What the job's target needs besides the repository: credentials, the target's claim. @default none */
  readonly extra?: { readonly env?: Readonly<Record<string, EnvValue>>; readonly volumes?: readonly PodVolume[]; readonly mounts?: readonly VolumeMount[] };
}

/** A scheduled kopia client of the main repository: the copies, the verification, the maintenance. */
export class KopiaToolJob extends Construct {
  constructor(scope: Construct, id: string, props: KopiaToolJobProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const size = chart.size('kopia', props.container);
    new ScheduledJob(this, 'Job', {
      name: props.name,
      namespace: props.namespace,
      role: 'backup',
      schedule: props.schedule,
      activeDeadlineSeconds: props.maxHours * 3600,
      backoffLimit: 1,
      terminationGracePeriodSeconds: 60,
      volumes: [{ name: 'repository', claim: 'kopia-repository' }, { name: 'cache', claim: 'kopia-cache' }, ...kopiaClientVolumes(), ...(props.extra?.volumes ?? [])],
      containers: [
        {
          name: props.container,
          image: 'kopia',
          size,
          command: ['/bin/sh', `${BACKUP_PATHS.scripts}/${props.script}`],
          env: { ...kopiaClientEnv(config, size), ...(props.extra?.env ?? {}) },
          mounts: [
            { volume: 'repository', path: BACKUP_PATHS.repository },
            { volume: 'cache', path: BACKUP_PATHS.cache, subPath: props.identityCache },
            ...kopiaClientMounts(),
            ...(props.extra?.mounts ?? []),
          ],
          securityException: ROOT_FOR_REPOSITORY,
        },
      ],
    });
  }
}

/** Where a copy job sends the repository, and its egress when that is over the network. */
function copyJob(scope: Construct, id: string, namespace: string, name: string, schedule: string, script: string, cacheSubPath: string, spec: CopyTargetSpec): void {
  new KopiaToolJob(scope, id, {
    namespace,
    name,
    container: name,
    schedule,
    script,
    identityCache: cacheSubPath,
    // A first copy of a full repository over USB 2.0 takes hours; later ones copy a night's new blobs.
    maxHours: 8,
    extra: { env: spec.env, volumes: spec.volumes, mounts: spec.mounts },
  });
  const ports = targetPorts(spec);
  if (ports.length > 0) {
    const { podCidr, serviceCidr } = PotatoChart.of(scope).config.network;
    new AppPolicy(scope, `${id}Policy`, { name, namespace, app: name, egress: [{ peers: [{ cidr: '0.0.0.0/0', except: [podCidr, serviceCidr] }], ports }] });
  }
}

/** The copy, off-site copy, verification and maintenance CronJobs of the config. */
export class KopiaRepositoryJobs extends Construct {
  constructor(scope: Construct, id: string, props: BackupJobProps) {
    super(scope, id);
    const { config } = PotatoChart.of(this);
    const { namespace } = props;
    const { copy, offsite, verify, maintenance } = config.kopia;
    if (copy.enabled) copyJob(this, 'Copy', namespace, BACKUP_CRONJOBS.copy, copy.schedule, SCRIPT_FILES.copy, CACHE_SUBPATHS.copy, cacheDiskTarget());
    if (offsite.type !== 'none') copyJob(this, 'Offsite', namespace, BACKUP_CRONJOBS.offsite, offsite.schedule, SCRIPT_FILES.offsite, CACHE_SUBPATHS.offsite, offsiteTarget(offsite));
    new KopiaToolJob(this, 'Verify', {
      namespace,
      name: BACKUP_CRONJOBS.verify,
      container: BACKUP_CRONJOBS.verify,
      schedule: verify.schedule,
      script: SCRIPT_FILES.verify,
      identityCache: CACHE_SUBPATHS.verify,
      maxHours: 12,
    });
    new KopiaToolJob(this, 'Maintenance', {
      namespace,
      name: BACKUP_CRONJOBS.maintenance,
      container: BACKUP_CRONJOBS.maintenance,
      schedule: maintenance.schedule,
      script: SCRIPT_FILES.maintenance,
      identityCache: CACHE_SUBPATHS.maintenance,
      maxHours: 4,
    });
  }
}
