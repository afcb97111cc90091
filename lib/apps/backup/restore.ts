import { App } from 'cdk8s';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { BACKUP_CRONJOBS, ComponentName, PotatoStackConfig, ZONES, enabledVolumes, volumeSpec } from '../../config';
import { AppPolicy, EnvValue, OneOffJob, PotatoChart, RunToCompletionContainerProps, appLabels } from '../../constructs';
import {
  BACKUP_IDENTITIES,
  BACKUP_PATHS,
  DUMP_UID,
  DumpedDatabase,
  KOPIA_RESTORE,
  RESTORE_EVERY_APP,
  RESTORE_STAGING,
  SCRIPT_FILES,
  databaseApp,
  databaseEnv,
  dumpedDatabases,
  dumpsFolder,
  kopiaClientEnv,
  kopiaClientMounts,
  kopiaClientVolumes,
  restoreContainerName,
  restoreScriptOf,
} from './jobs';

/** What can be restored: an app's folders on the main disk, and the dump of its database. */
export interface RestorableApp {
  readonly app: ComponentName;
  /** Folders relative to the main disk (the snapshot's root). */
  readonly folders: readonly string[];
  readonly database?: DumpedDatabase;
  /** Workloads to stop first (Deployments) and CronJobs to suspend, in `namespace`. */
  readonly namespace: string;
  readonly deployments: readonly string[];
  readonly cronjobs: readonly string[];
}

/** Workloads of an app that write its folders, by component (the component's own name otherwise). */
const APP_WORKLOADS: Partial<Record<ComponentName, { deployments: string[]; cronjobs: string[] }>> = {
  nextcloud: { deployments: ['nextcloud'], cronjobs: ['nextcloud-cron'] },
  vpn: { deployments: ['vpn'], cronjobs: ['cache-cleanup'] },
  // slskd runs in the VPN pod.
  slskd: { deployments: ['vpn'], cronjobs: ['cache-cleanup'] },
};

/**
 * Every app the config runs whose data the snapshot holds: the main-disk folders of each enabled
 * component except Kopia's own and the live database folders (those come back from the dumps,
 * with the app they belong to).
 */
export function restorableApps(config: PotatoStackConfig): RestorableApp[] {
  const byApp = new Map<ComponentName, string[]>();
  for (const v of enabledVolumes(config)) {
    if (v.disk !== 'main' || v.readOnly || v.component === 'kopia' || v.component === 'mariadb' || v.component === 'postgres') continue;
    byApp.set(v.component, [...(byApp.get(v.component) ?? []), v.folder]);
  }
  const databases = dumpedDatabases(config);
  return [...byApp.entries()].map(([app, folders]) => {
    const volume = enabledVolumes(config).find((v) => v.component === app && v.disk === 'main')!;
    const workloads = APP_WORKLOADS[app] ?? { deployments: [app], cronjobs: [] };
    return { app, folders, database: databases.find((db) => db.app === app), namespace: ZONES[volume.zone].namespace, ...workloads };
  });
}

/** Which repository a restore reads: the main one, or its copy on the cache HDD. */
export type RestoreSource = 'main' | 'copy';

export interface RestoreRequest {
  /** The app (component) to restore, such as `nextcloud`. */
  readonly app: string;
  /** A snapshot manifest ID (`kopia snapshot list --manifest-id`), or `latest`. */
  readonly snapshot: string;
  readonly from: RestoreSource;
  /**
   * Names this restore's staging folder (`.potatostack-restore/<id>` on the main disk), such as
   * a UTC time stamp; a restore refuses an ID that ran before.
   */
  readonly restoreId: string;
}

/** The snapshot source of the nightly job: `kopia-snapshot@potatostack:/data`. */
export const SNAPSHOT_SOURCE = `${BACKUP_IDENTITIES.snapshot.username}@${BACKUP_IDENTITIES.snapshot.hostname}:${BACKUP_PATHS.sources}`;

/** Claim and PV of the restore's write access to the main disk (created for the restore only). */
export const RESTORE_DISK_CLAIM = 'kopia-restore-disk';

/** Checks a request against the config; throws with what is allowed. */
export function restoreTarget(config: PotatoStackConfig, request: RestoreRequest): RestorableApp {
  const apps = restorableApps(config);
  const target = apps.find((a) => a.app === request.app);
  if (!target) throw new Error(`restore app: '${request.app}' is not allowed; expected one of ${apps.map((a) => a.app).join(', ')}`);
  if (request.snapshot !== 'latest' && !/^[0-9a-f]{16,64}$/.test(request.snapshot)) {
    throw new Error(`restore snapshot: '${request.snapshot}' is not allowed; expected 'latest' or a snapshot manifest ID (hex, from kopia snapshot list --manifest-id)`);
  }
  if (request.from !== 'main' && request.from !== 'copy') throw new Error(`restore from: '${request.from}' is not allowed; expected 'main' or 'copy'`);
  if (request.from === 'copy' && !config.kopia.copy.enabled) throw new Error("restore from: 'copy' is not allowed while kopia.copy.enabled is false; expected 'main'");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(request.restoreId)) {
    throw new Error(`restore restoreId: '${request.restoreId}' is not allowed; expected letters, digits, dots, dashes and underscores (such as 20261130T120000Z)`);
  }
  if (!config.components.kopia.enabled) throw new Error('restore: components.kopia.enabled is false; the restore reads Kopia\'s repository');
  return target;
}

/** One container step of the restore Job, in the order it runs. */
export interface RestoreStep {
  readonly container: string;
  readonly script: string;
  readonly what: string;
}

/** The containers of the restore Job in order: the files (and dumps), then the database. */
export function restoreSteps(config: PotatoStackConfig, request: RestoreRequest): RestoreStep[] {
  const target = restoreTarget(config, request);
  const steps: RestoreStep[] = [
    {
      container: 'restore-files',
      script: SCRIPT_FILES.restoreFiles,
      what: `restores ${target.folders.map((f) => `\`${f}/\``).join(', ')}${target.database ? ' and the database dumps' : ''} of the snapshot into a staging folder, then swaps the folders into place (the replaced ones are kept)`,
    },
  ];
  if (target.database) {
    steps.push({ container: restoreContainerName(target.database), script: restoreScriptOf(target.database), what: `loads the newest dump of ${target.database.database} in that snapshot into the running ${target.database.server === 'mariadb' ? 'MariaDB' : 'PostgreSQL'} server` });
  }
  return steps;
}

/** The restore Job and what it needs: a PV + claim of the main disk, and its database egress. */
export class KopiaRestoreJob extends Construct {
  constructor(scope: Construct, id: string, request: RestoreRequest) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const target = restoreTarget(config, request);
    const namespace = ZONES.apps.namespace;
    const staging = `${BACKUP_PATHS.disk}/${RESTORE_STAGING}/${request.restoreId}`;
    const filesSize = chart.size('kopia', 'restore-files');
    const repositoryClaim = request.from === 'main' ? 'kopia-repository' : volumeSpec('kopia-copy').name;

    new k8s.KubePersistentVolume(this, 'DiskVolume', {
      metadata: { name: RESTORE_DISK_CLAIM, labels: appLabels(KOPIA_RESTORE, 'restore') },
      spec: {
        capacity: { storage: k8s.Quantity.fromString('500Gi') },
        accessModes: ['ReadWriteOnce'],
        // Retain: deleting the restore objects afterwards never touches the disk.
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        hostPath: { path: config.storage.mainPath, type: 'Directory' },
        claimRef: { name: RESTORE_DISK_CLAIM, namespace },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [config.storage.nodeName] }] }] } },
      },
    });
    new k8s.KubePersistentVolumeClaim(this, 'DiskClaim', {
      metadata: { name: RESTORE_DISK_CLAIM, namespace, labels: appLabels(KOPIA_RESTORE, 'restore') },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName: RESTORE_DISK_CLAIM, resources: { requests: { storage: k8s.Quantity.fromString('500Gi') } } },
    });

    const filesEnv: Record<string, EnvValue> = {
      ...kopiaClientEnv(config, filesSize),
      SNAPSHOT: request.snapshot,
      SNAPSHOT_SOURCE,
      DISK: BACKUP_PATHS.disk,
      FOLDERS: target.folders.join(' '),
      DUMPS_FOLDER: target.database ? dumpsFolder() : '',
      RESTORE_ID: request.restoreId,
    };
    const files: RunToCompletionContainerProps = {
      name: 'restore-files',
      image: 'kopia',
      size: filesSize,
      command: ['/bin/sh', `${BACKUP_PATHS.scripts}/${SCRIPT_FILES.restoreFiles}`],
      env: filesEnv,
      mounts: [
        { volume: 'repository', path: BACKUP_PATHS.repository, readOnly: true },
        { volume: 'cache', path: BACKUP_PATHS.cache },
        { volume: 'disk', path: BACKUP_PATHS.disk },
        ...kopiaClientMounts(),
      ],
      securityException: RESTORE_EVERY_APP,
    };
    const db = target.database;
    const database: RunToCompletionContainerProps | undefined = db && {
      name: restoreContainerName(db),
      image: db.server,
      size: chart.size('kopia', restoreContainerName(db)),
      runAs: { uid: DUMP_UID, gid: DUMP_UID },
      command: ['/bin/sh', `${BACKUP_PATHS.scripts}/${restoreScriptOf(db)}`],
      env: { ...databaseEnv(db), DUMPS: `${staging}/dumps`, TZ: config.timezone },
      mounts: [
        { volume: 'disk', path: BACKUP_PATHS.disk, readOnly: true },
        { volume: 'scripts', path: BACKUP_PATHS.scripts, readOnly: true },
        { volume: 'tmp', path: BACKUP_PATHS.tmp },
      ],
    };
    new OneOffJob(this, 'Job', {
      name: KOPIA_RESTORE,
      namespace,
      role: 'restore',
      activeDeadlineSeconds: 12 * 3600,
      watchImages: false,
      terminationGracePeriodSeconds: 60,
      volumes: [
        { name: 'repository', claim: repositoryClaim, readOnly: true },
        // A cache of its own, thrown away: the main disk (and its cache folder) may be the one being replaced.
        { name: 'cache', emptyDir: { sizeLimit: '2Gi' } },
        { name: 'disk', claim: RESTORE_DISK_CLAIM },
        ...kopiaClientVolumes(),
      ],
      initContainers: database ? [files] : [],
      containers: [database ?? files],
    });
    if (db) {
      new AppPolicy(this, 'Policy', {
        name: KOPIA_RESTORE,
        namespace,
        app: KOPIA_RESTORE,
        egress: [{ peers: [{ app: databaseApp(db), namespace: ZONES.data.namespace }], ports: [{ port: db.port }] }],
      });
    }
  }
}

/**
 * The restore's Kubernetes objects (PV and claim of the main disk, the Job, its database
 * policy) as plain manifests, for `kubectl apply -f`. Pure: nothing is written; the same config
 * and request give the same objects. They are not part of dist/, so no GitOps sync ever runs a
 * restore.
 */
export function restoreManifests(config: PotatoStackConfig, request: RestoreRequest): any[] {
  const app = new App({ outdir: '/nonexistent-outdir' });
  const chart = new PotatoChart(app, 'restore', config);
  new KopiaRestoreJob(chart, 'restore', request);
  return chart.toJson();
}

/** A step of the restore runbook: a shell command, or the restore Job's containers. */
export type RunbookStep = { readonly title: string; readonly commands: readonly string[] };

const cron = (namespace: string, names: readonly string[], suspend: boolean) =>
  names.map((n) => `kubectl -n ${namespace} patch cronjob ${n} -p '{"spec":{"suspend":${suspend}}}'`);

/**
 * The documented restore procedure for one request, in order (docs/backups.md shows it for an
 * example; `npm run restore` prints it for the operator's request). The Job's containers are the
 * steps the integration suite's restore drill runs for real.
 */
export function restoreRunbook(config: PotatoStackConfig, request: RestoreRequest): RunbookStep[] {
  const target = restoreTarget(config, request);
  const apps = ZONES.apps.namespace;
  const backupJobs = Object.values(BACKUP_CRONJOBS).filter((j) => j !== BACKUP_CRONJOBS.offsite || config.kopia.offsite.type !== 'none').filter((j) => j !== BACKUP_CRONJOBS.copy || config.kopia.copy.enabled);
  const file = `restore-${request.app}-${request.restoreId}.yaml`;
  const flags = `--snapshot ${request.snapshot} --from ${request.from} --id ${request.restoreId}`;
  const steps: RunbookStep[] = [
    {
      title: 'Pause GitOps, so it does not start what the next step stops (skip without Flux or Argo CD)',
      commands: ['flux suspend kustomization potatostack   # or: argocd app set potatostack --sync-policy none'],
    },
    {
      title: `Stop ${request.app} and the backup jobs`,
      commands: [
        ...target.deployments.map((d) => `kubectl -n ${target.namespace} scale deployment ${d} --replicas=0`),
        ...cron(target.namespace, target.cronjobs, true),
        ...cron(apps, backupJobs, true),
        ...target.deployments.map((d) => `kubectl -n ${target.namespace} wait --for=delete pod -l app.kubernetes.io/name=${d} --timeout=10m`),
      ],
    },
    {
      title: `Generate the restore objects (snapshot ${request.snapshot}, ${request.from === 'main' ? 'main repository' : 'the copy on the cache HDD'})`,
      commands: [`npm run --silent restore -- ${request.app} ${flags} > ${file}`],
    },
    {
      title: `Run the restore Job: ${restoreSteps(config, request).map((s) => `\`${s.container}\` ${s.what}`).join('; then ')}`,
      commands: [`kubectl apply -f ${file}`, `kubectl -n ${apps} wait --for=condition=complete job/${KOPIA_RESTORE} --timeout=12h`, `kubectl -n ${apps} logs job/${KOPIA_RESTORE} --all-containers`],
    },
    {
      title: 'Remove the restore objects (the PV is Retain: the disk is not touched)',
      commands: [`kubectl delete -f ${file}`],
    },
    {
      title: `Start ${request.app} and the backup jobs again, then resume GitOps`,
      commands: [
        ...target.deployments.map((d) => `kubectl -n ${target.namespace} scale deployment ${d} --replicas=1`),
        ...cron(target.namespace, target.cronjobs, false),
        ...cron(apps, backupJobs, false),
        'flux resume kustomization potatostack   # or: argocd app set potatostack --sync-policy automated',
      ],
    },
  ];
  if (request.app === 'nextcloud') {
    steps.push({
      title: "Let Nextcloud re-read its files (its file cache came back with the database; files changed since are found by the scan)",
      commands: [`kubectl -n ${apps} exec deploy/nextcloud -- php occ maintenance:data-fingerprint`, `kubectl -n ${apps} exec deploy/nextcloud -- php occ files:scan --all`],
    });
  }
  steps.push({
    title: `When the app works, delete what the restore replaced (kept in ${config.storage.mainPath}/${RESTORE_STAGING}/${request.restoreId}/replaced)`,
    commands: [`sudo rm -rf ${config.storage.mainPath}/${RESTORE_STAGING}/${request.restoreId}`],
  });
  return steps;
}

/** The runbook as Markdown: numbered steps with their commands. */
export function renderRunbook(steps: readonly RunbookStep[]): string {
  return steps.map((s, i) => [`${i + 1}. ${s.title}:`, '', '   ```sh', ...s.commands.map((c) => `   ${c}`), '   ```', ''].join('\n')).join('\n');
}
