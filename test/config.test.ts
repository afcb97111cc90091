import { COMPONENTS, COMPONENT_NAMES, ConfigError, DEFAULT_CONFIG, PROFILES, PotatoStackOverrides, resolveConfig } from '../lib/config';

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

  test('ingress mode switches the proxy components', () => {
    const config = resolveConfig({ ingress: { mode: 'nginx-proxy-manager' } });
    expect(config.components.traefik.enabled).toBe(false);
    expect(config.components['nginx-proxy-manager'].enabled).toBe(true);
  });
});

describe('invalid configs fail with the prop, the value and what is allowed', () => {
  const cases: Array<[string, PotatoStackOverrides, RegExp]> = [
    ['relative mount path', { storage: { mainPath: 'mnt/seconddrive' } }, /^storage\.mainPath: 'mnt\/seconddrive' is not allowed; expected an absolute mount point/],
    ['trailing slash', { storage: { cachePath: '/mnt/cachehdd/' } }, /^storage\.cachePath: '\/mnt\/cachehdd\/' is not allowed/],
    ['same disk twice', { storage: { cachePath: '/mnt/seconddrive/cache' } }, /^storage\.cachePath: .*separate from storage\.mainPath/],
    ['unknown component', { components: { jellyfin: { enabled: true } } as PotatoStackOverrides['components'] }, /^components\.jellyfin: unknown setting; expected one of: traefik, .*homepage/],
    ['unknown top-level prop (typo)', { storge: {} } as PotatoStackOverrides, /^storge: unknown setting; expected one of: profile, domain, timezone, storage/],
    ['unknown container of a component', { components: { gitea: { containers: { runner: { requests: { cpu: '1m', memory: '1Mi' }, limits: { cpu: '1m', memory: '1Mi' } } } } } }, /^components\.gitea\.containers\.runner: 'runner' is not allowed; expected one of the component's containers: gitea/],
    ['malformed memory quantity', { components: { gitea: { containers: { gitea: { limits: { cpu: '1', memory: '256MB' } } } } } }, /^components\.gitea\.containers\.gitea\.limits\.memory: '256MB' is not allowed; expected a memory quantity such as 64Mi/],
    ['malformed CPU quantity', { components: { gitea: { containers: { gitea: { requests: { cpu: 'half', memory: '64Mi' } } } } } }, /^components\.gitea\.containers\.gitea\.requests\.cpu: 'half' is not allowed; expected a CPU quantity/],
    ['request above limit', { components: { gitea: { containers: { gitea: { requests: { cpu: '25m', memory: '512Mi' } } } } } }, /^components\.gitea\.containers\.gitea\.requests\.memory: '512Mi' is not allowed; expected at most the limit \('240Mi'\)/],
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
