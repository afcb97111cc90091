import { PotatoStackOverrides } from '../lib/config';
import { NON_PUBLIC_IPV4 } from '../lib/config/cidr';
import { INCOMPLETE_FOLDERS, cacheCleanupScript, cleanupMountPath } from '../lib/apps/vpn/cache-cleanup';
import { GLUETUN_HEALTH_PORT } from '../lib/apps/vpn/gluetun';
import { QBITTORRENT_CONF, iniEditScript, qbittorrentSettings } from '../lib/apps/vpn/qbittorrent';
import { dotnetHeapHardLimit } from '../lib/apps/vpn/slskd';
import { VPN_POD } from '../lib/names';
import { Manifest, find, fullConfig, synthFull, synthChartsFull } from './helpers';

const objects = synthFull();
const pod = find(objects, 'Deployment', VPN_POD, 'vpn').spec.template.spec;
const container = (spec: any, name: string) => [...(spec.initContainers ?? []), ...spec.containers].find((c: any) => c.name === name);
const env = (c: any) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));

function vpnPolicies(all: Manifest[]): Manifest[] {
  return all.filter((o) => {
    if (o.kind !== 'NetworkPolicy' || o.metadata.namespace !== 'vpn') return false;
    const sel = o.spec.podSelector;
    if (sel.matchLabels) return sel.matchLabels['app.kubernetes.io/name'] === VPN_POD;
    // expression selectors: selects the pod unless it excludes the name
    return !(sel.matchExpressions ?? []).some((e: any) => e.key === 'app.kubernetes.io/name' && e.operator === 'NotIn' && e.values.includes(VPN_POD));
  });
}

function portOf(c: any, name: string | number): number {
  return typeof name === 'number' ? name : c.ports.find((p: any) => p.name === name).containerPort;
}

describe('killswitch layer 1: gluetun owns the pod network before anything else runs', () => {
  test('gluetun is the only native sidecar, after the run-to-completion prepare step; the apps are regular containers', () => {
    expect(pod.initContainers.map((c: any) => [c.name, c.restartPolicy])).toEqual([
      ['prepare', undefined],
      ['gluetun', 'Always'],
    ]);
    expect(pod.containers.map((c: any) => [c.name, c.restartPolicy])).toEqual([
      ['qbittorrent', undefined],
      ['slskd', undefined],
    ]);
  });

  test('the startup and liveness probes hit the health server on :9999, which listens on all addresses', () => {
    const gluetun = container(pod, 'gluetun');
    for (const probe of [gluetun.startupProbe, gluetun.livenessProbe]) {
      expect(probe.httpGet.path).toBe('/');
      expect(portOf(gluetun, probe.httpGet.port)).toBe(GLUETUN_HEALTH_PORT);
    }
    expect(env(gluetun).HEALTH_SERVER_ADDRESS).toBe(`:${GLUETUN_HEALTH_PORT}`);
    // the apps wait for the startup probe: it must allow minutes for the first handshake
    expect(gluetun.startupProbe.periodSeconds * gluetun.startupProbe.failureThreshold).toBeGreaterThanOrEqual(120);
  });

  test('firewall input ports are exactly the web UI ports plus the health port; outbound subnets are the cluster ranges', () => {
    const gluetun = container(pod, 'gluetun');
    const webPorts = pod.containers.flatMap((c: any) => c.ports.map((p: any) => p.containerPort));
    expect(env(gluetun).FIREWALL_INPUT_PORTS.split(',').map(Number).sort()).toEqual([...webPorts, GLUETUN_HEALTH_PORT].sort());
    expect(env(gluetun).FIREWALL_OUTBOUND_SUBNETS).toBe('10.42.0.0/16,10.43.0.0/16');
    const custom = find(synthFull({ network: { podCidr: '10.52.0.0/16', serviceCidr: '10.53.0.0/16' } }), 'Deployment', VPN_POD).spec.template.spec;
    expect(env(container(custom, 'gluetun')).FIREWALL_OUTBOUND_SUBNETS).toBe('10.52.0.0/16,10.53.0.0/16');
  });

  test('NET_ADMIN and NET_RAW only, the TUN device from the host, stale routing rules removed at start', () => {
    const gluetun = container(pod, 'gluetun');
    expect(gluetun.securityContext.privileged).toBeUndefined();
    expect(gluetun.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'NET_RAW'] });
    expect(gluetun.securityContext.readOnlyRootFilesystem).toBe(true);
    const tun = pod.volumes.find((v: any) => v.hostPath);
    expect(tun.hostPath).toEqual({ path: '/dev/net/tun', type: 'CharDevice' });
    expect(gluetun.volumeMounts).toContainEqual({ name: tun.name, mountPath: '/dev/net/tun' });
    expect(gluetun.lifecycle.postStart.exec.command.join(' ')).toContain('ip rule del table 51820');
    // only gluetun gets the device and extra capabilities
    for (const c of pod.containers) {
      expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'] });
      expect((c.volumeMounts ?? []).map((m: any) => m.name)).not.toContain(tun.name);
    }
  });

  test('the pod resolves through gluetun only: dnsPolicy None with 127.0.0.1', () => {
    expect(pod.dnsPolicy).toBe('None');
    expect(pod.dnsConfig.nameservers).toEqual(['127.0.0.1']);
  });

  test('qBittorrent is bound to tun0 and downloads to the cache HDD folders', () => {
    const settings = Object.fromEntries(qbittorrentSettings().map((s) => [`${s.section}/${s.key}`, s.value]));
    expect(settings['BitTorrent/Session\\Interface']).toBe('tun0');
    expect(settings['BitTorrent/Session\\InterfaceName']).toBe('tun0');
    expect(settings['BitTorrent/Session\\TempPath']).toBe('/downloads/incomplete');
    // pread/pwrite disk I/O instead of libtorrent 2's memory-mapped files (page cache counted in the working set)
    expect(settings['BitTorrent/Session\\DiskIOType']).toBe('SimplePreadPwrite');
    const prepare = container(pod, 'prepare');
    expect(prepare.command[2]).toContain(iniEditScript(QBITTORRENT_CONF, qbittorrentSettings()));
    expect(container(pod, 'qbittorrent').volumeMounts).toContainEqual({ name: 'torrents', mountPath: '/downloads' });
    expect(pod.volumes.find((v: any) => v.name === 'torrents').persistentVolumeClaim.claimName).toBe('torrents');
  });
});

describe('killswitch layer 2: NetworkPolicy', () => {
  const policies = vpnPolicies(objects);

  test('egress is only the WireGuard port over UDP, to public addresses', () => {
    const rules = policies.flatMap((p) => p.spec.egress ?? []);
    expect(rules).toHaveLength(1);
    expect(rules[0].ports).toEqual([{ port: 51820, protocol: 'UDP' }]);
    expect(rules[0].to).toHaveLength(1);
    expect(rules[0].to[0].ipBlock.cidr).toBe('0.0.0.0/0');
    expect(rules[0].to[0].ipBlock.except).toEqual(expect.arrayContaining(NON_PUBLIC_IPV4));
  });

  test('OpenVPN opens its own port and protocol instead', () => {
    const rules = vpnPolicies(synthFull({ vpn: { type: 'openvpn', openvpnProtocol: 'tcp', openvpnPort: 1443 } })).flatMap((p) => p.spec.egress ?? []);
    expect(rules.map((r: any) => r.ports)).toEqual([[{ port: 1443, protocol: 'TCP' }]]);
  });

  test('no DNS: the zone DNS policy excludes the pod and no policy for it opens port 53', () => {
    const platform = synthChartsFull()['00-platform'];
    const dns = platform.find((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'vpn' && JSON.stringify(o.spec.egress ?? []).includes('"port":53'));
    expect(dns).toBeDefined();
    expect(dns!.spec.podSelector.matchExpressions).toContainEqual({ key: 'app.kubernetes.io/name', operator: 'NotIn', values: [VPN_POD] });
    expect(vpnPolicies(objects).map((p) => p.metadata.name)).not.toContain(dns!.metadata.name);
    const opened = policies.flatMap((p) => p.spec.egress ?? []).flatMap((r: any) => r.ports.map((port: any) => port.port));
    expect(opened).not.toContain(53);
  });

  test('no route to the cluster, `data` or the LAN: egress peers are address blocks that except them', () => {
    const config = fullConfig();
    const peers = policies.flatMap((p) => p.spec.egress ?? []).flatMap((r: any) => r.to);
    for (const peer of peers) {
      expect(peer.namespaceSelector).toBeUndefined();
      expect(peer.podSelector).toBeUndefined();
    }
    // every configured private range sits inside an excepted block
    const inside = (cidr: string) => peers.every((p: any) => p.ipBlock.except.some((e: string) => e === cidr || NON_PUBLIC_IPV4.includes(e) && sameOrWithin(cidr, e)));
    for (const cidr of [config.network.podCidr, config.network.serviceCidr, config.network.lanCidr]) expect([cidr, inside(cidr)]).toEqual([cidr, true]);
    // an operator with public-looking cluster ranges gets them excepted too
    const odd = vpnPolicies(synthFull({ network: { podCidr: '21.42.0.0/16' } })).flatMap((p) => p.spec.egress ?? []);
    expect(odd[0].to[0].ipBlock.except).toContain('21.42.0.0/16');
  });

  test('ingress from the ingress controller to the two web UIs; nothing may reach another port of the pod', () => {
    // other zones' watchers (uptime-kuma, homepage) add their own rules to the web ports only
    const opened = policies.flatMap((p) => p.spec.ingress ?? []).flatMap((r: any) => r.ports.map((port: any) => port.port));
    expect([...new Set(opened)].sort()).toEqual([5030, 8080]);
    const rules = find(objects, 'NetworkPolicy', 'vpn-from-proxy', 'vpn').spec.ingress;
    expect(rules).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } } }],
        ports: [
          { port: 8080, protocol: 'TCP' },
          { port: 5030, protocol: 'TCP' },
        ],
      },
    ]);
    const npm = find(synthFull({ ingress: { mode: 'nginx-proxy-manager' } }), 'NetworkPolicy', 'vpn-from-proxy', 'vpn').spec.ingress;
    expect(npm[0].from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dmz' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nginx-proxy-manager' } } }]);
  });
});

function sameOrWithin(inner: string, outer: string): boolean {
  const range = (c: string) => {
    const [a, p] = c.split('/');
    const start = a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    return [start, start + 2 ** (32 - Number(p)) - 1];
  };
  const [a, b] = range(inner);
  const [c, d] = range(outer);
  return a >= c && b <= d;
}

describe('credentials come from Secrets, never from dist/', () => {
  const secretRefs = (spec: any) =>
    [...spec.initContainers, ...spec.containers].flatMap((c: any) => (c.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => [c.name, e.valueFrom.secretKeyRef]));

  test('WireGuard key and addresses from vpn-credentials, logins and JWT key from slskd, all required', () => {
    const refs = secretRefs(pod);
    expect(refs.map(([c, r]: any) => `${c}:${r.name}/${r.key}`).sort()).toEqual(
      [
        'gluetun:vpn-credentials/WIREGUARD_ADDRESSES',
        'gluetun:vpn-credentials/WIREGUARD_PRIVATE_KEY',
        'slskd:slskd/SLSKD_JWT_KEY',
        'slskd:slskd/SLSKD_PASSWORD',
        'slskd:slskd/SLSKD_SLSK_PASSWORD',
        'slskd:slskd/SLSKD_SLSK_USERNAME',
        'slskd:slskd/SLSKD_USERNAME',
      ].sort(),
    );
    for (const [, ref] of refs) expect(ref.optional).toBe(false);
  });

  test('OpenVPN takes user and password instead, and the port only where gluetun accepts one', () => {
    const surfshark = find(synthFull({ vpn: { type: 'openvpn' } }), 'Deployment', VPN_POD).spec.template.spec;
    const gluetun = env(container(surfshark, 'gluetun'));
    expect(Object.keys(gluetun).filter((k) => /^(WIREGUARD|OPENVPN)_/.test(k)).sort()).toEqual(['OPENVPN_PASSWORD', 'OPENVPN_PROTOCOL', 'OPENVPN_USER']);
    const mullvad = find(synthFull({ vpn: { provider: 'mullvad', type: 'openvpn', openvpnPort: 443 } }), 'Deployment', VPN_POD).spec.template.spec;
    expect(env(container(mullvad, 'gluetun')).OPENVPN_ENDPOINT_PORT).toBe('443');
  });
});

describe('slskd heap', () => {
  test('DOTNET_GCHeapHardLimit is three quarters of the configured limit, in hex', () => {
    expect(env(container(pod, 'slskd')).DOTNET_GCHeapHardLimit).toBe(dotnetHeapHardLimit(fullConfig().components.slskd.containers.slskd));
    expect(dotnetHeapHardLimit({ requests: { cpu: '1', memory: '1Mi' }, limits: { cpu: '1', memory: '256Mi' } })).toBe('0xC000000');
    const bigger: PotatoStackOverrides = { components: { slskd: { containers: { slskd: { requests: { cpu: '25m', memory: '64Mi' }, limits: { cpu: '500m', memory: '512Mi' } } } } } };
    const spec = find(synthFull(bigger), 'Deployment', VPN_POD).spec.template.spec;
    expect(env(container(spec, 'slskd')).DOTNET_GCHeapHardLimit).toBe('0x18000000');
  });
});

describe('download cache cleanup', () => {
  const job = find(objects, 'CronJob', 'cache-cleanup', 'vpn');
  const spec = job.spec.jobTemplate.spec.template.spec;

  test('weekly, and the container sees only the incomplete folders (subPath), so completed downloads are out of reach', () => {
    expect(job.spec.schedule).toBe('30 4 * * 0');
    const mounts = spec.containers[0].volumeMounts;
    expect(mounts.map((m: any) => [m.name, m.subPath])).toEqual(INCOMPLETE_FOLDERS.map((f) => [f.claim, 'incomplete']));
    const script: string = spec.containers[0].command[2];
    expect(script).toContain(`for dir in ${INCOMPLETE_FOLDERS.map((f) => `'${cleanupMountPath(f)}'`).join(' ')};`);
    // completed downloads live in torrents/complete, soulseek/downloads and soulseek/shared
    expect(script).not.toMatch(/(?<![a-z])complete|downloads|shared/);
  });

  test('age and dry run come from the config; a dry run never deletes', () => {
    const live = cacheCleanupScript({ directories: ['/x'], maxAgeDays: 14, dryRun: false });
    const dry = cacheCleanupScript({ directories: ['/x'], maxAgeDays: 30, dryRun: true });
    expect(live).toMatch(/-exec rm -f \{\} \+/);
    expect(dry).not.toMatch(/-delete|\brm\b|rmdir/);
    expect(dry).toContain('age=30');
    const configured = find(synthFull({ vpn: { cleanup: { dryRun: true, maxAgeDays: 7 } } }), 'CronJob', 'cache-cleanup').spec.jobTemplate.spec.template.spec;
    expect(configured.containers[0].command[2]).not.toMatch(/-delete|\brm\b|rmdir/);
    expect(configured.containers[0].command[2]).toContain('age=7');
  });
});

describe('config validation', () => {
  test.each<[string, PotatoStackOverrides, RegExp]>([
    ['unknown provider', { vpn: { provider: 'surfsharkk' } }, /^vpn\.provider: 'surfsharkk' is not allowed; expected one of gluetun's providers: .*surfshark/],
    ['WireGuard where gluetun has none', { vpn: { provider: 'cyberghost' } }, /^vpn\.type: 'wireguard' is not allowed; expected 'openvpn' for provider 'cyberghost'/],
    ['TCP where gluetun has only UDP', { vpn: { provider: 'ipvanish', type: 'openvpn', openvpnProtocol: 'tcp' } }, /^vpn\.openvpnProtocol: 'tcp' is not allowed; expected 'udp' for provider 'ipvanish'/],
    ['port out of range', { vpn: { wireguardPort: 70000 } }, /^vpn\.wireguardPort: 70000 is not allowed; expected a port between 1 and 65535/],
    ['country with a comma', { vpn: { serverCountries: ['Netherlands,Germany'] } }, /^vpn\.serverCountries: .* is not allowed; expected a list of country names/],
    ['bad schedule', { vpn: { cleanup: { schedule: 'weekly' } } }, /^vpn\.cleanup\.schedule: 'weekly' is not allowed; expected a five-field cron schedule/],
    ['zero days', { vpn: { cleanup: { maxAgeDays: 0 } } }, /^vpn\.cleanup\.maxAgeDays: 0 is not allowed; expected a whole number of days/],
  ])('%s', (_name, overrides, message) => {
    try {
      fullConfig(overrides);
      throw new Error('accepted');
    } catch (e: any) {
      expect(e.problems).toEqual([expect.stringMatching(message)]);
    }
  });

  test('cyberghost over OpenVPN is fine', () => {
    expect(() => fullConfig({ vpn: { provider: 'cyberghost', type: 'openvpn' } })).not.toThrow();
  });
});

test('with the component off, the chart renders nothing', () => {
  expect(synthChartsFull({ components: { vpn: { enabled: false }, slskd: { enabled: false } } })['40-vpn']).toEqual([]);
});

describe('slskd switched off', () => {
  const objects = synthFull({ components: { slskd: { enabled: false } } });
  const spec = find(objects, 'Deployment', VPN_POD, 'vpn').spec.template.spec;

  test('the pod runs qBittorrent alone, with no Soulseek volume, port or Secret', () => {
    expect(spec.containers.map((c: any) => c.name)).toEqual(['qbittorrent']);
    expect(spec.volumes.map((v: any) => v.name)).not.toContain('soulseek');
    expect(JSON.stringify(spec)).not.toContain('slskd');
    expect(objects.filter((o) => o.kind === 'PersistentVolume').map((o) => o.metadata.name)).not.toContain('soulseek');
    expect(objects.filter((o) => o.kind === 'Ingress').map((o) => o.metadata.name)).not.toContain('slskd');
  });

  test("gluetun's firewall and the policy open only qBittorrent's web port", () => {
    const gluetun = spec.initContainers.find((c: any) => c.name === 'gluetun');
    expect(env(gluetun).FIREWALL_INPUT_PORTS).toBe('8080,9999');
    const fromProxy = find(objects, 'NetworkPolicy', 'vpn-from-proxy', 'vpn');
    expect(fromProxy.spec.ingress[0].ports.map((p: any) => p.port)).toEqual([8080]);
  });

  test('the cache cleanup mounts only the torrents folder', () => {
    const job = find(objects, 'CronJob', 'cache-cleanup', 'vpn').spec.jobTemplate.spec.template.spec;
    expect(job.volumes.map((v: any) => v.name)).toEqual(['torrents']);
  });
});
