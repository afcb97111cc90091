import { ConfigError, resolveConfig } from '../lib/config';
import { CONFIG_HASH_ANNOTATION, MARIADB, mariadbTuning, renderMyCnf } from '../lib/apps/mariadb';
import { GITEA_POSTGRES, PGDATA, postgresArgs, postgresSettings } from '../lib/apps/postgres';
import { Manifest, find, podMetadataOf, podSpecOf, synthCharts } from './helpers';

const charts = synthCharts();
const data = charts['10-data'];
const platform = charts['00-platform'];
const limitOf = (component: 'mariadb' | 'postgres') => resolveConfig().components[component].containers[component].limits.memory;

/** `key = value` lines of the [mysqld] group. */
function mysqld(cnf: string): Record<string, string | null> {
  const group = cnf.split(/^\[mysqld\]$/m)[1].split(/^\[/m)[0];
  const entries = group
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [key, ...rest] = l.split('=');
      return [key.trim(), rest.length ? rest.join('=').trim() : null] as const;
    });
  return Object.fromEntries(entries);
}

function container(workload: Manifest): any {
  const spec = podSpecOf(workload);
  expect(spec.containers).toHaveLength(1);
  return spec.containers[0];
}

describe('MariaDB my.cnf', () => {
  const settings = mysqld(renderMyCnf(limitOf('mariadb')));

  test('sets what Nextcloud needs: READ-COMMITTED, utf8mb4, per-table files, ROW binlog format without a binlog', () => {
    expect(settings['transaction-isolation']).toBe('READ-COMMITTED');
    expect(settings['character-set-server']).toBe('utf8mb4');
    expect(settings['collation-server']).toMatch(/^utf8mb4_/);
    expect(settings.innodb_file_per_table).toBe('1');
    expect(settings.binlog_format).toBe('ROW');
    expect('skip-log-bin' in settings).toBe(true);
    expect(settings.performance_schema).toBe('OFF');
  });

  test('the buffer pool is a quarter of the memory limit, within 32 MiB and 1 GiB', () => {
    expect(settings.innodb_buffer_pool_size).toBe('64M');
    expect(mariadbTuning('512Mi').bufferPoolBytes).toBe(128 * 1024 ** 2);
    expect(mariadbTuning('100Mi').bufferPoolBytes).toBe(32 * 1024 ** 2);
    expect(mariadbTuning('16Gi').bufferPoolBytes).toBe(1024 * 1024 ** 2);
    expect(() => mariadbTuning('lots')).toThrow(/lots/);
  });

  test('no setting is listed twice', () => {
    const keys = renderMyCnf(limitOf('mariadb'))
      .split(/^\[mysqld\]$/m)[1]
      .split(/^\[/m)[0]
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.split('=')[0].trim());
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('MariaDB workload', () => {
  const deployment = find(data, 'Deployment', MARIADB.app, 'data');
  const c = container(deployment);
  const spec = podSpecOf(deployment);

  test('mounts the generated my.cnf into /etc/mysql/conf.d and restarts when it changes', () => {
    const configMap = find(data, 'ConfigMap', 'mariadb-config', 'data');
    expect(Object.values(configMap.data)).toEqual([renderMyCnf(limitOf('mariadb'))]);
    const file = Object.keys(configMap.data)[0];
    expect(file).toMatch(/\.cnf$/);
    const volume = spec.volumes.find((v: any) => v.configMap?.name === 'mariadb-config');
    expect(c.volumeMounts).toContainEqual({ name: volume.name, mountPath: '/etc/mysql/conf.d', readOnly: true });
    const bigger = synthCharts({ components: { mariadb: { containers: { mariadb: { limits: { cpu: '500m', memory: '512Mi' } } } } } })['10-data'];
    const annotation = (objects: Manifest[]) => podMetadataOf(find(objects, 'Deployment', 'mariadb')).annotations[CONFIG_HASH_ANNOTATION];
    expect(annotation(bigger)).not.toBe(annotation(data));
    expect(find(bigger, 'ConfigMap', 'mariadb-config').data[file]).toContain('innodb_buffer_pool_size = 128M');
  });

  test('keeps its data on the mariadb-data claim that the platform chart creates in data', () => {
    const claim = find(platform, 'PersistentVolumeClaim', 'mariadb-data', 'data');
    const volume = spec.volumes.find((v: any) => v.persistentVolumeClaim?.claimName === claim.metadata.name);
    expect(c.volumeMounts).toContainEqual({ name: volume.name, mountPath: '/var/lib/mysql' });
  });

  test('takes its passwords from the nextcloud-db Secret, never from a literal', () => {
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
    expect(env.MARIADB_ROOT_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'nextcloud-db', key: 'root-password', optional: false });
    expect(env.MARIADB_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'nextcloud-db', key: 'password', optional: false });
    expect(env.MARIADB_DATABASE.value).toBe('nextcloud');
    expect(env.MARIADB_USER.value).toBe('nextcloud');
    for (const e of c.env.filter((x: any) => /PASSWORD/.test(x.name))) expect(e.value).toBeUndefined();
  });

  test('probes with the image healthcheck, with a long startup window for first init', () => {
    expect(c.startupProbe.exec.command).toEqual(['healthcheck.sh', '--connect', '--innodb_initialized']);
    expect(c.readinessProbe.exec.command).toEqual(['healthcheck.sh', '--connect', '--innodb_initialized']);
    expect(c.livenessProbe.exec.command[0]).toBe('healthcheck.sh');
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(600);
  });

  test('runs as the volume owner 999 with a read-only root and writable emptyDirs for the socket and /tmp', () => {
    expect(spec.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 999 });
    const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, m.name]));
    for (const path of ['/run/mysqld', '/tmp']) {
      expect(spec.volumes.find((v: any) => v.name === mounts[path]).emptyDir).toBeDefined();
    }
  });

  test('is served as mariadb:3306', () => {
    const service = find(data, 'Service', 'mariadb', 'data');
    expect(service.spec.ports).toEqual([{ name: 'mysql', port: 3306, protocol: 'TCP', targetPort: 'mysql' }]);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(MARIADB.host).toBe('mariadb.data.svc.cluster.local');
  });
});

describe('PostgreSQL workload', () => {
  const deployment = find(data, 'Deployment', GITEA_POSTGRES.app, 'data');
  const c = container(deployment);
  const spec = podSpecOf(deployment);

  test('passes every generated setting as -c and keeps shared_buffers a sixth of the limit', () => {
    expect(c.args[0]).toBe('postgres');
    expect(c.args.slice(1)).toEqual(postgresArgs(limitOf('postgres')));
    expect(postgresSettings('192Mi').shared_buffers).toBe('32MB');
    expect(postgresSettings('60Mi').shared_buffers).toBe('16MB');
    expect(postgresSettings('192Mi').max_connections).toBe(String(GITEA_POSTGRES.maxConnections));
    expect(postgresSettings('192Mi').jit).toBe('off');
  });

  test('keeps PGDATA in a subfolder of the postgres-data claim', () => {
    const claim = find(platform, 'PersistentVolumeClaim', 'postgres-data', 'data');
    const volume = spec.volumes.find((v: any) => v.persistentVolumeClaim?.claimName === claim.metadata.name);
    const mount = c.volumeMounts.find((m: any) => m.name === volume.name);
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
    expect(env.PGDATA.value).toBe(PGDATA);
    expect(PGDATA.startsWith(`${mount.mountPath}/`)).toBe(true);
  });

  test('takes the password from the gitea-db Secret', () => {
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
    expect(env.POSTGRES_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'gitea-db', key: 'password', optional: false });
    expect(env.POSTGRES_USER.value).toBe('gitea');
    expect(env.POSTGRES_DB.value).toBe('gitea');
  });

  test('probes with pg_isready over TCP, so the init-time socket-only server is not ready', () => {
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
      expect(probe.exec.command[0]).toBe('pg_isready');
      expect(probe.exec.command).toContain('--host=127.0.0.1');
    }
  });

  test('runs as UID 70 with the image of the configured major', () => {
    expect(spec.securityContext).toMatchObject({ runAsUser: 70, runAsGroup: 70 });
    expect(c.image).toMatch(/:17\.[0-9]+-alpine$/);
    const other = synthCharts({ postgres: { majorVersion: 16 }, images: { postgres: 'docker.io/library/postgres:16.10-alpine' } })['10-data'];
    expect(container(find(other, 'Deployment', 'gitea-postgres')).image).toBe('docker.io/library/postgres:16.10-alpine');
  });

  test('is served as gitea-postgres:5432', () => {
    const service = find(data, 'Service', 'gitea-postgres', 'data');
    expect(service.spec.ports).toEqual([{ name: 'postgres', port: 5432, protocol: 'TCP', targetPort: 'postgres' }]);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });
});

describe('postgres.majorVersion', () => {
  const problems = (overrides: Parameters<typeof resolveConfig>[0]) => {
    try {
      resolveConfig(overrides);
      return [];
    } catch (e) {
      return (e as ConfigError).problems;
    }
  };

  test('defaults to 17, matching the catalog image', () => {
    expect(resolveConfig().postgres.majorVersion).toBe(17);
  });

  test('rejects a major outside 13-18, naming the prop and what is allowed', () => {
    expect(problems({ postgres: { majorVersion: 12 } })).toEqual([expect.stringMatching(/^postgres\.majorVersion: 12 .*13, 14, 15, 16, 17, 18/)]);
  });

  test('rejects an image of another major, so a bumped tag cannot cross a major silently', () => {
    expect(problems({ postgres: { majorVersion: 16 } })).toEqual([expect.stringMatching(/^images\.postgres: '.*postgres:17\.6-alpine'.*majorVersion 16/)]);
    expect(problems({ images: { postgres: 'docker.io/library/postgres:18.0-alpine' } })).toEqual([expect.stringMatching(/^images\.postgres: .*majorVersion 17/)]);
  });

  test('rejects a non-alpine image (the data folder belongs to UID 70)', () => {
    expect(problems({ images: { postgres: 'docker.io/library/postgres:17.6-bookworm' } })).toEqual([expect.stringMatching(/^images\.postgres: .*alpine/)]);
  });
});

describe('data zone policies', () => {
  const policies = data.filter((o) => o.kind === 'NetworkPolicy');

  test('open exactly nextcloud (+ cron) -> mariadb:3306 and gitea -> postgres:5432, plus the backup dumps and a restore, ingress only', () => {
    const summary = policies.map((p) => ({
      name: p.metadata.name,
      target: p.spec.podSelector.matchLabels['app.kubernetes.io/name'],
      types: p.spec.policyTypes,
      egress: p.spec.egress,
      ingress: p.spec.ingress.map((rule: any) => ({
        from: rule.from.map((f: any) => `${f.namespaceSelector.matchLabels['kubernetes.io/metadata.name']}/${f.podSelector.matchLabels['app.kubernetes.io/name']}`),
        ports: rule.ports,
      })),
    }));
    expect(summary).toEqual([
      {
        name: 'mariadb-from-nextcloud',
        target: 'mariadb',
        types: ['Ingress'],
        egress: undefined,
        ingress: [{ from: ['apps/nextcloud', 'apps/nextcloud-cron', 'apps/kopia-snapshot', 'apps/kopia-restore'], ports: [{ port: 3306, protocol: 'TCP' }] }],
      },
      {
        name: 'gitea-postgres-from-gitea',
        target: 'gitea-postgres',
        types: ['Ingress'],
        egress: undefined,
        ingress: [{ from: ['apps/gitea', 'apps/kopia-snapshot', 'apps/kopia-restore'], ports: [{ port: 5432, protocol: 'TCP' }] }],
      },
    ]);
  });

  test('without Kopia only the apps reach their databases', () => {
    const without = synthCharts({ components: { kopia: { enabled: false } } })['10-data'].filter((o) => o.kind === 'NetworkPolicy' && o.spec.ingress);
    const sources = without.flatMap((p) => p.spec.ingress.flatMap((rule: any) => rule.from.map((f: any) => f.podSelector.matchLabels['app.kubernetes.io/name'])));
    expect(sources.sort()).toEqual(['gitea', 'nextcloud', 'nextcloud-cron']);
  });
});

describe('data zone as a whole', () => {
  test('every pod fits Pod Security restricted', () => {
    expect(find(platform, 'Namespace', 'data').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const workloads = data.filter((o) => o.kind === 'Deployment');
    expect(workloads.map((w) => w.metadata.name).sort()).toEqual(['gitea-postgres', 'mariadb']);
    for (const w of workloads) {
      const spec = podSpecOf(w);
      expect(spec.hostNetwork).toBeUndefined();
      expect(spec.securityContext.runAsUser).toBeGreaterThan(0);
      expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      for (const v of spec.volumes) expect(Object.keys(v).filter((k) => k !== 'name')).toEqual([expect.stringMatching(/^(persistentVolumeClaim|emptyDir|configMap)$/)]);
      for (const c of [...spec.initContainers, ...spec.containers]) {
        expect(c.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
      }
    }
  });

  test('synthesizes no Secret and no password value', () => {
    expect(data.filter((o) => o.kind === 'Secret')).toEqual([]);
    const env = data.filter((o) => o.kind === 'Deployment').flatMap((w) => container(w).env);
    expect(env.filter((e: any) => /PASSWORD/.test(e.name) && e.value !== undefined)).toEqual([]);
  });

  test('a database turned off leaves nothing behind', () => {
    const withoutGitea = synthCharts({ components: { gitea: { enabled: false }, postgres: { enabled: false } } })['10-data'];
    expect(withoutGitea.filter((o) => o.metadata.name.includes('postgres'))).toEqual([]);
    expect(withoutGitea.some((o) => o.metadata.name === 'mariadb')).toBe(true);
  });
});
