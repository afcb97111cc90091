import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { ContainerSize, PotatoStackConfig } from '../config';
import { NON_PUBLIC_IPV4 } from '../config/cidr';
import {
  AppDeployment,
  AppPolicy,
  EnvValue,
  PodVolume,
  PotatoChart,
  ProxiedWebUi,
  ScheduledJob,
  VolumeMount,
  appLabels,
  hostFor,
  httpProbe,
  memoryLimitBytes,
  startupWindow,
} from '../constructs';

export const NEXTCLOUD = 'nextcloud';
export const NEXTCLOUD_CRON = 'nextcloud-cron';
export const NEXTCLOUD_SUBDOMAIN = 'cloud';
/** Apache listens on 80 inside the pod (the image's vhost); TLS ends at the proxy. */
export const NEXTCLOUD_HTTP_PORT = 80;
/** Nextcloud's status page: boots Nextcloud (config, database) and answers JSON with installed/maintenance. */
export const NEXTCLOUD_STATUS_PATH = '/status.php';
/** A static file of Nextcloud's code that Apache serves itself (its .htaccess rewrites exclude icons). */
export const NEXTCLOUD_LIVENESS_PATH = '/core/img/favicon.ico';
/** Secret with the first admin login (used once, by the automatic install). */
export const NEXTCLOUD_ADMIN_SECRET = { name: 'nextcloud-admin', userKey: 'username', passwordKey: 'password' } as const;
/** Biggest single upload through the web form; the clients and the web UI upload in chunks, so this bounds one chunk/request. */
export const NEXTCLOUD_UPLOAD_LIMIT = '512M';
/** Every cron run of Nextcloud: `cron.php` every 5 minutes, as Nextcloud's admin manual asks for. */
export const NEXTCLOUD_CRON_SCHEDULE = '*/5 * * * *';
/** www-data in the Debian image, and the owner of the nextcloud folder on the HDD. */
export const WWW_DATA = 33;

/** Where Nextcloud's database lives (the data zone's MariaDB). */
export interface NextcloudDatabase {
  /** Service DNS name, such as `mariadb.data.svc`. */
  readonly host: string;
  readonly port: number;
  readonly namespace: string;
  /** app.kubernetes.io/name of the database pods, for the egress policy. */
  readonly app: string;
  readonly database: string;
  readonly user: string;
  readonly passwordSecret: { readonly name: string; readonly key: string };
}

export interface NextcloudProps {
  readonly namespace: string;
  readonly database: NextcloudDatabase;
}

function limitMi(size: ContainerSize): number {
  return Math.floor(memoryLimitBytes(size) / 1024 ** 2);
}

/**
 * Memory of Nextcloud's Apache/PHP processes outside PHP's per-request heap (memory_limit counts
 * only what PHP scripts allocate), in MiB. Measured with Debian 12's apache2 2.4 + mod_php 8.2 and
 * the extensions the image loads (test/integration/nextcloud-php.test.ts, amd64, 2026-11-30):
 * private (anonymous) memory of each process after serving PHP requests, and the shared code
 * pages, rounded up with room for the image's PHP 8.3 and its extra extensions.
 */
export const NEXTCLOUD_PROCESS_MEMORY = {
  /** Apache's parent process, which never runs PHP (measured 8.6 MiB anon). */
  apacheParentMiB: 10,
  /** Code of Apache, PHP and its extensions, mapped by every process and counted once (measured about 36 MiB). */
  codeMiB: 40,
  /** One prefork worker with mod_php beyond its PHP heap: interpreter state, extensions, buffers (measured 9.9 MiB anon). */
  workerBaseMiB: 16,
  /** The cron job's PHP CLI beyond its PHP heap, its code pages included: it is alone in its container (measured 38 MiB RSS idle). */
  cliBaseMiB: 40,
  /** opcache.jit_buffer_size: shared memory the JIT reserves besides OPcache's own. */
  jitBufferMiB: 8,
} as const;

/**
 * The least PHP memory_limit the stack generates: PHP's own default. Nextcloud recommends 512M
 * (its admin overview warns below that) but a 512M limit per request does not fit the board.
 */
export const NEXTCLOUD_MIN_PHP_MEMORY_MIB = 128;
/** Fewest Apache workers that keep the web UI usable: its pages fire requests in parallel. */
export const NEXTCLOUD_MIN_WORKERS = 2;

/** OPcache shared memory: an eighth of the limit (the image's 128 MB default is a quarter of the default 512Mi). */
export function opcacheMemoryMb(size: ContainerSize): number {
  return Math.max(16, Math.floor(limitMi(size) / 8));
}

/** APCu shared memory (Nextcloud's local cache): a thirty-second of the limit, at least 8 MiB. */
export function apcuMemoryMb(size: ContainerSize): number {
  return Math.max(8, Math.floor(limitMi(size) / 32));
}

/** How the server container's memory limit is shared among Apache's workers, and the worst case it allows. */
export interface NextcloudWorkerPlan {
  /** Apache MaxRequestWorkers: PHP requests served at once. */
  readonly workers: number;
  /** PHP memory_limit per request, MiB. */
  readonly phpMemoryMiB: number;
  /** Shared memory of every worker together: OPcache, its JIT buffer and APCu, MiB. */
  readonly sharedMiB: number;
  /** Every worker at its PHP memory_limit at once, plus the Apache parent, code and shared memory, MiB. */
  readonly worstCaseMiB: number;
  readonly limitMiB: number;
}

/**
 * The rule that keeps Nextcloud inside its container limit:
 *
 *   parent + code + OPcache + JIT + APCu + workers × (memory_limit + worker base) ≤ container limit
 *
 * Workers are as many as fit at the least memory_limit; the memory_limit then takes each
 * worker's equal share of what is left. So even with every worker at its memory_limit at once
 * the kernel never OOM-kills the container: PHP stops the greedy request with a clear error.
 * (Allocations of native libraries such as ImageMagick are outside memory_limit; Nextcloud's
 * preview settings bound those.)
 */
export function nextcloudWorkerPlan(size: ContainerSize): NextcloudWorkerPlan {
  const m = NEXTCLOUD_PROCESS_MEMORY;
  const limitMiB = limitMi(size);
  const sharedMiB = opcacheMemoryMb(size) + m.jitBufferMiB + apcuMemoryMb(size);
  const perRequestBudget = limitMiB - m.apacheParentMiB - m.codeMiB - sharedMiB;
  const workers = Math.floor(perRequestBudget / (NEXTCLOUD_MIN_PHP_MEMORY_MIB + m.workerBaseMiB));
  if (workers < NEXTCLOUD_MIN_WORKERS) {
    const needed = m.apacheParentMiB + m.codeMiB + sharedMiB + NEXTCLOUD_MIN_WORKERS * (NEXTCLOUD_MIN_PHP_MEMORY_MIB + m.workerBaseMiB);
    throw new Error(
      `components.nextcloud.containers.nextcloud.limits.memory: '${size.limits.memory}' leaves room for ${workers} Apache worker(s) at PHP memory_limit ` +
        `${NEXTCLOUD_MIN_PHP_MEMORY_MIB}M; at least ${NEXTCLOUD_MIN_WORKERS} need about ${needed}Mi (allowed: ${needed}Mi or more)`,
    );
  }
  const phpMemoryMiB = Math.floor(perRequestBudget / workers) - m.workerBaseMiB;
  const worstCaseMiB = m.apacheParentMiB + m.codeMiB + sharedMiB + workers * (phpMemoryMiB + m.workerBaseMiB);
  return { workers, phpMemoryMiB, sharedMiB, worstCaseMiB, limitMiB };
}

/**
 * The cron job's single PHP CLI process: its memory_limit is the container limit less the CLI's
 * own memory and APCu (Nextcloud needs apc.enable_cli for its APCu cache, so the CLI maps APCu
 * too; OPcache is off on the CLI).
 */
export function cronPhpMemoryMiB(size: ContainerSize): number {
  const mib = limitMi(size) - NEXTCLOUD_PROCESS_MEMORY.cliBaseMiB - apcuMemoryMb(size);
  if (mib < NEXTCLOUD_MIN_PHP_MEMORY_MIB) {
    const needed = NEXTCLOUD_MIN_PHP_MEMORY_MIB + NEXTCLOUD_PROCESS_MEMORY.cliBaseMiB + apcuMemoryMb(size);
    throw new Error(
      `components.nextcloud.containers.nextcloud-cron.limits.memory: '${size.limits.memory}' leaves PHP ${mib}M, below the least memory_limit ` +
        `${NEXTCLOUD_MIN_PHP_MEMORY_MIB}M (allowed: ${needed}Mi or more)`,
    );
  }
  return mib;
}

/** PHP's memory_limit of the server container, per request. */
export function phpMemoryLimit(size: ContainerSize): string {
  return `${nextcloudWorkerPlan(size).phpMemoryMiB}M`;
}

/** Apache prefork workers of the server container. */
export function maxRequestWorkers(size: ContainerSize): number {
  return nextcloudWorkerPlan(size).workers;
}

/** mpm_prefork.conf sized to the container. */
export function renderMpmPrefork(size: ContainerSize): string {
  const plan = nextcloudWorkerPlan(size);
  return [
    '# Generated by PotatoStack (lib/apps/nextcloud.ts) from the container memory limit:',
    `# ${plan.workers} workers x (PHP memory_limit ${plan.phpMemoryMiB}M + ${NEXTCLOUD_PROCESS_MEMORY.workerBaseMiB}Mi) + shared ${plan.sharedMiB}Mi + parent and code = ${plan.worstCaseMiB}Mi of ${plan.limitMiB}Mi.`,
    '<IfModule mpm_prefork_module>',
    '\tStartServers\t\t1',
    '\tMinSpareServers\t\t1',
    `\tMaxSpareServers\t\t${Math.min(3, plan.workers)}`,
    `\tServerLimit\t\t${plan.workers}`,
    `\tMaxRequestWorkers\t${plan.workers}`,
    // Recycle workers now and then so PHP memory fragmentation does not pile up.
    '\tMaxConnectionsPerChild\t500',
    '</IfModule>',
    '',
  ].join('\n');
}

/** Where the official PHP image reads extra ini files (PHP_INI_DIR/conf.d); `zz-` sorts after the image's own. */
export const NEXTCLOUD_PHP_INI_PATH = '/usr/local/etc/php/conf.d/zz-potatostack.ini';

/** PHP settings of one container, derived from its memory limit (server: per Apache worker; cron: the CLI). */
export function phpIniSettings(size: ContainerSize, role: 'server' | 'cron'): Record<string, string> {
  const opcache = opcacheMemoryMb(size);
  return {
    memory_limit: `${role === 'server' ? nextcloudWorkerPlan(size).phpMemoryMiB : cronPhpMemoryMiB(size)}M`,
    upload_max_filesize: NEXTCLOUD_UPLOAD_LIMIT,
    post_max_size: NEXTCLOUD_UPLOAD_LIMIT,
    'opcache.memory_consumption': String(opcache),
    // Interned strings live inside OPcache's segment: a quarter of it (the image's 32 would take half of a small one).
    'opcache.interned_strings_buffer': String(Math.max(4, Math.floor(opcache / 4))),
    'opcache.jit_buffer_size': `${NEXTCLOUD_PROCESS_MEMORY.jitBufferMiB}M`,
    'apc.shm_size': `${apcuMemoryMb(size)}M`,
  };
}

/** The ini file both containers load after the image's own (mounted at NEXTCLOUD_PHP_INI_PATH). */
export function renderPhpIni(size: ContainerSize, role: 'server' | 'cron'): string {
  return [
    `; Generated by PotatoStack (lib/apps/nextcloud.ts) from the ${role} container's memory limit (${size.limits.memory}).`,
    ...Object.entries(phpIniSettings(size, role)).map(([key, value]) => `${key} = ${value}`),
    '',
  ].join('\n');
}

/**
 * Runs before Apache on every start (the image's `before-starting` hook): background jobs
 * come from the nextcloud-cron CronJob, so Nextcloud must not also run them on page loads.
 */
export function renderBeforeStartingHook(): string {
  return ['#!/bin/sh', '# Generated by PotatoStack (lib/apps/nextcloud.ts).', 'set -eu', 'php /var/www/html/occ background:cron', ''].join('\n');
}

/**
 * Settings of a PHP command-line container on Nextcloud's code (the cron job, the backup's
 * maintenance-mode holder): the same as the server's, sized to the container.
 */
export function nextcloudCliEnv(config: PotatoStackConfig, size: ContainerSize): Record<string, EnvValue> {
  return sharedEnv(config, size, 'cron');
}

/** Settings both the server and the cron job read (config/reverse-proxy.php reads them on every run). */
function sharedEnv(config: PotatoStackConfig, size: ContainerSize, role: 'server' | 'cron'): Record<string, EnvValue> {
  const host = hostFor(config, NEXTCLOUD_SUBDOMAIN);
  const settings = phpIniSettings(size, role);
  return {
    TZ: config.timezone,
    // Traefik is a pod: requests reach Nextcloud from the pod network.
    TRUSTED_PROXIES: config.network.podCidr,
    OVERWRITEPROTOCOL: 'https',
    OVERWRITEHOST: host,
    OVERWRITECLIURL: `https://${host}`,
    // The image's own ini files read these; the generated ini file (loaded last) says the same.
    PHP_MEMORY_LIMIT: settings.memory_limit,
    PHP_UPLOAD_LIMIT: settings.upload_max_filesize,
    PHP_OPCACHE_MEMORY_CONSUMPTION: settings['opcache.memory_consumption'],
  };
}

/**
 * Nextcloud (apache image) with its data on the main HDD, its 5-minute cron job, Service,
 * Ingress and NetworkPolicies.
 *
 * Storage: one claim at /var/www/html holds code (synced from the image on upgrades),
 * config, custom_apps, themes and data/ together, as upstream's image expects; the
 * HDD folder is owned by www-data (33).
 *
 * Non-root: the image's entrypoint supports starting as www-data (it then syncs without
 * chown and skips `su`); Apache binds port 80 through the namespaced sysctl
 * net.ipv4.ip_unprivileged_port_start=0, which Pod Security counts as safe.
 */
export class Nextcloud extends Construct {
  readonly serviceName = NEXTCLOUD;

  constructor(scope: Construct, id: string, props: NextcloudProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const { namespace, database } = props;
    const host = hostFor(config, NEXTCLOUD_SUBDOMAIN);
    const size = chart.size('nextcloud', 'nextcloud');
    const cronSize = chart.size('nextcloud', 'nextcloud-cron');
    const configMapName = `${NEXTCLOUD}-config`;

    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: configMapName, namespace, labels: appLabels(NEXTCLOUD, 'config') },
      data: {
        'mpm_prefork.conf': renderMpmPrefork(size),
        'background-cron.sh': renderBeforeStartingHook(),
        'php-server.ini': renderPhpIni(size, 'server'),
        'php-cron.ini': renderPhpIni(cronSize, 'cron'),
      },
    });

    const html: PodVolume = { name: 'html', claim: 'nextcloud-data' };
    const tmp: PodVolume = { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } };
    const htmlMount: VolumeMount = { volume: 'html', path: '/var/www/html' };
    const tmpMount: VolumeMount = { volume: 'tmp', path: '/tmp' };

    new AppDeployment(this, 'Deployment', {
      name: NEXTCLOUD,
      namespace,
      role: 'server',
      runAs: { uid: WWW_DATA, gid: WWW_DATA },
      sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
      // Upgrades run `occ upgrade` in the entrypoint; give them time to finish on SIGTERM.
      terminationGracePeriodSeconds: 60,
      volumes: [
        html,
        tmp,
        { name: 'apache-run', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
        { name: 'apache-lock', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
        { name: 'config', configMap: configMapName, defaultMode: 0o555 },
      ],
      containers: [
        {
          name: NEXTCLOUD,
          image: 'nextcloud',
          size,
          env: {
            ...sharedEnv(config, size, 'server'),
            MYSQL_HOST: `${database.host}:${database.port}`,
            MYSQL_DATABASE: database.database,
            MYSQL_USER: database.user,
            MYSQL_PASSWORD: { secret: database.passwordSecret.name, key: database.passwordSecret.key },
            NEXTCLOUD_ADMIN_USER: { secret: NEXTCLOUD_ADMIN_SECRET.name, key: NEXTCLOUD_ADMIN_SECRET.userKey },
            NEXTCLOUD_ADMIN_PASSWORD: { secret: NEXTCLOUD_ADMIN_SECRET.name, key: NEXTCLOUD_ADMIN_SECRET.passwordKey },
            // Read by the automatic install only; later changes go through `occ config:system:set trusted_domains`.
            NEXTCLOUD_TRUSTED_DOMAINS: host,
          },
          ports: [{ name: 'http', port: NEXTCLOUD_HTTP_PORT }],
          mounts: [
            htmlMount,
            tmpMount,
            { volume: 'apache-run', path: '/var/run/apache2' },
            { volume: 'apache-lock', path: '/var/lock/apache2' },
            { volume: 'config', path: '/etc/apache2/mods-available/mpm_prefork.conf', subPath: 'mpm_prefork.conf', readOnly: true },
            { volume: 'config', path: '/docker-entrypoint-hooks.d/before-starting/background-cron.sh', subPath: 'background-cron.sh', readOnly: true },
            { volume: 'config', path: NEXTCLOUD_PHP_INI_PATH, subPath: 'php-server.ini', readOnly: true },
          ],
          probes: {
            // First install copies ~500 MB to the HDD and creates the schema; a major upgrade runs
            // `occ upgrade`: both happen before Apache listens, so allow 30 minutes.
            // status.php boots Nextcloud, which needs its database: right for startup and readiness.
            startup: startupWindow(httpProbe(NEXTCLOUD_STATUS_PATH, 'http', { headers: { Host: host } }), 30),
            readiness: httpProbe(NEXTCLOUD_STATUS_PATH, 'http', { headers: { Host: host }, periodSeconds: 15 }),
            // Liveness tests Apache alone (a static file, no PHP, no database): a MariaDB restart must
            // not restart Nextcloud into CrashLoopBackOff.
            liveness: httpProbe(NEXTCLOUD_LIVENESS_PATH, 'http', { periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 4 }),
          },
        },
      ],
    });

    new ScheduledJob(this, 'Cron', {
      name: NEXTCLOUD_CRON,
      namespace,
      role: 'cron',
      schedule: NEXTCLOUD_CRON_SCHEDULE,
      runAs: { uid: WWW_DATA, gid: WWW_DATA },
      // A run longer than a few cycles is stuck; Forbid keeps the next one from piling up meanwhile.
      activeDeadlineSeconds: 1800,
      // The claim is ReadWriteOnce, which binds per node: the job shares it with the server on the single storage node.
      volumes: [html, tmp, { name: 'config', configMap: configMapName, defaultMode: 0o444 }],
      containers: [
        {
          name: NEXTCLOUD_CRON,
          image: 'nextcloud',
          size: cronSize,
          command: ['php', '-f', '/var/www/html/cron.php'],
          env: sharedEnv(config, cronSize, 'cron'),
          mounts: [htmlMount, tmpMount, { volume: 'config', path: NEXTCLOUD_PHP_INI_PATH, subPath: 'php-cron.ini', readOnly: true }],
        },
      ],
    });

    // SAMEORIGIN: Nextcloud frames its own pages (viewers) and its setup check expects it.
    const ui = new ProxiedWebUi(this, 'Ui', { name: NEXTCLOUD, namespace, role: 'server', subdomain: NEXTCLOUD_SUBDOMAIN, port: NEXTCLOUD_HTTP_PORT, frameOptions: 'SAMEORIGIN' });

    const db = { peers: [{ app: database.app, namespace: database.namespace }], ports: [{ port: database.port }] };
    // App store, update checks, federation and link previews (public HTTPS only), when the
    // operator opens them: the architecture's flows give Nextcloud only its database.
    const egress = config.nextcloud.internetAccess ? [db, { peers: [{ cidr: '0.0.0.0/0', except: NON_PUBLIC_IPV4 }], ports: [{ port: 443 }] }] : [db];
    new AppPolicy(this, 'Policy', {
      name: NEXTCLOUD,
      namespace,
      app: NEXTCLOUD,
      ingress: [ui.ingressRule],
      egress,
    });
    // Background jobs (update notifications, app updates) make the same outbound calls as the server.
    new AppPolicy(this, 'CronPolicy', { name: NEXTCLOUD_CRON, namespace, app: NEXTCLOUD_CRON, egress });
  }
}
