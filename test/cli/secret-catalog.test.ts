import { resolveConfig } from '../../lib/config';
import { secretReferences } from '../../lib/docs';
import { buildApp, manifestsOf } from '../../lib/stack';
import { requiredSecrets, secretCatalog, secretProblems, type RequiredSecret } from '../../cli/shared/secret-catalog';
import { STACK_VARIANTS } from './variants';

describe.each(STACK_VARIANTS)('every Secret the %s stack reads has a generator for each key', (_name, overrides) => {
  const config = resolveConfig(overrides);
  const refs = secretReferences(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));

  test('requiredSecrets fills every reference', () => {
    expect(refs.length).toBeGreaterThan(5);
    const required = requiredSecrets(config, refs);
    for (const ref of refs) {
      const secret = required.find((r) => r.namespace === ref.namespace && r.name === ref.name)!;
      expect(Object.keys(secret.keys).length).toBeGreaterThan(0);
      for (const key of ref.keys) expect([ref.name, key, key in secret.keys]).toEqual([ref.name, key, true]);
    }
  });
});

test('a reference the catalog does not know is named', () => {
  const config = resolveConfig();
  expect(() => requiredSecrets(config, [{ namespace: 'apps', name: 'jellyfin', keys: ['api-key'], usedBy: ['jellyfin'] }])).toThrow(/no generator for apps\/jellyfin: add it to cli\/shared\/secret-catalog\.ts/);
  expect(() => requiredSecrets(config, [{ namespace: 'apps', name: 'kopia', keys: ['new-key'], usedBy: ['kopia'] }])).toThrow(/apps\/kopia key new-key/);
});

test('configurable Secret names follow the config', () => {
  const config = resolveConfig({ ingress: { tlsSecretName: 'home-tls' }, monitoring: { grafanaAdminSecret: 'grafana-login' } });
  const names = secretCatalog(config).map((s) => `${s.namespace}/${s.name}`);
  expect(names).toEqual(expect.arrayContaining(['kube-system/home-tls', 'monitoring/grafana-login']));
});

describe('secretProblems', () => {
  const required: RequiredSecret[] = [
    { namespace: 'apps', name: 'nextcloud-db', keys: { password: { kind: 'random', bytes: 24, encoding: 'base64url', group: 'nextcloud-db' } }, usedBy: ['nextcloud'] },
    {
      namespace: 'data',
      name: 'nextcloud-db',
      keys: { password: { kind: 'random', bytes: 24, encoding: 'base64url', group: 'nextcloud-db' }, 'root-password': { kind: 'random', bytes: 24, encoding: 'base64url' } },
      usedBy: ['mariadb'],
    },
  ];

  test('nothing to report when every key exists and shared values match', () => {
    const existing = new Map<string, Record<string, string>>([
      ['apps/nextcloud-db', { password: 'same' }],
      ['data/nextcloud-db', { password: 'same', 'root-password': 'r' }],
    ]);
    expect(secretProblems(required, existing)).toEqual([]);
  });

  test('a missing Secret, a missing key and a shared password that differs are each named', () => {
    expect(secretProblems(required, new Map())).toEqual([
      'Secret apps/nextcloud-db is missing (keys password; read by nextcloud)',
      'Secret data/nextcloud-db is missing (keys password, root-password; read by mariadb)',
    ]);
    expect(secretProblems(required, new Map<string, Record<string, string>>([['apps/nextcloud-db', { password: 'a' }], ['data/nextcloud-db', { password: 'b', 'root-password': '' }]]))).toEqual([
      'Secret data/nextcloud-db lacks key root-password (read by mariadb)',
      'apps/nextcloud-db key password and data/nextcloud-db key password must hold the same value, and do not',
    ]);
  });
});
