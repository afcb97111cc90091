import { resolveConfig } from '../../lib/config';
import {
  DISK_CHECK_SCRIPT,
  MIN_K3S_VERSION,
  checkAddress,
  checkDisks,
  checkK3sVersion,
  checkNode,
  checkTraefikChart,
  diskCheckPod,
  parseDiskReport,
  traefikChartReference,
} from '../../cli/preflight';

const config = resolveConfig({ storage: { nodeName: 'lepotato' }, network: { lanCidr: '192.168.1.0/24' } });
const node = (overrides: { arch?: string; memory?: string; allocatable?: string; address?: string; name?: string } = {}) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: overrides.name ?? 'lepotato' },
  status: {
    nodeInfo: { architecture: overrides.arch ?? 'arm64', kubeletVersion: 'v1.33.4+k3s1' },
    capacity: { memory: overrides.memory ?? '1990Mi' },
    allocatable: { memory: overrides.allocatable ?? '988Mi' },
    addresses: [{ type: 'Hostname', address: 'lepotato' }, { type: 'InternalIP', address: overrides.address ?? '192.168.1.20' }],
  },
});

describe('k3s version', () => {
  test.each([
    [MIN_K3S_VERSION, true],
    ['v1.32.2+k3s2', true],
    ['v1.33.0+k3s1', true],
    ['v2.0.0+k3s1', true],
    ['v1.32.1+k3s1', false],
    ['v1.31.9+k3s1', false],
    ['v1.34.4', false],
  ])('%s passes: %s', (version, ok) => {
    expect(checkK3sVersion(version).ok).toBe(ok);
  });

  test('the failures say what to do', () => {
    expect(checkK3sVersion('v1.31.9+k3s1').detail).toMatch(/older than v1\.32\.2\+k3s1, the first release that bundles the Traefik v3 chart.*upgrade k3s/);
    expect(checkK3sVersion('v1.34.4').detail).toMatch(/not a k3s release/);
  });
});

describe('Traefik chart', () => {
  const helmChart = (chart: string, version?: string) => ({ apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name: 'traefik', namespace: 'kube-system' }, spec: { chart, ...(version ? { version } : {}) } });
  const url = (file: string) => helmChart(`https://%{KUBERNETES_API}%/static/charts/${file}`);
  const helmChartConfig = (major: string) => ({ apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig', metadata: { name: 'traefik', namespace: 'kube-system', annotations: { 'potatostack.io/traefik-chart': major } } });

  test('the reference is the URL k3s writes, or spec.version for a repository chart', () => {
    expect(traefikChartReference(url('traefik-34.2.1+up34.2.0.tgz'))).toBe('https://%{KUBERNETES_API}%/static/charts/traefik-34.2.1+up34.2.0.tgz');
    expect(traefikChartReference(helmChart('traefik', '37.1.0'))).toBe('37.1.0');
  });

  test.each([
    ['traefik-41.4.2+up41.4.0.tgz', '41', true],
    ['traefik-39.0.701+up39.0.7.tgz', '40', true],
    ['traefik-39.0.701+up39.0.7.tgz', '41', false],
    ['traefik-34.2.1+up34.2.0.tgz', '37', false],
    ['traefik-27.0.201+up27.0.2.tgz', '34', false],
  ])('chart %s with values for %s passes: %s', (file, major, ok) => {
    expect(checkTraefikChart(config, url(file), helmChartConfig(major)).ok).toBe(ok);
  });

  test('the message says what to set; without the HelmChartConfig the config decides', () => {
    expect(checkTraefikChart(config, url('traefik-39.0.701+up39.0.7.tgz'), helmChartConfig('41')).detail).toMatch(/set ingress\.traefikChart to 39 and synthesize again/);
    expect(checkTraefikChart(resolveConfig({ ingress: { traefikChart: 34 } }), url('traefik-34.2.1+up34.2.0.tgz')).ok).toBe(true);
    expect(checkTraefikChart(config, url('traefik-27.0.201+up27.0.2.tgz')).detail).toMatch(/Traefik v2/);
  });

  test('a missing chart fails in Traefik mode, a present one in nginx-proxy-manager mode', () => {
    expect(checkTraefikChart(config, undefined).detail).toMatch(/no HelmChart traefik/);
    const npm = resolveConfig({ ingress: { mode: 'nginx-proxy-manager' } });
    expect(checkTraefikChart(npm, undefined).ok).toBe(true);
    expect(checkTraefikChart(npm, url('traefik-41.4.2+up41.4.0.tgz')).detail).toMatch(/--disable=traefik/);
  });
});

describe('node', () => {
  const reserved = 1002 * 1048576;
  const failures = (nodes: object[]) => checkNode(config, nodes as any, reserved).filter((r) => !r.ok).map((r) => `${r.check}: ${r.detail}`);

  test('the board as configured passes', () => {
    expect(failures([node()])).toEqual([]);
  });

  test('a missing node lists the nodes there are', () => {
    expect(failures([node({ name: 'raspberrypi' })])).toEqual(["node: no node named 'lepotato' (storage.nodeName); the cluster has: raspberrypi"]);
  });

  test('architecture, memory below the node model and an address outside the LAN each fail', () => {
    expect(failures([node({ arch: 'amd64', memory: '1600Mi', allocatable: '598Mi', address: '10.0.0.5' })])).toEqual([
      "architecture: node 'lepotato' is amd64; the stack targets the Le Potato's arm64 (every image is chosen for it)",
      "memory: node 'lepotato' has 1600 MiB (MemTotal), node.memTotal says 1950 MiB: the budget would promise memory the board does not have; set node.memTotal to '1600Mi'",
      "LAN range: node 'lepotato' has address 10.0.0.5, outside network.lanCidr 192.168.1.0/24: the web UIs would answer 403 to your LAN and the API clients could not reach the node; set network.lanCidr to your LAN",
    ]);
  });

  test('a kubelet without the generated reservations fails; Ki rounding does not', () => {
    expect(failures([node({ allocatable: '1890Mi' })])).toEqual([
      "kubelet reservations: node 'lepotato' holds back 100 MiB of its memory (MemTotal - allocatable), the budget expects 1002 MiB: the kubelet does not run with dist/host/k3s/kubelet.yaml; run sh dist/host/setup-host.sh as root on the board and restart k3s (docs/footprint.md)",
    ]);
    expect(failures([node({ memory: '2037760Ki', allocatable: '1011712Ki' })])).toEqual([]);
  });

  test('a node range narrower than the LAN must hold the address too', () => {
    const narrow = resolveConfig({ network: { lanCidr: '192.168.1.0/24', nodeCidr: '192.168.1.0/28' } });
    expect(checkAddress(narrow, 'x', '192.168.1.20').detail).toMatch(/outside network\.nodeCidr 192\.168\.1\.0\/28/);
    expect(checkAddress(narrow, 'x', '192.168.1.2').ok).toBe(true);
  });
});

describe('disks', () => {
  const report = 'disk main /mnt/seconddrive mounted=yes size_kib=488281250 avail_kib=300000000\ndisk cache /mnt/cachehdd mounted=no size_kib=30000000 avail_kib=20000000\n';

  test('the report is parsed, an unmounted disk fails', () => {
    expect(parseDiskReport(report)).toEqual([
      { disk: 'main', path: '/mnt/seconddrive', mounted: true, sizeKiB: 488281250, availKiB: 300000000 },
      { disk: 'cache', path: '/mnt/cachehdd', mounted: false, sizeKiB: 30000000, availKiB: 20000000 },
    ]);
    const results = checkDisks(config, parseDiskReport(report));
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(results[0].detail).toBe('/mnt/seconddrive mounted, 286.1 GiB free of 465.7 GiB');
    expect(results[1].detail).toMatch(/\/mnt\/cachehdd is not a mount point on node 'lepotato': the data would land on the SD card/);
  });

  test('a disk over the critical alert threshold fails, a missing line fails', () => {
    const full = checkDisks(config, parseDiskReport('disk main /mnt/seconddrive mounted=yes size_kib=1000 avail_kib=40\n'));
    expect(full[0].detail).toMatch(/96 % full .* critical above 95 %/);
    expect(full[1].detail).toMatch(/reported nothing for \/mnt\/cachehdd/);
  });

  test('the check pod runs on the storage node with the disks as Directory hostPaths, read-only', () => {
    const pod = diskCheckPod(config, 'p');
    expect(pod.spec.nodeName).toBe('lepotato');
    expect(pod.spec.volumes).toEqual([
      { name: 'proc', hostPath: { path: '/proc', type: 'Directory' } },
      { name: 'main', hostPath: { path: '/mnt/seconddrive', type: 'Directory' } },
      { name: 'cache', hostPath: { path: '/mnt/cachehdd', type: 'Directory' } },
    ]);
    expect(pod.spec.containers[0].volumeMounts.every((m: any) => m.readOnly)).toBe(true);
    expect(pod.spec.containers[0].command).toEqual(['sh', '-c', DISK_CHECK_SCRIPT]);
    expect(pod.spec.containers[0].image).toBe(config.images.busybox);
  });
});
