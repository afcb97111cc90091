import { Construct } from 'constructs';
import { ZONES, databaseBackupClients, volumeSpec } from '../config';
import { memoryBytes } from '../config/quantity';
import { AppDeployment, AppPolicy, AppService, PotatoChart, execProbe, startupWindow } from '../constructs';

/**
 * What the apps chart needs to reach Gitea's database. The `gitea-db` Secret must exist in both
 * `data` (the server sets the password from it on first init) and `apps` (Gitea signs in with
 * it), with the same value.
 */
export const GITEA_POSTGRES = {
  /** Deployment, Service, pod label app.kubernetes.io/name. */
  app: 'gitea-postgres',
  namespace: ZONES.data.namespace,
  port: 5432,
  /** In-cluster address for Gitea's [database] HOST (append `:5432`). */
  host: `gitea-postgres.${ZONES.data.namespace}.svc.cluster.local`,
  database: 'gitea',
  user: 'gitea',
  secret: { name: 'gitea-db', passwordKey: 'password' },
  /** Apps (in `apps`) allowed to connect. */
  clients: ['gitea'],
  /**
   * Server-side connection cap (including 3 reserved for superusers): Gitea's
   * `[database] MAX_OPEN_CONNS` must stay below `maxConnections - 3`.
   */
  maxConnections: 20,
} as const;

/** The alpine image's postgres user; also the owner of `postgres-data`. */
const POSTGRES_UID = 70;
const MOUNT = '/var/lib/postgresql/data';
/**
 * PGDATA is a subfolder the entrypoint creates with the mode initdb insists on (0700); it keeps
 * the claim's root free for a dump when the major version changes.
 */
export const PGDATA = `${MOUNT}/pgdata`;

/**
 * Server settings, each valid for every supported major (13-18). shared_buffers is a sixth of
 * the container's memory limit (16 MB to 1 GB): PostgreSQL leans on the kernel's page cache,
 * and every touched shared buffer counts against the container's memory.
 */
export function postgresSettings(memoryLimit: string): Record<string, string> {
  const limit = memoryBytes(memoryLimit);
  if (limit === undefined) throw new Error(`postgres: unparsable memory limit '${memoryLimit}'`);
  const sharedBuffersMb = Math.min(Math.max(Math.floor(limit / 6 / 1024 ** 2), 16), 1024);
  return {
    max_connections: String(GITEA_POSTGRES.maxConnections),
    superuser_reserved_connections: '3',
    shared_buffers: `${sharedBuffersMb}MB`,
    // No huge page reservation on a 2 GB board; no LLVM JIT, which only pays off for long
    // analytic queries and costs memory in every backend that loads it.
    huge_pages: 'off',
    jit: 'off',
    temp_buffers: '4MB',
    work_mem: '2MB',
    maintenance_work_mem: '16MB',
    autovacuum_work_mem: '8MB',
    autovacuum_max_workers: '2',
    // Every worker is a process: no parallel query on a 4-core board shared by the whole stack.
    max_worker_processes: '2',
    max_parallel_workers: '0',
    max_parallel_workers_per_gather: '0',
    max_parallel_maintenance_workers: '0',
    effective_cache_size: '128MB',
    // Keep the WAL on the HDD small.
    min_wal_size: '64MB',
    max_wal_size: '256MB',
    // The default only from 14 on; stated so a 13 data folder gets the same.
    password_encryption: 'scram-sha-256',
  };
}

/**
 * initdb options for a new data folder: UTF-8 (what Gitea expects) and page checksums, which
 * catch silent corruption on a USB disk (the default only from 18 on).
 */
export const INITDB_ARGS = ['--encoding=UTF8', '--data-checksums'];

/** `-c name=value` arguments for the postgres server, in a stable order. */
export function postgresArgs(memoryLimit: string): string[] {
  return Object.entries(postgresSettings(memoryLimit)).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
}

/**
 * PostgreSQL for Gitea, of the major `postgres.majorVersion` (the config validation ties the
 * image tag to it): UID 70 with a read-only root, data on the `postgres-data` claim, the
 * password from the `gitea-db` Secret, reachable only from Gitea.
 */
export class GiteaPostgres extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { app, namespace, port, secret } = GITEA_POSTGRES;
    const size = chart.size('postgres', 'postgres');
    const volume = volumeSpec('postgres-data');
    if (volume.uid !== POSTGRES_UID) throw new Error(`postgres-data must be owned by UID ${POSTGRES_UID}, the alpine image's postgres user`);

    // Over TCP on purpose: the entrypoint's init-time server listens on the socket only, so
    // the pod is not ready before initialisation has finished.
    const isReady = execProbe(['pg_isready', '--host=127.0.0.1', `--port=${port}`, `--username=${GITEA_POSTGRES.user}`, `--dbname=${GITEA_POSTGRES.database}`], {
      timeoutSeconds: 5,
    });
    new AppDeployment(this, 'Deployment', {
      name: app,
      namespace,
      role: 'database',
      runAs: { uid: volume.uid, gid: volume.gid },
      terminationGracePeriodSeconds: 60,
      volumes: [
        { name: 'data', claim: volume.name },
        { name: 'run', emptyDir: { sizeLimit: '16Mi' } },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ],
      containers: [
        {
          name: 'postgres',
          image: 'postgres',
          size,
          args: ['postgres', ...postgresArgs(size.limits.memory)],
          env: {
            POSTGRES_USER: GITEA_POSTGRES.user,
            POSTGRES_DB: GITEA_POSTGRES.database,
            POSTGRES_PASSWORD: { secret: secret.name, key: secret.passwordKey, optional: false },
            PGDATA,
            POSTGRES_INITDB_ARGS: INITDB_ARGS.join(' '),
          },
          ports: [{ name: 'postgres', port }],
          mounts: [
            { volume: 'data', path: MOUNT },
            { volume: 'run', path: '/var/run/postgresql' },
            { volume: 'tmp', path: '/tmp' },
          ],
          probes: {
            startup: startupWindow(isReady, 10),
            readiness: { ...isReady, periodSeconds: 15 },
            liveness: { ...isReady, periodSeconds: 30, failureThreshold: 4 },
          },
        },
      ],
    });

    new AppService(this, 'Service', { name: app, namespace, role: 'database', ports: [{ name: 'postgres', port }] });

    new AppPolicy(this, 'Policy', {
      name: `${app}-from-gitea`,
      namespace,
      app,
      // Its app, plus the backup's dump steps and a restore Job when Kopia runs.
      ingress: [{ peers: [...GITEA_POSTGRES.clients, ...databaseBackupClients(chart.config)].map((client) => ({ app: client, namespace: ZONES.apps.namespace })), ports: [{ port }] }],
    });
  }
}
