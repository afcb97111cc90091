import { App } from 'cdk8s';
import { VOLUMES, ZONES, resolveConfig } from '../lib/config';
import { HostPathVolume, PotatoChart, ZoneNamespace } from '../lib/constructs';
import { find, synthChartsFull } from './helpers';

const platform = synthChartsFull()['00-platform'];
const npmPlatform = synthChartsFull({ ingress: { mode: 'nginx-proxy-manager' } })['00-platform'];

describe('zone namespaces', () => {
  test('one namespace per zone in use, dmz only in nginx-proxy-manager mode', () => {
    const names = (objects: typeof platform) => objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name).sort();
    expect(names(platform)).toEqual(['apps', 'data', 'management', 'monitoring', 'vpn']);
    expect(names(npmPlatform)).toEqual(['apps', 'data', 'dmz', 'management', 'monitoring', 'vpn']);
  });

  test.each(Object.values(ZONES).filter((z) => z.namespace !== 'dmz'))('$namespace enforces $enforce and warns/audits at restricted', (zone) => {
    const labels = find(platform, 'Namespace', zone.namespace).metadata.labels!;
    expect(labels['pod-security.kubernetes.io/enforce']).toBe(zone.enforce);
    expect(labels['pod-security.kubernetes.io/warn']).toBe('restricted');
    expect(labels['pod-security.kubernetes.io/audit']).toBe('restricted');
  });

  test('the architecture levels: data restricted, vpn and monitoring privileged, the rest baseline', () => {
    const level = (ns: string) => find(npmPlatform, 'Namespace', ns).metadata.labels!['pod-security.kubernetes.io/enforce'];
    expect([level('data'), level('vpn'), level('monitoring'), level('apps'), level('management'), level('dmz')]).toEqual([
      'restricted',
      'privileged',
      'privileged',
      'baseline',
      'baseline',
      'baseline',
    ]);
  });

  test('every zone starts from default-deny in both directions', () => {
    for (const ns of Object.values(ZONES).map((z) => z.namespace).filter((n) => n !== 'dmz')) {
      const deny = find(platform, 'NetworkPolicy', 'default-deny', ns);
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    }
  });

  test('DNS egress goes only to CoreDNS on port 53, and never for the VPN pod', () => {
    const dns = find(platform, 'NetworkPolicy', 'allow-dns-egress', 'vpn');
    expect(dns.spec.policyTypes).toEqual(['Egress']);
    expect(dns.spec.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
      },
    ]);
    expect(dns.spec.podSelector).toEqual({ matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['vpn'] }] });
    expect(find(platform, 'NetworkPolicy', 'allow-dns-egress', 'apps').spec.podSelector).toEqual({});
  });
});

describe('storage', () => {
  const pvs = platform.filter((o) => o.kind === 'PersistentVolume');

  test('storage classes hdd-main and hdd-cache never provision and retain', () => {
    for (const name of ['hdd-main', 'hdd-cache']) {
      const sc = find(platform, 'StorageClass', name);
      expect([sc.provisioner, sc.reclaimPolicy]).toEqual(['kubernetes.io/no-provisioner', 'Retain']);
    }
  });

  test('one PV per layout folder of an enabled component', () => {
    expect(pvs.map((p) => p.metadata.name).sort()).toEqual(VOLUMES.filter((v) => v.component !== 'nginx-proxy-manager').map((v) => v.name).sort());
    expect(npmPlatform.some((o) => o.kind === 'PersistentVolume' && o.metadata.name === 'nginx-proxy-manager-data')).toBe(true);
  });

  test('PVs are hostPath Directory, Retain, pinned to the storage node, on the right class', () => {
    for (const pv of pvs) {
      const spec = VOLUMES.find((v) => v.name === pv.metadata.name)!;
      expect(pv.spec.hostPath.type).toBe('Directory');
      expect(pv.spec.persistentVolumeReclaimPolicy).toBe('Retain');
      expect(pv.spec.storageClassName).toBe(spec.disk === 'main' ? 'hdd-main' : 'hdd-cache');
      expect(pv.spec.hostPath.path.startsWith(spec.disk === 'main' ? '/mnt/seconddrive' : '/mnt/cachehdd')).toBe(true);
      expect(pv.spec.nodeAffinity.required.nodeSelectorTerms).toEqual([
        { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['potato'] }] },
      ]);
    }
  });

  test('each PV is pre-bound to its one claim in its zone, with matching class, mode and size', () => {
    for (const pv of pvs) {
      const claim = find(platform, 'PersistentVolumeClaim', pv.metadata.name, pv.spec.claimRef.namespace);
      expect(pv.spec.claimRef).toEqual({ name: claim.metadata.name, namespace: claim.metadata.namespace });
      expect(claim.spec.volumeName).toBe(pv.metadata.name);
      expect(claim.spec.storageClassName).toBe(pv.spec.storageClassName);
      expect(claim.spec.accessModes).toEqual(pv.spec.accessModes);
      expect(claim.spec.resources.requests.storage).toBe(pv.spec.capacity.storage);
    }
  });

  test('the seed data layout on the two disks', () => {
    const path = (name: string) => find(platform, 'PersistentVolume', name).spec.hostPath.path;
    expect(path('nextcloud-data')).toBe('/mnt/seconddrive/nextcloud');
    expect(path('kopia-repository')).toBe('/mnt/seconddrive/kopia/repository');
    expect(path('kopia-cache')).toBe('/mnt/seconddrive/kopia/cache');
    expect(path('gitea-data')).toBe('/mnt/seconddrive/gitea');
    expect(path('uptime-kuma-data')).toBe('/mnt/seconddrive/uptime-kuma');
    expect(path('torrents')).toBe('/mnt/cachehdd/torrents');
    expect(path('soulseek')).toBe('/mnt/cachehdd/soulseek');
  });

  test("Kopia's view of the other apps' data is a separate read-only PV of the main disk", () => {
    const sources = find(platform, 'PersistentVolume', 'kopia-sources');
    expect(sources.spec.accessModes).toEqual(['ReadOnlyMany']);
    expect(sources.spec.hostPath.path).toBe('/mnt/seconddrive');
  });

  test('mount points and node name come from config', () => {
    const custom = synthChartsFull({ storage: { mainPath: '/srv/main', cachePath: '/srv/cache', nodeName: 'lepotato' } })['00-platform'];
    const pv = find(custom, 'PersistentVolume', 'torrents');
    expect(pv.spec.hostPath.path).toBe('/srv/cache/torrents');
    expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values).toEqual(['lepotato']);
  });

  test('disabling a component drops its volumes', () => {
    const objects = synthChartsFull({ components: { 'uptime-kuma': { enabled: false } } })['00-platform'];
    expect(objects.some((o) => o.metadata.name === 'uptime-kuma-data')).toBe(false);
  });

  test("the repository copy on the cache disk follows kopia.copy.enabled, the dumps folder is Kopia's", () => {
    expect(find(platform, 'PersistentVolume', 'kopia-copy').spec.hostPath.path).toBe('/mnt/cachehdd/kopia/repository-copy');
    expect(find(platform, 'PersistentVolume', 'database-dumps').spec.hostPath.path).toBe('/mnt/seconddrive/backups/databases');
    const withoutCopy = synthChartsFull({ kopia: { copy: { enabled: false } } })['00-platform'];
    expect(withoutCopy.filter((o) => o.metadata.name === 'kopia-copy')).toEqual([]);
    expect(withoutCopy.some((o) => o.metadata.name === 'database-dumps')).toBe(true);
  });
});

describe('GitOps never prunes or deletes what holds data', () => {
  const keep = { 'kustomize.toolkit.fluxcd.io/prune': 'disabled', 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false' };
  const holders = platform.filter((o) => ['PersistentVolume', 'PersistentVolumeClaim', 'Namespace'].includes(o.kind));

  test('every PV, PVC and namespace carries the Flux and Argo CD keep annotations', () => {
    expect(new Set(holders.map((o) => o.kind))).toEqual(new Set(['PersistentVolume', 'PersistentVolumeClaim', 'Namespace']));
    for (const o of holders) expect([`${o.kind}/${o.metadata.name}`, o.metadata.annotations]).toEqual([`${o.kind}/${o.metadata.name}`, expect.objectContaining(keep)]);
  });

  test('the constructs carry them themselves, also outside the stack (no stack-wide stamp)', () => {
    const chart = new PotatoChart(new App(), 'bare', resolveConfig());
    new HostPathVolume(chart, 'volume', VOLUMES[0]);
    new ZoneNamespace(chart, 'zone', { zone: ZONES.apps });
    const objects = chart.toJson().filter((o: any) => ['PersistentVolume', 'PersistentVolumeClaim', 'Namespace'].includes(o.kind));
    expect(objects.map((o: any) => o.kind).sort()).toEqual(['Namespace', 'PersistentVolume', 'PersistentVolumeClaim']);
    for (const o of objects) expect(o.metadata.annotations).toEqual(expect.objectContaining(keep));
  });

  test('a namespace keeps its Pod Security reason beside them', () => {
    const withReason = Object.values(ZONES).find((z) => z.reason && z.namespace !== 'dmz')!;
    expect(find(platform, 'Namespace', withReason.namespace).metadata.annotations).toEqual({ ...keep, 'potatostack.io/pod-security-reason': withReason.reason });
  });

  test('objects without data (workloads, policies, config) carry no keep annotation, so GitOps still prunes them', () => {
    const all = Object.values(synthChartsFull()).flat();
    const others = all.filter((o) => !['PersistentVolume', 'PersistentVolumeClaim', 'Namespace'].includes(o.kind));
    expect(others.length).toBeGreaterThan(50);
    expect(others.filter((o) => o.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune'] || o.metadata.annotations?.['argocd.argoproj.io/sync-options']).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });
});

test('namespaces come before everything that lives in them', () => {
  const firstUse = new Map<string, number>();
  platform.forEach((o, i) => {
    if (o.metadata.namespace && !firstUse.has(o.metadata.namespace)) firstUse.set(o.metadata.namespace, i);
  });
  expect(firstUse.size).toBeGreaterThanOrEqual(5);
  for (const [ns, index] of firstUse) {
    expect(platform.findIndex((o) => o.kind === 'Namespace' && o.metadata.name === ns)).toBeLessThan(index);
  }
});
