import { BACKUP_CRONJOBS, ConfigError, KOPIA_COMPRESSIONS, backupCronJobs, resolveConfig } from '../lib/config';
import { memoryBytes } from '../lib/config/quantity';
import { computeBudget } from '../lib/budget';
import { KOPIA_IDENTITY, KOPIA_SNAPSHOT } from '../lib/apps/kopia';
import { BACKUP_IDENTITIES, DUMP_UID, SCRIPT_FILES } from '../lib/apps/backup/jobs';
import { BACKUP_JOBS, THRESHOLDS, alertRuleGroups } from '../lib/apps/monitoring/rules';
import { KSM_METRIC_FAMILIES } from '../lib/apps/monitoring/kube-state-metrics';
import { Manifest, find, podMetadataOf, podSpecOf, synthObjects } from './helpers';

const objects = synthObjects();
const cronJob = find(objects, 'CronJob', KOPIA_SNAPSHOT, 'apps');
const server = find(objects, 'Deployment', 'kopia', 'apps');
const job = podSpecOf(cronJob);
const c = job.containers[0];
const serverContainer = podSpecOf(server).containers[0];
const env = (container: any): Record<string, any> => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
const mount = (container: any, name: string) => container.volumeMounts.find((m: any) => m.name === name);
const volume = (spec: any, name: string) => spec.volumes.find((v: any) => v.name === name);
const init = (name: string) => job.initContainers.find((x: any) => x.name === name);

describe('what the backup alert rules measure', () => {
  test("every backup CronJob, and the Jobs each creates, match the rules' namespace and name pattern", () => {
    const pattern = new RegExp(`^(?:${BACKUP_JOBS.pattern})$`);
    const cronJobs = objects.filter((o) => o.kind === 'CronJob' && o.metadata.name.startsWith('kopia'));
    expect(cronJobs.map((o) => o.metadata.name).sort()).toEqual(backupCronJobs(resolveConfig()).map((j) => j.cronjob).sort());
    for (const o of cronJobs) {
      expect(o.metadata.namespace).toBe(BACKUP_JOBS.namespace);
      // The CronJob controller names each Job <cronjob>-<scheduled minute>.
      expect([o.metadata.name, pattern.test(`${o.metadata.name}-29412345`)]).toEqual([o.metadata.name, true]);
    }
  });

  test("daily backup jobs alert after the same age as the CLI's status (THRESHOLDS.backupMaxAgeHours), the weekly verification after 8 days", () => {
    const ages = Object.fromEntries(backupCronJobs(resolveConfig()).map((j) => [j.cronjob, j.maxAgeHours]));
    expect(ages).toEqual({ 'kopia-snapshot': THRESHOLDS.backupMaxAgeHours, 'kopia-copy': THRESHOLDS.backupMaxAgeHours, 'kopia-verify': 8 * 24, 'kopia-maintenance': THRESHOLDS.backupMaxAgeHours });
  });

  test('kube-state-metrics exports every job/cronjob family the backup rules read', () => {
    const backups = alertRuleGroups(resolveConfig()).find((g) => g.name === 'backups');
    const used = new Set<string>((backups?.rules ?? []).flatMap((r) => r.expr.match(/kube_(job|cronjob)_[a-z_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(0);
    for (const family of used) expect([family, (KSM_METRIC_FAMILIES as readonly string[]).includes(family)]).toEqual([family, true]);
  });

  test('a failed step fails the Job: a fresh pod per retry, one retry, no overlap, bounded run time', () => {
    expect(cronJob.spec.concurrencyPolicy).toBe('Forbid');
    expect(cronJob.spec.jobTemplate.spec.backoffLimit).toBe(1);
    expect(job.restartPolicy).toBe('Never');
    expect(cronJob.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(8 * 3600);
    expect(c.command).toEqual(['/bin/sh', `/scripts/${SCRIPT_FILES.snapshot}`]);
  });
});

describe('schedule and time limit props', () => {
  test('nightly by default, in the configured time zone; both props reach the CronJob', () => {
    expect([cronJob.spec.schedule, cronJob.spec.timeZone]).toEqual(['30 3 * * *', 'Europe/Berlin']);
    const other = find(synthObjects({ kopia: { snapshot: { schedule: '15 1 * * *', maxHours: 3 } }, timezone: 'UTC' }), 'CronJob', KOPIA_SNAPSHOT, 'apps');
    expect([other.spec.schedule, other.spec.timeZone, other.spec.jobTemplate.spec.activeDeadlineSeconds]).toEqual(['15 1 * * *', 'UTC', 3 * 3600]);
  });

  test('each backup job runs on its own schedule prop', () => {
    const custom = synthObjects({ kopia: { copy: { schedule: '0 8 * * *' }, verify: { schedule: '0 4 * * 3' }, maintenance: { schedule: '45 1 * * *' } } });
    const schedule = (name: string) => find(custom, 'CronJob', name, 'apps').spec.schedule;
    expect([schedule(BACKUP_CRONJOBS.copy), schedule(BACKUP_CRONJOBS.verify), schedule(BACKUP_CRONJOBS.maintenance)]).toEqual(['0 8 * * *', '0 4 * * 3', '45 1 * * *']);
  });

  test.each([
    ['every 5 minutes', { snapshot: { schedule: '*/5 * * * *' } }, /kopia\.snapshot\.schedule: '\*\/5 \* \* \* \*' is not allowed; expected at most one run an hour/],
    ['weekly snapshots', { snapshot: { schedule: '30 3 * * 0' } }, /kopia\.snapshot\.schedule: '30 3 \* \* 0' is not allowed; expected a run every day/],
    ['not cron', { snapshot: { schedule: 'nightly' } }, /kopia\.snapshot\.schedule: 'nightly' is not allowed; expected a 5-field cron expression/],
    ['no time', { snapshot: { maxHours: 0 } }, /kopia\.snapshot\.maxHours: 0 is not allowed; expected a whole number of hours from 1 to 23/],
    ['a day or more', { snapshot: { maxHours: 24 } }, /kopia\.snapshot\.maxHours: 24 is not allowed/],
    ['a fraction', { snapshot: { maxHours: 1.5 } }, /kopia\.snapshot\.maxHours: 1\.5 is not allowed/],
    ['a monthly verification', { verify: { schedule: '0 9 1 * *' } }, /kopia\.verify\.schedule: '0 9 1 \* \*' is not allowed; expected a run every week/],
    ['a weekly copy', { copy: { schedule: '0 9 * * 0' } }, /kopia\.copy\.schedule: '0 9 \* \* 0' is not allowed; expected a run every day/],
    ['a weekly maintenance', { maintenance: { schedule: '0 2 * * 1' } }, /kopia\.maintenance\.schedule: '0 2 \* \* 1' is not allowed; expected a run every day/],
  ])('rejects %s with the prop, the value and what is allowed', (_name, kopia, message) => {
    expect(() => resolveConfig({ kopia })).toThrow(ConfigError);
    expect(() => resolveConfig({ kopia })).toThrow(message);
  });
});

describe('policy props: retention, compression, ignore rules, dumps', () => {
  test.each([
    ['negative retention', { retention: { keepDaily: -1 } }, /kopia\.retention\.keepDaily: -1 is not allowed; expected a whole number from 0 to 1000/],
    ['nothing kept', { retention: { keepLatest: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 } }, /kopia\.retention\.keepDaily: 0 is not allowed; expected at least one snapshot kept/],
    ['an unknown compressor', { compression: 'brotli' as any }, /kopia\.compression: 'brotli' is not allowed; expected one of Kopia's algorithms: none, deflate-best-speed/],
    ['a quote in an ignore rule', { ignore: ["/it's"] }, /kopia\.ignore\[0\]: '\/it's' is not allowed/],
    ['an empty ignore rule', { ignore: [' '] }, /kopia\.ignore\[0\]: ' ' is not allowed/],
    ['no dump kept', { dumps: { keep: 0 } }, /kopia\.dumps\.keep: 0 is not allowed; expected a whole number of dumps from 1 to 30/],
    ['an endless maintenance window', { dumps: { maintenanceMinutes: 600 } }, /kopia\.dumps\.maintenanceMinutes: 600 is not allowed; expected a whole number of minutes from 1 to 240/],
    ['more than all files', { verify: { filesPercent: 101 } }, /kopia\.verify\.filesPercent: 101 is not allowed; expected a percentage from 0 to 100/],
    ['an unknown retention key', { retention: { keepHourly: 5 } as any }, /kopia\.retention\.keepHourly: unknown setting; expected one of: keepLatest, keepDaily, keepWeekly, keepMonthly/],
  ])('rejects %s with the prop, the value and what is allowed', (_name, kopia, message) => {
    expect(() => resolveConfig({ kopia })).toThrow(message);
  });

  test("the seed's 30-day retention and zstd-fastest by default; every Kopia compressor name is accepted", () => {
    expect(resolveConfig().kopia.retention).toEqual({ keepLatest: 3, keepDaily: 30, keepWeekly: 0, keepMonthly: 0 });
    for (const compression of KOPIA_COMPRESSIONS) expect(() => resolveConfig({ kopia: { compression } })).not.toThrow();
  });
});

describe('the snapshot pod: dumps first, Nextcloud in maintenance mode around the MariaDB dump', () => {
  test('order: the maintenance holder (native sidecar), the MariaDB dump, the PostgreSQL dump, then the snapshot', () => {
    expect(job.initContainers.map((x: any) => [x.name, x.restartPolicy])).toEqual([
      ['nextcloud-maintenance', 'Always'],
      ['dump-mariadb', undefined],
      ['dump-postgres', undefined],
    ]);
    expect(job.containers.map((x: any) => x.name)).toEqual([KOPIA_SNAPSHOT]);
  });

  test('the holder runs as www-data on the nextcloud-data claim; its startup probe gates the dump, its liveness bounds the window', () => {
    const holder = init('nextcloud-maintenance');
    expect([holder.securityContext.runAsUser, holder.securityContext.runAsGroup, holder.securityContext.capabilities]).toEqual([33, 33, { drop: ['ALL'] }]);
    expect(volume(job, 'nextcloud').persistentVolumeClaim.claimName).toBe('nextcloud-data');
    expect(mount(holder, 'nextcloud').mountPath).toBe('/var/www/html');
    expect(holder.startupProbe.exec.command.join(' ')).toContain('/backup-state/maintenance-on');
    expect(holder.livenessProbe.exec.command.join(' ')).toContain(`-mmin +${30 + 5}`);
    expect(env(holder).MAINTENANCE_MAX_SECONDS).toBe(String(30 * 60));
    const longer = podSpecOf(find(synthObjects({ kopia: { dumps: { maintenanceMinutes: 90 } } }), 'CronJob', KOPIA_SNAPSHOT, 'apps'));
    expect(env(longer.initContainers[0]).MAINTENANCE_MAX_SECONDS).toBe('5400');
  });

  test('dumps run as their own unprivileged UID with the passwords from the apps\' Secrets, never on a command line', () => {
    for (const [name, variable, secret] of [
      ['dump-mariadb', 'MYSQL_PWD', 'nextcloud-db'],
      ['dump-postgres', 'PGPASSWORD', 'gitea-db'],
    ]) {
      const step = init(name);
      expect([step.securityContext.runAsUser, step.securityContext.runAsNonRoot, step.securityContext.readOnlyRootFilesystem]).toEqual([DUMP_UID, true, true]);
      expect(env(step)[variable]).toEqual({ secretKeyRef: { name: secret, key: 'password' } });
      expect(step.command.join(' ')).not.toMatch(/password|pwd/i);
      expect(mount(step, 'dumps')).toEqual({ name: 'dumps', mountPath: '/dumps' });
      expect(env(step).KEEP).toBe('3');
    }
    expect(volume(job, 'dumps').persistentVolumeClaim.claimName).toBe('database-dumps');
    expect(env(init('dump-mariadb')).REQUIRE_MAINTENANCE).toBe('1');
    expect(init('dump-mariadb').image).toBe(resolveConfig().images.mariadb);
    expect(init('dump-postgres').image).toBe(resolveConfig().images.postgres);
  });

  test('the pod reaches the two databases and nothing else', () => {
    const policy = find(objects, 'NetworkPolicy', KOPIA_SNAPSHOT, 'apps');
    expect(policy.spec.policyTypes).toEqual(['Egress']);
    expect(policy.spec.egress.map((r: any) => [r.to[0].podSelector.matchLabels['app.kubernetes.io/name'], r.ports[0].port])).toEqual([
      ['mariadb', 3306],
      ['gitea-postgres', 5432],
    ]);
  });

  test('without Nextcloud no holder; without either database no dump step, no dumps claim and no policy', () => {
    const noNextcloud = podSpecOf(find(synthObjects({ components: { nextcloud: { enabled: false } } }), 'CronJob', KOPIA_SNAPSHOT, 'apps'));
    expect(noNextcloud.initContainers.map((x: any) => x.name)).toEqual(['dump-mariadb', 'dump-postgres']);
    expect(env(noNextcloud.initContainers[0]).REQUIRE_MAINTENANCE).toBe('0');
    const none = synthObjects({ components: { nextcloud: { enabled: false }, mariadb: { enabled: false }, gitea: { enabled: false }, postgres: { enabled: false } } });
    const spec = podSpecOf(find(none, 'CronJob', KOPIA_SNAPSHOT, 'apps'));
    expect(spec.initContainers).toEqual([]);
    expect(volume(spec, 'dumps')).toBeUndefined();
    expect(none.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name === KOPIA_SNAPSHOT)).toEqual([]);
  });
});

describe('the snapshot step: the same repository as the server, as a client of its own', () => {
  test('repository read-write and sources read-only on the claims and paths the server uses', () => {
    for (const name of ['repository', 'sources']) {
      expect(volume(job, name)).toEqual(volume(podSpecOf(server), name));
      expect(mount(c, name)).toEqual(mount(serverContainer, name));
    }
    expect(mount(c, 'sources')).toEqual({ name: 'sources', mountPath: '/data', readOnly: true });
    expect(volume(job, 'sources').persistentVolumeClaim).toEqual({ claimName: 'kopia-sources', readOnly: true });
  });

  test("its own cache in a sub-folder of the cache claim, never the server's cache folder itself", () => {
    expect(volume(job, 'cache').persistentVolumeClaim.claimName).toBe('kopia-cache');
    expect(mount(c, 'cache')).toEqual({ name: 'cache', mountPath: '/app/cache', subPath: 'snapshot-job' });
    expect(mount(serverContainer, 'cache').subPath).toBeUndefined();
    // Config (with the connection) is per pod and thrown away.
    expect(volume(job, 'config').emptyDir).toBeDefined();
  });

  test('same image, repository password Secret and key as the server; the Secret is required; folders in the environment', () => {
    expect(c.image).toBe(serverContainer.image);
    expect(env(c).KOPIA_PASSWORD).toEqual(env(serverContainer).KOPIA_PASSWORD);
    expect(env(c).KOPIA_PASSWORD.secretKeyRef.optional).toBeUndefined();
    expect(env(c).KOPIA_PERSIST_CREDENTIALS_ON_CONNECT).toBe('false');
    expect([env(c).REPOSITORY, env(c).SOURCES, env(c).KOPIA_CACHE_DIRECTORY]).toEqual(['/repository', '/data', '/app/cache']);
    // The job has no login to the server: it does not talk to it.
    expect(env(c).KOPIA_SERVER_PASSWORD).toBeUndefined();
  });

  test('its own identity, so neither it nor the server owns maintenance', () => {
    expect(BACKUP_IDENTITIES.snapshot.username).not.toBe(KOPIA_IDENTITY.username);
    expect(new Set(Object.values(BACKUP_IDENTITIES).map((i) => i.username)).size).toBe(Object.keys(BACKUP_IDENTITIES).length);
  });

  test('the same security exception as the server: root with DAC_OVERRIDE only, read-only root filesystem', () => {
    expect(c.securityContext).toEqual(serverContainer.securityContext);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['DAC_OVERRIDE'] });
    expect(podMetadataOf(cronJob).annotations[`potatostack.io/security-exception.${KOPIA_SNAPSHOT}`]).toBe(
      podMetadataOf(server).annotations['potatostack.io/security-exception.kopia'],
    );
  });
});

describe('size and network', () => {
  test('the memory request is the GC target, and the stack still fits the budget while the job runs', () => {
    const config = resolveConfig();
    const size = config.components.kopia.containers[KOPIA_SNAPSHOT];
    expect(c.resources.requests.memory).toBe(size.requests.memory);
    expect(memoryBytes(env(c).GOMEMLIMIT.replace('MiB', 'Mi'))).toBe(memoryBytes(size.requests.memory));
    const report = computeBudget(config, objects);
    expect(report.problems).toEqual([]);
    const usage = report.pods.find((p) => p.workload === `apps/${KOPIA_SNAPSHOT}`);
    expect(usage?.transient).toBe(true);
    expect(report.peakRequests).toBeGreaterThanOrEqual(report.steadyRequests + (usage?.memoryRequest ?? Infinity));
  });

  test('the pod request covers the holder beside the largest step (it idles while the others run)', () => {
    const request = (x: any) => memoryBytes(x.resources.requests.memory)!;
    const usage = computeBudget(resolveConfig(), objects).pods.find((p) => p.workload === `apps/${KOPIA_SNAPSHOT}`)!;
    const holder = request(init('nextcloud-maintenance'));
    expect(usage.memoryRequest).toBe(holder + Math.max(request(c), request(init('dump-mariadb')), request(init('dump-postgres'))));
  });

  test('no port; the server has no egress', () => {
    expect(c.ports).toBeUndefined();
    const serverPolicy = find(objects, 'NetworkPolicy', 'kopia', 'apps');
    expect(serverPolicy.spec.policyTypes).toEqual(['Ingress']);
  });

  test('gone with the kopia component, and with it the databases let in only their apps', () => {
    const none = synthObjects({ components: { kopia: { enabled: false } } });
    expect(none.filter((o: Manifest) => o.metadata.name.startsWith('kopia'))).toEqual([]);
  });
});
