import { ConfigError, VOLUMES, VolumeSpec, resolveConfig } from '../lib/config';
import { memoryBytes } from '../lib/config/quantity';
import { computeBudget } from '../lib/budget';
import {
  KOPIA_PATHS,
  KOPIA_SNAPSHOT,
  KOPIA_SNAPSHOT_CACHE_SUBPATH,
  KOPIA_SNAPSHOT_IDENTITY,
  KOPIA_IDENTITY,
  REPOSITORY_MARKER,
  renderSnapshotScript,
  snapshotIgnoreRules,
} from '../lib/apps/kopia';
import { BACKUP_JOBS, alertRuleGroups } from '../lib/apps/monitoring/rules';
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

describe('what the backup alert rules measure', () => {
  test("the CronJob and the Jobs it creates match the rules' namespace and name pattern", () => {
    const pattern = new RegExp(`^(?:${BACKUP_JOBS.pattern})$`);
    expect(cronJob.metadata.namespace).toBe(BACKUP_JOBS.namespace);
    expect(pattern.test(cronJob.metadata.name)).toBe(true);
    // The CronJob controller names each Job <cronjob>-<scheduled minute>.
    expect(pattern.test(`${cronJob.metadata.name}-29412345`)).toBe(true);
  });

  test('kube-state-metrics exports every job/cronjob family the backup rules read', () => {
    const backups = alertRuleGroups(resolveConfig()).find((g) => g.name === 'backups');
    const used = new Set<string>((backups?.rules ?? []).flatMap((r) => r.expr.match(/kube_(job|cronjob)_[a-z_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(0);
    for (const family of used) expect([family, (KSM_METRIC_FAMILIES as readonly string[]).includes(family)]).toEqual([family, true]);
  });

  test('a failed snapshot fails the Job: no retry loop hides it, no overlap, bounded run time', () => {
    expect(cronJob.spec.concurrencyPolicy).toBe('Forbid');
    expect(cronJob.spec.jobTemplate.spec.backoffLimit).toBeLessThanOrEqual(3);
    expect(cronJob.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(8 * 3600);
    expect(c.command).toEqual(['/bin/sh', '/scripts/snapshot.sh']);
  });
});

describe('schedule and time limit props', () => {
  test('nightly by default, in the configured time zone; both props reach the CronJob', () => {
    expect([cronJob.spec.schedule, cronJob.spec.timeZone]).toEqual(['30 3 * * *', 'Europe/Berlin']);
    const other = find(synthObjects({ kopia: { snapshot: { schedule: '15 1 * * *', maxHours: 3 } }, timezone: 'UTC' }), 'CronJob', KOPIA_SNAPSHOT, 'apps');
    expect([other.spec.schedule, other.spec.timeZone, other.spec.jobTemplate.spec.activeDeadlineSeconds]).toEqual(['15 1 * * *', 'UTC', 3 * 3600]);
  });

  test.each([
    ['every 5 minutes', { schedule: '*/5 * * * *' }, /kopia\.snapshot\.schedule: '\*\/5 \* \* \* \*' is not allowed; expected at most one run an hour/],
    ['weekly', { schedule: '30 3 * * 0' }, /kopia\.snapshot\.schedule: '30 3 \* \* 0' is not allowed; expected a run every day/],
    ['not cron', { schedule: 'nightly' }, /kopia\.snapshot\.schedule: 'nightly' is not allowed; expected a 5-field cron expression/],
    ['no time', { maxHours: 0 }, /kopia\.snapshot\.maxHours: 0 is not allowed; expected a whole number of hours from 1 to 23/],
    ['a day or more', { maxHours: 24 }, /kopia\.snapshot\.maxHours: 24 is not allowed/],
    ['a fraction', { maxHours: 1.5 }, /kopia\.snapshot\.maxHours: 1\.5 is not allowed/],
  ])('rejects %s with the prop, the value and what is allowed', (_name, snapshot, message) => {
    expect(() => resolveConfig({ kopia: { snapshot } })).toThrow(ConfigError);
    expect(() => resolveConfig({ kopia: { snapshot } })).toThrow(message);
  });
});

describe('the same repository as the server, as a client of its own', () => {
  test('repository read-write and sources read-only on the claims and paths the server uses', () => {
    for (const name of ['repository', 'sources']) {
      expect(volume(job, name)).toEqual(volume(podSpecOf(server), name));
      expect(mount(c, name)).toEqual(mount(serverContainer, name));
    }
    expect(mount(c, 'sources')).toEqual({ name: 'sources', mountPath: KOPIA_PATHS.sources, readOnly: true });
    expect(volume(job, 'sources').persistentVolumeClaim).toEqual({ claimName: 'kopia-sources', readOnly: true });
  });

  test("its own cache in a sub-folder of the cache claim, never the server's cache folder itself", () => {
    expect(volume(job, 'cache').persistentVolumeClaim.claimName).toBe('kopia-cache');
    expect(mount(c, 'cache')).toEqual({ name: 'cache', mountPath: KOPIA_PATHS.cache, subPath: KOPIA_SNAPSHOT_CACHE_SUBPATH });
    expect(mount(serverContainer, 'cache').subPath).toBeUndefined();
    // Config (with the connection) is per pod and thrown away.
    expect(volume(job, 'config').emptyDir).toBeDefined();
  });

  test('same image, repository password Secret and key as the server; the Secret is required', () => {
    expect(c.image).toBe(serverContainer.image);
    expect(env(c).KOPIA_PASSWORD).toEqual(env(serverContainer).KOPIA_PASSWORD);
    expect(env(c).KOPIA_PASSWORD.secretKeyRef.optional).toBeUndefined();
    expect(env(c).KOPIA_PERSIST_CREDENTIALS_ON_CONNECT).toBe('false');
    // The job has no login to the server: it does not talk to it.
    expect(env(c).KOPIA_SERVER_PASSWORD).toBeUndefined();
  });

  test('its own identity, so the server alone owns maintenance', () => {
    expect(KOPIA_SNAPSHOT_IDENTITY.username).not.toBe(KOPIA_IDENTITY.username);
    expect(renderSnapshotScript()).toContain(`--override-hostname=${KOPIA_SNAPSHOT_IDENTITY.hostname} --override-username=${KOPIA_SNAPSHOT_IDENTITY.username}`);
  });

  test('the same security exception as the server: root with DAC_OVERRIDE only, read-only root filesystem', () => {
    expect(c.securityContext).toEqual(serverContainer.securityContext);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['DAC_OVERRIDE'] });
    expect(podMetadataOf(cronJob).annotations[`potatostack.io/security-exception.${KOPIA_SNAPSHOT}`]).toBe(
      podMetadataOf(server).annotations['potatostack.io/security-exception.kopia'],
    );
  });
});

describe('snapshot script', () => {
  const script = renderSnapshotScript();
  const lines = script.split('\n');
  const index = (text: string) => lines.findIndex((l) => l.includes(text));

  test('is the one in the ConfigMap the job mounts', () => {
    expect(find(objects, 'ConfigMap', 'kopia-scripts', 'apps').data['snapshot.sh']).toBe(script);
    expect(volume(job, 'scripts').configMap.name).toBe('kopia-scripts');
  });

  test('connects only: checks for the repository first, exits non-zero without it, never creates one', () => {
    const check = index(`if [ ! -f "$repo/${REPOSITORY_MARKER}" ]`);
    expect(check).toBeGreaterThanOrEqual(0);
    expect(lines[check + 2].trim()).toBe('exit 1');
    expect(check).toBeLessThan(index('kopia repository connect filesystem'));
    expect(script).not.toMatch(/repository create|repository disconnect/);
    expect(script).toContain('set -eu');
  });

  test("ends in Kopia's own snapshot command, so its exit status is the Job's", () => {
    const last = lines.filter(Boolean).pop() as string;
    expect(last).toMatch(new RegExp(`^exec kopia snapshot create ${KOPIA_PATHS.sources} `));
    expect(index('kopia policy set')).toBeLessThan(lines.indexOf(last));
  });

  test("ignores exactly Kopia's repository and cache folders of the backed-up disk", () => {
    expect(snapshotIgnoreRules()).toEqual(['/kopia/repository/', '/kopia/cache/']);
    expect(script).toContain(`kopia policy set ${KOPIA_PATHS.sources} --add-ignore='/kopia/repository/' --add-ignore='/kopia/cache/'`);
  });

  test('ignore rules follow the storage layout: relative to the sources folder, only on its disk', () => {
    const layout: VolumeSpec[] = [
      { name: 'kopia-repository', component: 'kopia', zone: 'apps', disk: 'main', folder: 'srv/backup/repo', capacity: '1Gi', uid: 0, gid: 0, mode: '0700' },
      { name: 'kopia-cache', component: 'kopia', zone: 'apps', disk: 'cache', folder: 'kopia-cache', capacity: '1Gi', uid: 0, gid: 0, mode: '0700' },
      { name: 'kopia-sources', component: 'kopia', zone: 'apps', disk: 'main', folder: 'srv', capacity: '1Gi', uid: 0, gid: 0, mode: '0755', readOnly: true },
      { name: 'gitea-data', component: 'gitea', zone: 'apps', disk: 'main', folder: 'srv/gitea', capacity: '1Gi', uid: 1000, gid: 1000, mode: '0750' },
    ];
    expect(snapshotIgnoreRules(layout)).toEqual(['/backup/repo/']);
    expect(() => snapshotIgnoreRules(VOLUMES.filter((v) => !v.readOnly))).toThrow(/no read-only sources volume/);
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

  test('no port, and every policy that selects its pod opens nothing but DNS egress', () => {
    expect(c.ports).toBeUndefined();
    const labels: Record<string, string> = podMetadataOf(cronJob).labels;
    const selects = (p: Manifest) =>
      Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) && !(p.spec.podSelector.matchExpressions ?? []).length;
    const applying = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'apps' && selects(o));
    expect(applying.map((p) => p.metadata.name)).toContain('default-deny');
    expect(applying.map((p) => p.metadata.name)).not.toContain('kopia');
    const egressPorts = applying.flatMap((p) => (p.spec.egress ?? []).flatMap((rule: any) => (rule.ports ?? [{ port: 'any' }]).map((port: any) => port.port)));
    expect(new Set(egressPorts)).toEqual(new Set([53]));
  });

  test('gone with the kopia component', () => {
    const none = synthObjects({ components: { kopia: { enabled: false } } });
    expect(none.filter((o) => o.metadata.name === KOPIA_SNAPSHOT)).toEqual([]);
  });
});
