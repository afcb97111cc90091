import { ConfigError, PotatoStackOverrides, resolveConfig } from '../lib/config';

function problems(overrides: PotatoStackOverrides): string[] {
  try {
    resolveConfig(overrides);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
}

const URL = 'https://git.example.org/me/potato.git';

test('defaults: GitOps off, no repository needed, the Flux component off', () => {
  const config = resolveConfig();
  expect([config.gitops.flux.enabled, config.gitops.argocd.enabled, config.components.flux.enabled]).toEqual([false, false, false]);
});

test('the Flux component follows gitops.flux.enabled', () => {
  expect(resolveConfig({ gitops: { repository: { url: URL }, flux: { enabled: true } }, profile: 'full', node: { memTotal: '4Gi' } }).components.flux.enabled).toBe(true);
  expect(problems({ components: { flux: { enabled: true } } })).toEqual([
    "components.flux.enabled: true is not allowed; expected false (it follows gitops.flux.enabled; change that instead)",
  ]);
});

test.each([
  [{ flux: { enabled: true } }, "gitops.repository.url: '' is not allowed; expected the repository's clone URL"],
  [{ repository: { url: 'github.com/me/potato' }, argocd: { enabled: true, destinationServer: 'https://10.0.0.1:6443' } }, "gitops.repository.url: 'github.com/me/potato' is not allowed"],
  [{ repository: { branch: 'feature..x' } }, "gitops.repository.branch: 'feature..x' is not allowed; expected a Git branch name"],
  [{ repository: { path: './dist' } }, "gitops.repository.path: './dist' is not allowed"],
  [{ repository: { path: '../dist' } }, "gitops.repository.path: '../dist' is not allowed"],
  [{ flux: { interval: '10 minutes' } }, "gitops.flux.interval: '10 minutes' is not allowed; expected a Go duration"],
  [{ flux: { secretsPath: 'dist/secrets' } }, "gitops.flux.secretsPath: 'dist/secrets' is not allowed; expected a folder outside gitops.repository.path ('dist')"],
  [{ flux: { sopsAgeSecret: 'Sops_Age' } }, "gitops.flux.sopsAgeSecret: 'Sops_Age' is not allowed; expected a Secret name"],
  [{ repository: { url: URL }, argocd: { enabled: true } }, "gitops.argocd.destinationServer: '' is not allowed; expected the board's API server URL"],
  [{ argocd: { project: 'Potato Stack' } }, "gitops.argocd.project: 'Potato Stack' is not allowed"],
] as [PotatoStackOverrides['gitops'], string][])('bad GitOps settings are named with value and what is allowed: %j', (gitops, message) => {
  const found = problems({ gitops });
  expect(found.some((p) => p.startsWith(message))).toBe(true);
});

test('accepted forms: scp-like SSH URLs, nested output folders, hour-minute intervals', () => {
  expect(problems({ gitops: { repository: { url: 'git@github.com:me/potato.git', path: 'clusters/board/dist' }, flux: { interval: '1h30m' } } })).toEqual([]);
});
