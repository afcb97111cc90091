import { BACKUP_CRONJOBS, VOLUMES, VolumeSpec, resolveConfig } from '../lib/config';
import { BACKUP_IDENTITIES, CACHE_SUBPATHS, SCRIPT_FILES, backupScripts, snapshotIgnoreRules } from '../lib/apps/backup/jobs';
import { find, podSpecOf, synthObjects } from './helpers';

const config = resolveConfig();
const objects = synthObjects();
const env = (container: any): Record<string, any> => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
const scripts = find(objects, 'ConfigMap', 'kopia-scripts', 'apps').data as Record<string, string>;

describe('snapshot ignore rules', () => {
  test("Kopia's own folders, the live database folders, restore staging and Nextcloud's preview cache", () => {
    expect(snapshotIgnoreRules(config)).toEqual([
      '/kopia/repository/',
      '/kopia/cache/',
      '/databases/mariadb/',
      '/databases/postgres/',
      '/.potatostack-restore/',
      '/nextcloud/data/appdata_*/preview/',
    ]);
  });

  test('the dumps folder is backed up, the operator adds rules, a disabled Nextcloud drops its rule', () => {
    expect(snapshotIgnoreRules(config).some((r) => r.includes('backups'))).toBe(false);
    const custom = resolveConfig({ kopia: { ignore: ['/monitoring/prometheus/', '*.tmp'] }, components: { nextcloud: { enabled: false } } });
    const rules = snapshotIgnoreRules(custom);
    expect(rules.slice(-2)).toEqual(['/monitoring/prometheus/', '*.tmp']);
    expect(rules.some((r) => r.includes('preview'))).toBe(false);
  });

  test('rules follow the storage layout: relative to the sources folder, only on its disk', () => {
    const layout: VolumeSpec[] = [
      { name: 'kopia-repository', component: 'kopia', zone: 'apps', disk: 'main', folder: 'srv/backup/repo', capacity: '1Gi', uid: 0, gid: 0, mode: '0700' },
      { name: 'kopia-cache', component: 'kopia', zone: 'apps', disk: 'cache', folder: 'kopia-cache', capacity: '1Gi', uid: 0, gid: 0, mode: '0700' },
      { name: 'kopia-sources', component: 'kopia', zone: 'apps', disk: 'main', folder: 'srv', capacity: '1Gi', uid: 0, gid: 0, mode: '0755', readOnly: true },
      { name: 'mariadb-data', component: 'mariadb', zone: 'data', disk: 'main', folder: 'srv/db', capacity: '1Gi', uid: 999, gid: 999, mode: '0700' },
      { name: 'gitea-data', component: 'gitea', zone: 'apps', disk: 'main', folder: 'srv/gitea', capacity: '1Gi', uid: 1000, gid: 1000, mode: '0750' },
    ];
    expect(snapshotIgnoreRules(config, layout)).toEqual(['/backup/repo/', '/db/', '/.potatostack-restore/']);
    expect(() => snapshotIgnoreRules(config, VOLUMES.filter((v) => !v.readOnly))).toThrow(/no read-only sources volume/);
  });

  test('the snapshot script clears the rules and sets exactly these, with retention and compression from the props', () => {
    const script = scripts[SCRIPT_FILES.snapshot];
    const lines = script.split('\n');
    const clear = lines.findIndex((l) => l === 'kopia policy set "$SOURCES" --clear-ignore');
    const set = lines.findIndex((l) => l.startsWith('kopia policy set "$SOURCES" --add-ignore='));
    expect([clear >= 0, set === clear + 1]).toEqual([true, true]);
    expect(lines[set]).toContain(snapshotIgnoreRules(config).map((r) => `--add-ignore='${r}'`).join(' '));
    expect(lines[set + 1].trim()).toBe('--keep-latest=3 --keep-hourly=0 --keep-daily=30 --keep-weekly=0 --keep-monthly=0 --keep-annual=0 --compression=zstd-fastest');
    const custom = backupScripts(resolveConfig({ kopia: { retention: { keepLatest: 1, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 }, compression: 's2-default' } }))[SCRIPT_FILES.snapshot];
    expect(custom).toContain('--keep-latest=1 --keep-hourly=0 --keep-daily=7 --keep-weekly=4 --keep-monthly=12 --keep-annual=0 --compression=s2-default');
  });
});

describe('the repository jobs: copy, verification, maintenance', () => {
  const job = (name: string) => podSpecOf(find(objects, 'CronJob', name, 'apps'));

  test('each is a kopia client of the main repository with its own cache sub-folder, identity and script', () => {
    for (const [name, script, cache, identity] of [
      [BACKUP_CRONJOBS.copy, SCRIPT_FILES.copy, CACHE_SUBPATHS.copy, BACKUP_IDENTITIES.copy],
      [BACKUP_CRONJOBS.verify, SCRIPT_FILES.verify, CACHE_SUBPATHS.verify, BACKUP_IDENTITIES.verify],
      [BACKUP_CRONJOBS.maintenance, SCRIPT_FILES.maintenance, CACHE_SUBPATHS.maintenance, BACKUP_IDENTITIES.maintenance],
    ] as const) {
      const spec = job(name);
      const c = spec.containers[0];
      expect(c.command).toEqual(['/bin/sh', `/scripts/${script}`]);
      expect(spec.volumes.find((v: any) => v.name === 'repository').persistentVolumeClaim.claimName).toBe('kopia-repository');
      expect(c.volumeMounts.find((m: any) => m.name === 'cache')).toEqual({ name: 'cache', mountPath: '/app/cache', subPath: cache });
      expect(scripts[script]).toContain(`--override-hostname=${identity.hostname} --override-username=${identity.username}`);
      expect(env(c).KOPIA_PASSWORD).toEqual({ secretKeyRef: { name: 'kopia', key: 'repository-password' } });
      // Root for the root-owned repository, and no capability at all.
      expect([c.securityContext.runAsUser, c.securityContext.capabilities]).toEqual([0, { drop: ['ALL'] }]);
    }
  });

  test('copy and verification open the repository read-only; maintenance claims ownership and runs full', () => {
    expect(scripts[SCRIPT_FILES.copy]).toMatch(/kopia repository connect filesystem --path="\$REPOSITORY" --readonly/);
    expect(scripts[SCRIPT_FILES.verify]).toMatch(/kopia repository connect filesystem --path="\$REPOSITORY" --readonly/);
    expect(scripts[SCRIPT_FILES.maintenance]).not.toContain('--readonly');
    const lines = scripts[SCRIPT_FILES.maintenance].split('\n');
    expect(lines.indexOf('kopia maintenance set --owner=me')).toBeLessThan(lines.indexOf('kopia maintenance run --full'));
    expect(lines.indexOf('kopia maintenance set --owner=me')).toBeGreaterThan(0);
  });

  test('verification reads the configured share of file contents', () => {
    expect(scripts[SCRIPT_FILES.verify]).toContain('exec kopia snapshot verify --verify-files-percent=5 ');
    expect(backupScripts(resolveConfig({ kopia: { verify: { filesPercent: 12.5 } } }))[SCRIPT_FILES.verify]).toContain('--verify-files-percent=12.5 ');
  });

  test('the copy syncs to the cache HDD claim, deleting what maintenance deleted, and checks that the copy opens', () => {
    const spec = job(BACKUP_CRONJOBS.copy);
    expect(spec.volumes.find((v: any) => v.name === 'copy').persistentVolumeClaim.claimName).toBe('kopia-copy');
    expect(env(spec.containers[0]).COPY).toBe('/copy');
    const script = scripts[SCRIPT_FILES.copy];
    expect(script).toContain('kopia repository sync-to filesystem --path="$COPY" --delete --parallel=1 --no-progress');
    expect(script).toMatch(/refusing to copy into \$COPY: it has files but no kopia\.repository\.f/);
    expect(script).toContain('KOPIA_CONFIG_PATH="$KOPIA_CONFIG_PATH.copy" kopia snapshot list --all');
    // It needs no network: no policy of its own.
    expect(objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name === BACKUP_CRONJOBS.copy)).toEqual([]);
  });

  test('kopia.copy.enabled: false drops the job, its script and its volume', () => {
    const without = synthObjects({ kopia: { copy: { enabled: false } } });
    expect(without.filter((o) => o.metadata.name === BACKUP_CRONJOBS.copy || o.metadata.name === 'kopia-copy')).toEqual([]);
    expect(find(without, 'ConfigMap', 'kopia-scripts', 'apps').data[SCRIPT_FILES.copy]).toBeUndefined();
  });

  test('no off-site job by default', () => {
    expect(objects.filter((o) => o.metadata.name === BACKUP_CRONJOBS.offsite)).toEqual([]);
    expect(scripts[SCRIPT_FILES.offsite]).toBeUndefined();
  });

  test('every script a pod runs is in the ConfigMap, and no script holds a secret value or a password flag', () => {
    const commands = objects
      .filter((o) => o.kind === 'CronJob' || o.kind === 'Deployment')
      .flatMap((o) => [...(podSpecOf(o).initContainers ?? []), ...podSpecOf(o).containers])
      .map((c: any) => c.command?.[1])
      .filter((p: string | undefined) => p?.startsWith('/scripts/'));
    for (const file of commands) expect([file, scripts[file.replace('/scripts/', '')] !== undefined]).toEqual([file, true]);
    for (const [name, text] of Object.entries(scripts)) expect([name, /--(server-)?password=|--sftp-password|secret-access-key=|--key=/.test(text)]).toEqual([name, false]);
  });
});
