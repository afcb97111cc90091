import { COMPONENTS, COMPONENT_NAMES, ConfigError, DEFAULT_CONFIG, PROFILES, PotatoStackOverrides, VOLUMES, VolumeSpec, resolveConfig } from '../lib/config';
import { volumeFolderConflicts } from '../lib/config/validate';

function problemsOf(overrides: PotatoStackOverrides): string[] {
  try {
    resolveConfig(overrides);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected the config to be rejected');
}

describe('resolveConfig', () => {
  test('defaults are valid and untouched without overrides', () => {
    const config = resolveConfig();
    expect(config.domain).toBe(DEFAULT_CONFIG.domain);
    expect(config.components.traefik.enabled).toBe(true);
    expect(config.components['nginx-proxy-manager'].enabled).toBe(false);
  });

  test('overrides deep-merge and keep sibling defaults', () => {
    const config = resolveConfig({
      storage: { nodeName: 'lepotato' },
      components: { nextcloud: { containers: { nextcloud: { limits: { cpu: '2', memory: '768Mi' } } } } },
    });
    expect(config.storage).toEqual({ ...DEFAULT_CONFIG.storage, nodeName: 'lepotato' });
    expect(config.components.nextcloud.containers.nextcloud).toEqual({ requests: DEFAULT_CONFIG.components.nextcloud.containers.nextcloud.requests, limits: { cpu: '2', memory: '768Mi' } });
    expect(config.components.nextcloud.containers['nextcloud-cron']).toEqual(DEFAULT_CONFIG.components.nextcloud.containers['nextcloud-cron']);
  });

  test('disks may be mounted below the configured mount roots', () => {
    const config = resolveConfig({ storage: { mountRoots: ['/data'], mainPath: '/data/disk1', cachePath: '/data/disk2' } });
    expect(config.storage.mainPath).toBe('/data/disk1');
  });

  test('ingress mode switches the proxy components', () => {
    const config = resolveConfig({ ingress: { mode: 'nginx-proxy-manager' } });
    expect(config.components.traefik.enabled).toBe(false);
    expect(config.components['nginx-proxy-manager'].enabled).toBe(true);
  });
});

describe('invalid configs fail with the prop, the value and what is allowed', () => {
  const cases: Array<[string, PotatoStackOverrides, RegExp]> = [
    ['relative mount path', { storage: { mainPath: 'mnt/seconddrive' } }, /^storage\.mainPath: 'mnt\/seconddrive' is not allowed; expected the absolute path of a disk's mount point inside \/mnt, \/media, \/srv/],
    ['HDD path on the SD card', { storage: { mainPath: '/var/lib/x' } }, /^storage\.mainPath: '\/var\/lib\/x' is not allowed; expected the absolute path of a disk's mount point inside \/mnt, \/media, \/srv, .*any other folder is on the SD card/],
    ['the root file system', { storage: { cachePath: '/' } }, /^storage\.cachePath: '\/' is not allowed; expected the absolute path of a disk's mount point/],
    ['a mount root itself', { storage: { cachePath: '/mnt' } }, /^storage\.cachePath: '\/mnt' is not allowed/],
    ['a home folder', { storage: { cachePath: '/home/pi/disk' } }, /^storage\.cachePath: '\/home\/pi\/disk' is not allowed/],
    ['dot segments', { storage: { mainPath: '/mnt/../var/x' } }, /^storage\.mainPath: '\/mnt\/\.\.\/var\/x' is not allowed/],
    ['the root as a mount root', { storage: { mountRoots: ['/'] } }, /^storage\.mountRoots\[0\]: '\/' is not allowed; expected an absolute folder other than '\/'/],
    ['no mount roots', { storage: { mountRoots: [] } }, /^storage\.mountRoots: \[\] is not allowed; expected at least one folder/],
    ['a path outside the configured mount roots', { storage: { mountRoots: ['/data'] } }, /^storage\.mainPath: '\/mnt\/seconddrive' is not allowed; expected the absolute path of a disk's mount point inside \/data,/],
    ['node name as a list', { storage: { nodeName: ['potato'] as unknown as string } }, /^storage\.nodeName: \["potato"\] is not allowed; expected a string$/],
    ['mount path as a list', { storage: { mainPath: ['/mnt/a'] as unknown as string } }, /^storage\.mainPath: \["\/mnt\/a"\] is not allowed; expected a string$/],
    ['port as a string', { network: { apiServerPort: '6443' as unknown as number } }, /^network\.apiServerPort: '6443' is not allowed; expected a number$/],
    ['number that is not finite', { node: { concurrentPeaks: Number.NaN } }, /^node\.concurrentPeaks: NaN is not allowed; expected a finite number$/],
    ['list element of the wrong type', { vpn: { serverCountries: ['Netherlands', 7] as unknown as string[] } }, /^vpn\.serverCountries\[1\]: 7 is not allowed; expected a string$/],
    ['list given as a string', { storage: { mountRoots: '/mnt' as unknown as string[] } }, /^storage\.mountRoots: '\/mnt' is not allowed; expected a list$/],
    ['switch given as a string', { monitoring: { smart: 'yes' as unknown as boolean } }, /^monitoring\.smart: 'yes' is not allowed; expected true or false$/],
    ['object where a string belongs', { domain: { name: 'x' } as unknown as string }, /^domain: \{"name":"x"\} is not allowed; expected a string$/],
    ['null where a string belongs', { timezone: null as unknown as string }, /^timezone: null is not allowed; expected a string$/],
    ['container size of the wrong type', { components: { gitea: { containers: { gitea: { limits: { cpu: 1 as unknown as string, memory: '256Mi' } } } } } }, /^components\.gitea\.containers\.gitea\.limits\.cpu: 1 is not allowed; expected a string$/],
    ['trailing slash', { storage: { cachePath: '/mnt/cachehdd/' } }, /^storage\.cachePath: '\/mnt\/cachehdd\/' is not allowed/],
    ['same disk twice', { storage: { cachePath: '/mnt/seconddrive/cache' } }, /^storage\.cachePath: .*separate from storage\.mainPath/],
    ['unknown component', { components: { jellyfin: { enabled: true } } as PotatoStackOverrides['components'] }, /^components\.jellyfin: unknown setting; expected one of: traefik, .*homepage/],
    ['unknown top-level prop (typo)', { storge: {} } as PotatoStackOverrides, /^storge: unknown setting; expected one of: profile, domain, timezone, storage/],
    ['unknown container of a component', { components: { gitea: { containers: { runner: { requests: { cpu: '1m', memory: '1Mi' }, limits: { cpu: '1m', memory: '1Mi' } } } } } }, /^components\.gitea\.containers\.runner: 'runner' is not allowed; expected one of the component's containers: gitea/],
    ['malformed memory quantity', { components: { gitea: { containers: { gitea: { limits: { cpu: '1', memory: '256MB' } } } } } }, /^components\.gitea\.containers\.gitea\.limits\.memory: '256MB' is not allowed; expected a memory quantity such as 64Mi/],
    ['malformed CPU quantity', { components: { gitea: { containers: { gitea: { requests: { cpu: 'half', memory: '64Mi' } } } } } }, /^components\.gitea\.containers\.gitea\.requests\.cpu: 'half' is not allowed; expected a CPU quantity/],
    ['request above limit', { components: { gitea: { containers: { gitea: { requests: { cpu: '25m', memory: '512Mi' } } } } } }, /^components\.gitea\.containers\.gitea\.requests\.memory: '512Mi' is not allowed; expected at most the limit \('272Mi'\)/],
    ['CIDR with host bits', { network: { podCidr: '10.42.0.1/16' } }, /^network\.podCidr: '10\.42\.0\.1\/16' is not allowed; expected an IPv4 CIDR/],
    ['not a CIDR at all', { network: { lanCidr: '192.168.178.0' } }, /^network\.lanCidr: '192\.168\.178\.0' is not allowed; expected an IPv4 CIDR/],
    ['bad domain', { domain: 'Potato_LAN' }, /^domain: 'Potato_LAN' is not allowed; expected a lowercase DNS domain/],
    ['bad time zone', { timezone: 'Mars/Olympus' }, /^timezone: 'Mars\/Olympus' is not allowed; expected an IANA time zone/],
    ['unknown ingress mode', { ingress: { mode: 'caddy' as 'traefik' } }, /^ingress\.mode: 'caddy' is not allowed; expected 'traefik' or 'nginx-proxy-manager'/],
    ['floating image tag', { images: { gitea: 'docker.io/gitea/gitea:latest' } }, /^images\.gitea: 'docker\.io\/gitea\/gitea:latest' is not allowed; expected an exact version tag/],
    ['image without tag', { images: { mariadb: 'docker.io/library/mariadb' } }, /^images\.mariadb: 'docker\.io\/library\/mariadb' is not allowed; expected a full reference with an exact tag/],
    ['unknown image', { images: { jellyfin: 'docker.io/jellyfin/jellyfin:10.10.7' } } as PotatoStackOverrides, /^images\.jellyfin: unknown setting/],
    ['dependency disabled', { components: { mariadb: { enabled: false } } }, /^components\.mariadb\.enabled: false is not allowed; expected true while components\.nextcloud\.enabled is true/],
    ['ingress flag against the mode', { components: { traefik: { enabled: false } } }, /^components\.traefik\.enabled: false is not allowed; expected true \(it follows ingress\.mode 'traefik'/],
    ['API port out of range', { network: { apiServerPort: 70000 } }, /^network\.apiServerPort: 70000 is not allowed; expected a TCP port/],
    ['no concurrent peak', { node: { concurrentPeaks: 0 } }, /^node\.concurrentPeaks: 0 is not allowed; expected a whole number of at least 1/],
    ['zram ratio below one', { node: { zram: { compressionRatio: 0.5 } } }, /^node\.zram\.compressionRatio: 0\.5 is not allowed; expected a ratio from 1/],
    ['MemTotal in megabytes by mistake', { node: { memTotal: '1950MB' } }, /^node\.memTotal: '1950MB' is not allowed; expected a memory quantity/],
    ['unknown profile', { profile: 'tiny' as 'full' }, /^profile: 'tiny' is not allowed; expected one of: board-2gb, full/],
    ['internet switch not boolean', { nextcloud: { internetAccess: 'yes' as unknown as boolean } }, /^nextcloud\.internetAccess: 'yes' is not allowed; expected true or false/],
    ['enabled flag not boolean', { components: { dozzle: { enabled: 'yes' as unknown as boolean } } }, /^components\.dozzle\.enabled: 'yes' is not allowed; expected true or false/],
  ];

  test.each(cases)('%s', (_name, overrides, expected) => {
    const problems = problemsOf(overrides);
    expect(problems.some((p) => expected.test(p))).toBe(true);
  });

  test('every problem is reported at once, and the error message lists them', () => {
    try {
      resolveConfig({ domain: 'x', timezone: 'Nowhere/None', network: { podCidr: 'bad' } });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(3);
      expect((error as Error).message).toMatch(/^invalid PotatoStack config:\n {2}- domain: 'x'/);
    }
  });
});

describe('the generic type check covers every prop', () => {
  /** Every leaf prop of the defaults with a value of the wrong type for it. */
  function wrongTypedLeaves(value: unknown, prop: string[] = []): Array<[string, unknown]> {
    if (value === undefined) return [];
    if (Array.isArray(value)) return [[prop.join('.'), 'not-a-list']];
    if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([key, child]) => wrongTypedLeaves(child, [...prop, key]));
    return [[prop.join('.'), typeof value === 'string' ? [value] : String(value)]];
  }
  const leaves = wrongTypedLeaves(DEFAULT_CONFIG);

  test('the walk finds the props of every section', () => {
    expect(leaves.length).toBeGreaterThan(150);
    for (const prop of ['domain', 'storage.nodeName', 'network.apiServerPort', 'vpn.serverCountries', 'components.gitea.enabled', 'monitoring.alerts.telegram.chatId']) {
      expect(leaves.map(([p]) => p)).toContain(prop);
    }
  });

  test.each(leaves)('%s', (prop, wrong) => {
    const overrides: Record<string, unknown> = {};
    const keys = prop.split('.');
    let node = overrides;
    for (const key of keys.slice(0, -1)) node = (node[key] = {}) as Record<string, unknown>;
    node[keys[keys.length - 1]] = wrong;
    expect(problemsOf(overrides as PotatoStackOverrides).filter((p) => p.startsWith(`${prop}: `))).toHaveLength(1);
  });
});

describe('host folders of the volumes', () => {
  const storage = { mainPath: '/mnt/main', cachePath: '/mnt/cache' };
  const volume = (name: string, folder: string, uid: number, extra: Partial<VolumeSpec> = {}): VolumeSpec => ({
    name, component: 'gitea', zone: 'apps', disk: 'main', folder, capacity: '1Gi', uid, gid: uid, mode: '0750', ...extra,
  });

  test('the shipped layout has no conflicts', () => {
    expect(volumeFolderConflicts(VOLUMES, DEFAULT_CONFIG.storage)).toEqual([]);
  });

  test('two volumes on one folder with different owners are named both', () => {
    const problems = volumeFolderConflicts([volume('app-a', 'shared', 1000), volume('app-b', 'shared', 33)], storage);
    expect(problems).toEqual([
      { prop: 'volume app-b', value: '/mnt/main/shared', allowed: "a host folder of its own: it is the same host folder as volume app-a ('/mnt/main/shared'), with a different owner (33:33 mode 0750 vs 1000:1000 mode 0750)" },
    ]);
  });

  test('a folder inside another volume with a different owner conflicts too; the same owner, a read-only volume or another disk does not', () => {
    expect(volumeFolderConflicts([volume('outer', 'x', 1000), volume('inner', 'x/y', 33)], storage).map((p) => p.allowed)).toEqual([
      expect.stringContaining("nested with that of volume outer ('/mnt/main/x')"),
    ]);
    expect(volumeFolderConflicts([volume('a', 'x', 1000), volume('b', 'x', 1000)], storage)).toEqual([]);
    expect(volumeFolderConflicts([volume('all', '', 0, { readOnly: true }), volume('b', 'x', 1000)], storage)).toEqual([]);
    expect(volumeFolderConflicts([volume('a', 'x', 1000), volume('b', 'x', 33, { disk: 'cache' })], storage)).toEqual([]);
  });

  test('a folder that leaves its disk is refused', () => {
    expect(volumeFolderConflicts([volume('escape', '../etc', 0)], storage)[0]).toMatchObject({ prop: 'volume escape', value: '../etc' });
    expect(volumeFolderConflicts([volume('absolute', '/etc', 0)], storage)[0]).toMatchObject({ prop: 'volume absolute', value: '/etc' });
  });

  test('synth fails on a conflicting layout, naming both volumes', () => {
    jest.isolateModules(() => {
      jest.doMock('../lib/config/volumes', () => {
        const actual = jest.requireActual('../lib/config/volumes');
        return { ...actual, VOLUMES: [...actual.VOLUMES, volume('gitea-extra', 'nextcloud', 1000)] };
      });
      const config = require('../lib/config') as typeof import('../lib/config');
      expect(() => config.resolveConfig()).toThrow(/volume gitea-extra: '\/mnt\/seconddrive\/nextcloud' is not allowed; expected a host folder of its own: it is the same host folder as volume nextcloud-data/);
    });
    jest.dontMock('../lib/config/volumes');
  });
});

describe('profiles', () => {
  test('board-2gb, the default, leaves out what it says, and the operator can turn each back on', () => {
    const config = resolveConfig();
    expect(config.profile).toBe('board-2gb');
    for (const component of PROFILES['board-2gb'].leavesOut) expect([component, config.components[component].enabled]).toEqual([component, false]);
    expect(resolveConfig({ components: { homepage: { enabled: true } } }).components.homepage.enabled).toBe(true);
  });

  test('full turns every component on that is on by default', () => {
    const config = resolveConfig({ profile: 'full' });
    for (const name of COMPONENT_NAMES) expect([name, config.components[name].enabled]).toEqual([name, COMPONENTS[name].enabledByDefault && (name !== 'nginx-proxy-manager')]);
  });
});
