import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { resolveConfig, WEB_UIS } from '../lib/config';
import { memoryBytes } from '../lib/config/quantity';
import { HOMEPAGE_CLUSTER_RULES } from '../lib/apps/homepage';
import { kubernetesServiceIp } from '../lib/constructs';
import { REPOSITORY_MARKER, renderStartScript } from '../lib/apps/kopia';
import {
  NEXTCLOUD_LIVENESS_PATH,
  NEXTCLOUD_MIN_PHP_MEMORY_MIB,
  NEXTCLOUD_MIN_WORKERS,
  NEXTCLOUD_PHP_INI_PATH,
  NEXTCLOUD_PROCESS_MEMORY,
  apcuMemoryMb,
  cronPhpMemoryMiB,
  maxRequestWorkers,
  nextcloudWorkerPlan,
  opcacheMemoryMb,
} from '../lib/apps/nextcloud';
import { GITEA_LIVENESS_PATH } from '../lib/apps/gitea';
import { MARIADB } from '../lib/apps/mariadb';
import { GITEA_POSTGRES } from '../lib/apps/postgres';
import { PUBLISHED_SSH_PORT } from '../lib/apps/traefik';
import { buildApp } from '../lib/stack';
import { Manifest, find, podMetadataOf, podSpecOf, fullConfig, synthFull, synthChartsFull } from './helpers';

const config = fullConfig();
const apps = synthChartsFull()['20-apps'];
const container = (o: Manifest) => podSpecOf(o).containers[0];
const env = (c: any): Record<string, any> => Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
const policy = (name: string) => find(apps, 'NetworkPolicy', name, 'apps').spec;
const traefikPeer = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } } };
const ports = (...numbers: number[]) => numbers.map((port) => ({ port, protocol: 'TCP' }));

describe('Nextcloud', () => {
  const deployment = find(apps, 'Deployment', 'nextcloud', 'apps');
  const c = container(deployment);
  const e = env(c);
  const host = `cloud.${config.domain}`;

  test('points at the data zone MariaDB with the password from its Secret (required)', () => {
    expect(e.MYSQL_HOST).toBe(`${MARIADB.host}:${MARIADB.port}`);
    expect(e.MYSQL_DATABASE).toBe(MARIADB.database);
    expect(e.MYSQL_PASSWORD).toEqual({ secretKeyRef: { name: 'nextcloud-db', key: 'password' } });
    expect(e.NEXTCLOUD_ADMIN_USER.secretKeyRef.name).toBe('nextcloud-admin');
    expect(e.NEXTCLOUD_ADMIN_PASSWORD).toEqual({ secretKeyRef: { name: 'nextcloud-admin', key: 'password' } });
  });

  test('reverse-proxy settings come from the config', () => {
    expect(e.NEXTCLOUD_TRUSTED_DOMAINS).toBe(host);
    expect(e.TRUSTED_PROXIES).toBe(config.network.podCidr);
    expect(e.OVERWRITEPROTOCOL).toBe('https');
    expect(e.OVERWRITEHOST).toBe(host);
    const other = synthChartsFull({ domain: 'example.org', network: { podCidr: '10.99.0.0/16' } })['20-apps'];
    const otherEnv = env(container(find(other, 'Deployment', 'nextcloud')));
    expect([otherEnv.OVERWRITEHOST, otherEnv.TRUSTED_PROXIES]).toEqual(['cloud.example.org', '10.99.0.0/16']);
  });

  const sized = (memory: string) => ({ requests: { cpu: '1', memory: '1Mi' }, limits: { cpu: '1', memory } });

  test('worst case fits the limit: every Apache worker at its PHP memory_limit, plus shared memory and the parent', () => {
    for (const memory of ['448Mi', '512Mi', '768Mi', '1Gi', '2Gi']) {
      const plan = nextcloudWorkerPlan(sized(memory));
      const m = NEXTCLOUD_PROCESS_MEMORY;
      expect(plan.workers).toBeGreaterThanOrEqual(NEXTCLOUD_MIN_WORKERS);
      expect(plan.phpMemoryMiB).toBeGreaterThanOrEqual(NEXTCLOUD_MIN_PHP_MEMORY_MIB);
      const worst = m.apacheParentMiB + m.codeMiB + opcacheMemoryMb(sized(memory)) + m.jitBufferMiB + apcuMemoryMb(sized(memory)) + plan.workers * (plan.phpMemoryMiB + m.workerBaseMiB);
      expect(plan.worstCaseMiB).toBe(worst);
      expect(worst).toBeLessThanOrEqual(memoryBytes(memory)! / 1024 ** 2);
      // The plan hands out the whole limit (only rounding is left over)...
      expect(memoryBytes(memory)! / 1024 ** 2 - worst).toBeLessThan(plan.workers);
      // ...and one more worker at the least memory_limit would not fit.
      expect(plan.workers + 1).toBeGreaterThan((memoryBytes(memory)! / 1024 ** 2 - (worst - plan.workers * (plan.phpMemoryMiB + m.workerBaseMiB))) / (NEXTCLOUD_MIN_PHP_MEMORY_MIB + m.workerBaseMiB));
    }
    // A bigger limit buys more workers, never a per-request limit below the floor.
    expect(maxRequestWorkers(sized('1Gi'))).toBeGreaterThan(maxRequestWorkers(sized('512Mi')));
  });

  test('a limit too small for two workers fails synth naming the prop', () => {
    const tiny = { components: { nextcloud: { containers: { nextcloud: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } } } } } };
    expect(() => synthChartsFull(tiny)).toThrow(/components\.nextcloud\.containers\.nextcloud\.limits\.memory: '256Mi'.*allowed: \d+Mi or more/);
    const tinyCron = { components: { nextcloud: { containers: { 'nextcloud-cron': { requests: { cpu: '20m', memory: '48Mi' }, limits: { cpu: '1', memory: '128Mi' } } } } } };
    expect(() => synthChartsFull(tinyCron)).toThrow(/components\.nextcloud\.containers\.nextcloud-cron\.limits\.memory: '128Mi'/);
  });

  test('Apache MaxRequestWorkers, the PHP ini and the image env all come from the same plan', () => {
    const size = config.components.nextcloud.containers.nextcloud;
    const plan = nextcloudWorkerPlan(size);
    const data = find(apps, 'ConfigMap', 'nextcloud-config', 'apps').data;
    expect(data['mpm_prefork.conf']).toMatch(new RegExp(`MaxRequestWorkers\\s+${plan.workers}\\n`));
    expect(data['mpm_prefork.conf']).toMatch(new RegExp(`ServerLimit\\s+${plan.workers}\\n`));
    expect(data['php-server.ini']).toContain(`memory_limit = ${plan.phpMemoryMiB}M\n`);
    expect(e.PHP_MEMORY_LIMIT).toBe(`${plan.phpMemoryMiB}M`);
    expect(e.PHP_OPCACHE_MEMORY_CONSUMPTION).toBe(String(opcacheMemoryMb(size)));
    expect(data['php-server.ini']).toContain(`opcache.memory_consumption = ${opcacheMemoryMb(size)}\n`);
    expect(data['php-server.ini']).toContain(`apc.shm_size = ${apcuMemoryMb(size)}M\n`);
    expect(e.PHP_UPLOAD_LIMIT).toMatch(/^[0-9]+[MG]$/);
    expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: NEXTCLOUD_PHP_INI_PATH, subPath: 'php-server.ini', readOnly: true });
  });

  test('the cron job gets its own PHP memory_limit: its limit less the CLI and APCu', () => {
    const cronSize = config.components.nextcloud.containers['nextcloud-cron'];
    const cron = podSpecOf(find(apps, 'CronJob', 'nextcloud-cron', 'apps')).containers[0];
    const data = find(apps, 'ConfigMap', 'nextcloud-config', 'apps').data;
    const mib = cronPhpMemoryMiB(cronSize);
    expect(mib + NEXTCLOUD_PROCESS_MEMORY.cliBaseMiB + apcuMemoryMb(cronSize)).toBeLessThanOrEqual(memoryBytes(cronSize.limits.memory)! / 1024 ** 2);
    expect(data['php-cron.ini']).toContain(`memory_limit = ${mib}M\n`);
    expect(env(cron).PHP_MEMORY_LIMIT).toBe(`${mib}M`);
    expect(cron.volumeMounts).toContainEqual({ name: 'config', mountPath: NEXTCLOUD_PHP_INI_PATH, subPath: 'php-cron.ini', readOnly: true });
  });

  test('runs as www-data on the nextcloud-data claim at /var/www/html', () => {
    const spec = podSpecOf(deployment);
    expect([spec.securityContext.runAsUser, spec.securityContext.runAsGroup]).toEqual([33, 33]);
    expect(spec.securityContext.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]);
    expect(spec.volumes).toContainEqual({ name: 'html', persistentVolumeClaim: { claimName: 'nextcloud-data' } });
    expect(c.volumeMounts).toContainEqual({ name: 'html', mountPath: '/var/www/html' });
    expect(c.securityContext.runAsNonRoot).toBe(true);
  });

  test('startup and readiness probe /status.php with the trusted Host header, with a 30-minute startup window', () => {
    for (const probe of [c.startupProbe, c.readinessProbe]) {
      expect(probe.httpGet.path).toBe('/status.php');
      expect(probe.httpGet.httpHeaders).toEqual([{ name: 'Host', value: host }]);
    }
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(30 * 60);
  });

  test('liveness tests Apache alone: a static file, not status.php (which needs MariaDB)', () => {
    expect(c.livenessProbe.httpGet.path).toBe(NEXTCLOUD_LIVENESS_PATH);
    expect(c.livenessProbe.httpGet.path).not.toMatch(/\.php/);
    expect(c.livenessProbe.httpGet.port).toBe('http');
  });

  test('cron job runs cron.php every 5 minutes as uid 33 on the same claim', () => {
    const cron = find(apps, 'CronJob', 'nextcloud-cron', 'apps');
    expect(cron.spec.schedule).toBe('*/5 * * * *');
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    const spec = podSpecOf(cron);
    expect(spec.securityContext.runAsUser).toBe(33);
    expect(spec.containers[0].command).toEqual(['php', '-f', '/var/www/html/cron.php']);
    expect(spec.volumes).toContainEqual({ name: 'html', persistentVolumeClaim: { claimName: 'nextcloud-data' } });
  });

  test('policies: Traefik to port 80 only; server and cron reach MariaDB only, public HTTPS when nextcloud.internetAccess is on', () => {
    const server = policy('nextcloud');
    expect(server.ingress).toEqual([{ from: [traefikPeer], ports: ports(80) }]);
    const mariadb = { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'data' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'mariadb' } } }], ports: ports(3306) };
    const internet = { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']) } }], ports: ports(443) };
    expect(server.egress).toEqual([mariadb]);
    const cron = policy('nextcloud-cron');
    expect(cron.policyTypes).toEqual(['Egress']);
    expect(cron.egress).toEqual([mariadb]);
    const open = synthFull({ nextcloud: { internetAccess: true } }).filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'apps');
    for (const name of ['nextcloud', 'nextcloud-cron']) expect(open.find((o) => o.metadata.name === name)!.spec.egress).toEqual([mariadb, internet]);
    expect(MARIADB.clients).toEqual(expect.arrayContaining(['nextcloud', 'nextcloud-cron']));
  });
});

describe('Gitea', () => {
  const deployment = find(apps, 'Deployment', 'gitea', 'apps');
  const c = container(deployment);
  const e = env(c);

  test('is configured through GITEA__ env with the database password from its Secret', () => {
    expect(e.GITEA__database__DB_TYPE).toBe('postgres');
    expect(e.GITEA__database__HOST).toBe(`${GITEA_POSTGRES.host}:5432`);
    expect([e.GITEA__database__NAME, e.GITEA__database__USER]).toEqual([GITEA_POSTGRES.database, GITEA_POSTGRES.user]);
    expect(e.GITEA__database__PASSWD).toEqual({ secretKeyRef: { name: 'gitea-db', key: 'password' } });
    expect(e.GITEA__security__INSTALL_LOCK).toBe('true');
    expect(e.GITEA__security__SECRET_KEY).toEqual({ secretKeyRef: { name: 'gitea-secrets', key: 'secret-key' } });
    expect(e.GITEA__security__INTERNAL_TOKEN).toEqual({ secretKeyRef: { name: 'gitea-secrets', key: 'internal-token' } });
    expect(Number(e.GITEA__database__MAX_OPEN_CONNS)).toBeLessThan(GITEA_POSTGRES.maxConnections - 3);
  });

  test('URLs follow the domain; SSH shows the published port while listening on 2222', () => {
    expect(e.GITEA__server__ROOT_URL).toBe(`https://git.${config.domain}/`);
    expect([e.GITEA__server__DOMAIN, e.GITEA__server__SSH_DOMAIN]).toEqual([`git.${config.domain}`, `git.${config.domain}`]);
    expect(e.GITEA__server__SSH_PORT).toBe(String(PUBLISHED_SSH_PORT));
    expect(e.GITEA__server__SSH_LISTEN_PORT).toBe('2222');
  });

  test('runs rootless as 1000 on gitea-data; startup and readiness probe /api/healthz (database included)', () => {
    expect(podSpecOf(deployment).securityContext.runAsUser).toBe(1000);
    expect(podSpecOf(deployment).volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'gitea-data' } });
    for (const probe of [c.startupProbe, c.readinessProbe]) expect(probe.httpGet.path).toBe('/api/healthz');
  });

  test('liveness tests Gitea alone: an embedded static asset, not /api/healthz (which pings PostgreSQL)', () => {
    expect(c.livenessProbe.httpGet.path).toBe(GITEA_LIVENESS_PATH);
    expect(c.livenessProbe.httpGet.path).toMatch(/^\/assets\//);
    expect(c.livenessProbe.httpGet.port).toBe('http');
  });

  test('Service exposes http 3000 and ssh 2222; policy opens both to Traefik and postgres only', () => {
    const svc = find(apps, 'Service', 'gitea', 'apps');
    expect(svc.spec.ports.map((p: any) => [p.name, p.port])).toEqual([['http', 3000], ['ssh', 2222]]);
    const spec = policy('gitea');
    expect(spec.ingress).toEqual([{ from: [traefikPeer], ports: ports(3000, 2222) }]);
    expect(spec.egress).toEqual([
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'data' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'gitea-postgres' } } }], ports: ports(5432) },
    ]);
  });
});

describe('Kopia', () => {
  const deployment = find(apps, 'Deployment', 'kopia', 'apps');
  const c = container(deployment);
  const spec = podSpecOf(deployment);

  test('repository, cache and read-only sources on their claims', () => {
    expect(spec.volumes).toContainEqual({ name: 'repository', persistentVolumeClaim: { claimName: 'kopia-repository' } });
    expect(spec.volumes).toContainEqual({ name: 'cache', persistentVolumeClaim: { claimName: 'kopia-cache' } });
    expect(spec.volumes).toContainEqual({ name: 'sources', persistentVolumeClaim: { claimName: 'kopia-sources', readOnly: true } });
    expect(c.volumeMounts).toContainEqual({ name: 'sources', mountPath: '/data', readOnly: true });
    expect(c.volumeMounts).toContainEqual({ name: 'repository', mountPath: '/repository' });
    expect(c.volumeMounts).toContainEqual({ name: 'cache', mountPath: '/app/cache' });
  });

  test('start script creates the repository only when the folder is empty, else connects', () => {
    const script = renderStartScript();
    const lines = script.split('\n');
    const check = lines.findIndex((l) => l.includes(`if [ -f "$repo/${REPOSITORY_MARKER}" ]`));
    const connect = lines.findIndex((l) => l.includes('kopia repository connect filesystem'));
    const emptyCheck = lines.findIndex((l) => l.includes('elif [ -z "$(ls -A "$repo")" ]'));
    const create = lines.findIndex((l) => l.includes('kopia repository create filesystem'));
    expect(check).toBeGreaterThanOrEqual(0);
    expect([check < connect, connect < emptyCheck, emptyCheck < create]).toEqual([true, true, true]);
    expect(lines.filter((l) => l.includes('repository create'))).toHaveLength(1);
    expect(script).toMatch(/else\n.*refusing.*\n\s*exit 1/);
    const map = find(apps, 'ConfigMap', 'kopia-scripts', 'apps');
    expect(map.data['start.sh']).toBe(script);
    expect(c.command).toEqual(['/bin/sh', '/scripts/start.sh']);
  });

  test('TLS, server login from Secrets, metrics with scrape annotations', () => {
    const script = renderStartScript();
    expect(script).toContain('--tls-cert-file="$TLS/tls.crt"');
    expect(env(c).TLS).toBe('/app/tls');
    expect(script).toContain('--metrics-listen-addr=:51516');
    // No secret on a command line (/proc/<pid>/cmdline is world-readable): kopia reads these from its environment.
    expect(script).not.toMatch(/--server-password|--server-username|--password|--server-control-password/);
    for (const variable of ['KOPIA_PASSWORD', 'KOPIA_SERVER_USERNAME', 'KOPIA_SERVER_PASSWORD']) expect(script).toContain(`: "\${${variable}:?`);
    const e = env(c);
    expect(e.KOPIA_PASSWORD).toEqual({ secretKeyRef: { name: 'kopia', key: 'repository-password' } });
    expect(e.KOPIA_SERVER_PASSWORD).toEqual({ secretKeyRef: { name: 'kopia', key: 'server-password' } });
    expect(e.KOPIA_SERVER_USERNAME).toEqual({ secretKeyRef: { name: 'kopia', key: 'server-username' } });
    expect(spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'kopia-tls', defaultMode: 0o400 } });
    const annotations = podMetadataOf(deployment).annotations;
    expect([annotations['prometheus.io/scrape'], annotations['prometheus.io/port']]).toEqual(['true', '51516']);
    expect(find(apps, 'Service', 'kopia', 'apps').spec.ports.map((p: any) => p.port)).toEqual([51515]);
  });

  test('Traefik verifies the backend certificate through a ServersTransport', () => {
    const svc = find(apps, 'Service', 'kopia', 'apps');
    expect(svc.metadata.annotations).toEqual({
      'traefik.ingress.kubernetes.io/service.serversscheme': 'https',
      'traefik.ingress.kubernetes.io/service.serverstransport': 'apps-kopia@kubernetescrd',
    });
    const transport = find(apps, 'ServersTransport', 'kopia', 'apps');
    expect(transport.spec).toEqual({ serverName: 'kopia.apps.svc', rootCAs: [{ secret: 'kopia-tls' }] });
    expect(transport.spec.insecureSkipVerify).toBeUndefined();
    const npm = synthChartsFull({ ingress: { mode: 'nginx-proxy-manager' } })['20-apps'];
    expect(npm.filter((o) => o.kind === 'ServersTransport')).toEqual([]);
  });

  test('root exception is limited to DAC_OVERRIDE with a reason', () => {
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['DAC_OVERRIDE'] });
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(podMetadataOf(deployment).annotations['potatostack.io/security-exception.kopia']).toMatch(/DAC_OVERRIDE/);
  });

  test('policy: Traefik to 51515, Prometheus to 51516, no egress', () => {
    const spec = policy('kopia');
    expect(spec.policyTypes).toEqual(['Ingress']);
    expect(spec.ingress).toEqual([
      { from: [traefikPeer], ports: ports(51515) },
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }], ports: ports(51516) },
    ]);
  });
});

describe('Homepage', () => {
  const deployment = find(apps, 'Deployment', 'homepage', 'apps');
  const c = container(deployment);
  const hrefs = (objects: Manifest[]) =>
    (parse(find(objects, 'ConfigMap', 'homepage-config', 'apps').data['services.yaml']) as Record<string, Record<string, { href: string }>[]>[])
      .flatMap((group) => Object.values(group)[0])
      .flatMap((entry) => Object.values(entry).map((e) => e.href))
      .sort();

  test('lists exactly the enabled web UIs, with https links under the domain', () => {
    const expected = (overrides: Parameters<typeof resolveConfig>[0]) => {
      const cfg = fullConfig(overrides);
      return WEB_UIS.filter((u) => cfg.components[u.component].enabled).map((u) => `https://${u.subdomain}.${cfg.domain}`).sort();
    };
    expect(hrefs(apps)).toEqual(expected({}));
    expect(hrefs(apps)).toContain(`https://cloud.${config.domain}`);
    const trimmed = { domain: 'example.org', components: { gitea: { enabled: false }, postgres: { enabled: false }, portainer: { enabled: false } } };
    const other = hrefs(synthChartsFull(trimmed)['20-apps']);
    expect(other).toEqual(expected(trimmed));
    expect(other).not.toContain('https://git.example.org');
    expect(other).not.toContain('https://portainer.example.org');
  });

  test('kubernetes.yaml uses the in-cluster account with discovery off', () => {
    const files = find(apps, 'ConfigMap', 'homepage-config', 'apps').data;
    expect(parse(files['kubernetes.yaml'])).toEqual({ mode: 'cluster', ingress: false, traefik: false, gateway: false });
    for (const file of ['settings.yaml', 'widgets.yaml', 'bookmarks.yaml']) expect(files[file]).toBeDefined();
  });

  test('ClusterRole is read-only with exactly the rules Homepage needs, bound to its ServiceAccount', () => {
    const role = find(apps, 'ClusterRole', 'homepage');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['namespaces', 'pods', 'nodes'], verbs: ['get', 'list'] },
      { apiGroups: ['metrics.k8s.io'], resources: ['nodes', 'pods'], verbs: ['get', 'list'] },
    ]);
    expect(HOMEPAGE_CLUSTER_RULES.flatMap((r) => r.verbs).every((v) => v === 'get' || v === 'list')).toBe(true);
    const binding = find(apps, 'ClusterRoleBinding', 'homepage');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'homepage' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'homepage', namespace: 'apps' }]);
    expect(podSpecOf(deployment).serviceAccountName).toBe('homepage');
  });

  test('allowed hosts, writable config dir with the generated files mounted one by one', () => {
    expect(env(c).HOMEPAGE_ALLOWED_HOSTS).toBe(`home.${config.domain}`);
    expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/app/config' });
    expect(c.volumeMounts).toContainEqual({ name: 'config-files', mountPath: '/app/config/services.yaml', subPath: 'services.yaml', readOnly: true });
    expect(c.startupProbe.httpGet.httpHeaders).toEqual([{ name: 'Host', value: `home.${config.domain}` }]);
  });

  test('a config change changes the pod template (subPath mounts do not follow ConfigMap updates)', () => {
    const other = find(synthChartsFull({ domain: 'example.org' })['20-apps'], 'Deployment', 'homepage');
    expect(podMetadataOf(other).annotations['potatostack.io/config-hash']).not.toBe(podMetadataOf(deployment).annotations['potatostack.io/config-hash']);
  });

  test('policy: Traefik to 3000; egress only to the API (kubernetes Service IP and node address)', () => {
    expect(kubernetesServiceIp('10.43.0.0/16')).toBe('10.43.0.1/32');
    const spec = policy('homepage');
    expect(spec.ingress).toEqual([{ from: [traefikPeer], ports: ports(3000) }]);
    expect(spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '10.43.0.1/32' } }], ports: ports(443) },
      { to: [{ ipBlock: { cidr: config.network.lanCidr } }], ports: ports(config.network.apiServerPort) },
    ]);
    // resolveConfig rejects the optional nodeCidr as unknown (it has no default), so build with it directly.
    const base = fullConfig({ network: { apiServerPort: 7443 } });
    const app = buildApp({ ...base, network: { ...base.network, nodeCidr: '192.168.1.10/32' } }, '/nonexistent-outdir');
    const withNode = app.charts.find((chart) => chart.node.id === '20-apps')!.toJson() as Manifest[];
    expect(find(withNode, 'NetworkPolicy', 'homepage').spec.egress[1]).toEqual({ to: [{ ipBlock: { cidr: '192.168.1.10/32' } }], ports: ports(7443) });
  });
});

describe('zone wiring', () => {
  test('every web UI has an Ingress in traefik mode and none in nginx-proxy-manager mode', () => {
    expect(apps.filter((o) => o.kind === 'Ingress').map((o) => o.spec.rules[0].host).sort()).toEqual(
      ['backup', 'cloud', 'git', 'home'].map((s) => `${s}.${config.domain}`),
    );
    expect(synthChartsFull({ ingress: { mode: 'nginx-proxy-manager' } })['20-apps'].filter((o) => o.kind === 'Ingress')).toEqual([]);
  });

  test('in nginx-proxy-manager mode the web ports open to NPM instead of Traefik', () => {
    const npm = synthChartsFull({ ingress: { mode: 'nginx-proxy-manager' } })['20-apps'];
    const from = find(npm, 'NetworkPolicy', 'nextcloud').spec.ingress[0].from;
    expect(from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dmz' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nginx-proxy-manager' } } }]);
  });

  test('disabled apps render nothing', () => {
    const none = synthChartsFull({ components: { kopia: { enabled: false }, homepage: { enabled: false } } })['20-apps'];
    expect(none.filter((o) => o.metadata.name === 'kopia' || o.metadata.name === 'homepage')).toEqual([]);
  });

  test('the Secrets table of docs/secrets.md documents every Secret the apps reference, with its keys', () => {
    const section = fs.readFileSync(path.join(__dirname, '..', 'docs', 'secrets.md'), 'utf8');
    const rows = section.split('\n').filter((l) => l.startsWith('| `'));
    const referenced = new Map<string, Set<string>>();
    const add = (name: string, key?: string) => {
      const keys = referenced.get(name) ?? new Set<string>();
      if (key) keys.add(key);
      referenced.set(name, keys);
    };
    for (const o of apps) {
      if (!['Deployment', 'CronJob'].includes(o.kind)) continue;
      const spec = podSpecOf(o);
      for (const v of spec.volumes ?? []) if (v.secret) add(v.secret.secretName);
      for (const ct of spec.containers) for (const e of ct.env ?? []) if (e.valueFrom?.secretKeyRef) add(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
    }
    expect(referenced.size).toBeGreaterThanOrEqual(5);
    for (const [name, keys] of referenced) {
      const row = rows.find((r) => r.startsWith(`| \`${name}\` | \`apps\``));
      expect([name, row !== undefined]).toEqual([name, true]);
      for (const key of keys) expect([name, key, row!.includes(`\`${key}\``)]).toEqual([name, key, true]);
    }
  });
});
