import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { computeBudget } from '../lib/budget';
import { PotatoStackOverrides, resolveConfig } from '../lib/config';
import {
  FLUX_CONTROLLERS,
  PRUNE_PROTECTED_KINDS,
  SYNC_WAVE_ANNOTATION,
  argoCdObjects,
  chartFiles,
  fluxControllerPatch,
  fluxObjects,
  gitopsFiles,
} from '../lib/gitops';
import { buildApp, manifestsOf } from '../lib/stack';
import { GITOPS_KEEP_ANNOTATIONS as KEEP_ON_PRUNE } from '../lib/constructs/labels';
import { FULL_PROFILE, synthFull } from './helpers';

const URL = 'https://git.example.org/me/potato.git';
const FLUX: PotatoStackOverrides = { ...FULL_PROFILE, node: { memTotal: '4Gi' }, gitops: { repository: { url: URL }, flux: { enabled: true } } };
const ARGO: PotatoStackOverrides = { ...FULL_PROFILE, gitops: { repository: { url: URL }, argocd: { enabled: true, destinationServer: 'https://192.168.178.10:6443' } } };

function built(overrides: PotatoStackOverrides): { app: App; config: ReturnType<typeof resolveConfig> } {
  const config = resolveConfig(overrides);
  return { app: buildApp(config, '/nonexistent-outdir'), config };
}

describe('Flux objects', () => {
  const { app, config } = built(FLUX);
  const charts = chartFiles(app);
  const objects = fluxObjects(config, charts);
  const kustomizations = objects.filter((o) => o.kind === 'Kustomization');

  test('one GitRepository on the configured URL and branch', () => {
    const repos = objects.filter((o) => o.kind === 'GitRepository');
    expect(repos.map((r) => [r.metadata.namespace, r.spec.url, r.spec.ref])).toEqual([['flux-system', URL, { branch: 'main' }]]);
  });

  test('one Kustomization per chart, in chart order, each depending on the one before (secrets after the platform)', () => {
    const chain = kustomizations.filter((k) => k.metadata.name !== 'potatostack');
    expect(chain.map((k) => k.metadata.name)).toEqual([
      'potatostack-platform',
      'potatostack-secrets',
      'potatostack-data',
      'potatostack-apps',
      'potatostack-proxy',
      'potatostack-vpn',
      'potatostack-monitoring',
      'potatostack-management',
    ]);
    chain.forEach((k, i) => expect(k.spec.dependsOn).toEqual(i === 0 ? undefined : [{ name: chain[i - 1].metadata.name }]));
  });

  test('each chart Kustomization points at its own folder below the output, prune on', () => {
    for (const chart of charts) {
      const k = kustomizations.find((o) => o.metadata.name === `potatostack-${chart.name}`)!;
      expect([k.spec.path, k.spec.prune, k.spec.sourceRef]).toEqual([`./dist/gitops/${chart.id}`, true, { kind: 'GitRepository', name: 'potatostack' }]);
    }
  });

  test('only the secrets Kustomization decrypts, with the age key Secret', () => {
    const decrypting = kustomizations.filter((k) => k.spec.decryption);
    expect(decrypting.map((k) => [k.metadata.name, k.spec.path, k.spec.decryption])).toEqual([
      ['potatostack-secrets', './secrets', { provider: 'sops', secretRef: { name: 'sops-age' } }],
    ]);
  });

  test('the root Kustomization applies the Flux objects themselves; a private repository gets its secretRef', () => {
    expect(kustomizations.find((k) => k.metadata.name === 'potatostack')!.spec.path).toBe('./dist/gitops/flux');
    const priv = resolveConfig({ ...FLUX, gitops: { ...FLUX.gitops, flux: { enabled: true, repositorySecret: 'potato-git' } } });
    expect(fluxObjects(priv, charts)[0].spec.secretRef).toEqual({ name: 'potato-git' });
    expect(objects[0].spec.secretRef).toBeUndefined();
  });

  test('controller patches carry the sizes the budget counts, on the container Flux names manager', () => {
    for (const controller of FLUX_CONTROLLERS) {
      const patch = fluxControllerPatch(config, controller) as any;
      expect(patch.metadata).toEqual({ name: controller.deployment, namespace: 'flux-system' });
      const container = patch.spec.template.spec.containers[0];
      expect(container.name).toBe('manager');
      expect(container.resources).toEqual(config.components.flux.containers[controller.sizedAs]);
    }
  });
});

describe('generated files', () => {
  test('nothing while neither Flux nor ArgoCD is enabled', () => {
    const { app, config } = built({});
    expect(gitopsFiles(config, app)).toEqual({});
  });

  test('Flux: a kustomization per chart that loads the chart file two folders up, plus the Flux folder and patches', () => {
    const { app, config } = built(FLUX);
    const files = gitopsFiles(config, app);
    expect(Object.keys(files).sort()).toEqual(
      [
        ...chartFiles(app).map((c) => `${c.id}/kustomization.yaml`),
        'flux/kustomization.yaml',
        'flux/potatostack.yaml',
        'flux-system/kustomize-controller.patch.yaml',
        'flux-system/source-controller.patch.yaml',
      ].sort(),
    );
    expect(parseAllDocuments(files['20-apps/kustomization.yaml'])[0].toJS().resources).toEqual(['../../20-apps.yaml']);
  });
});

describe('annotations', () => {
  test('namespaces, volumes and claims are kept on prune by Flux and ArgoCD; nothing else is', () => {
    const objects = synthFull();
    const protectedObjects = objects.filter((o) => (PRUNE_PROTECTED_KINDS as readonly string[]).includes(o.kind));
    expect(new Set(protectedObjects.map((o) => o.kind))).toEqual(new Set(PRUNE_PROTECTED_KINDS));
    for (const o of protectedObjects) expect([o.kind, o.metadata.name, o.metadata.annotations]).toEqual([o.kind, o.metadata.name, expect.objectContaining(KEEP_ON_PRUNE)]);
    for (const o of objects.filter((o) => !protectedObjects.includes(o))) {
      expect([o.kind, o.metadata.name, o.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune']]).toEqual([o.kind, o.metadata.name, undefined]);
    }
  });

  test('sync waves follow chart order, only with ArgoCD enabled', () => {
    const { app } = built(ARGO);
    app.charts.forEach((chart, wave) => {
      for (const o of chart.toJson()) expect([o.kind, o.metadata.name, o.metadata.annotations?.[SYNC_WAVE_ANNOTATION]]).toEqual([o.kind, o.metadata.name, String(wave)]);
    });
    expect(synthFull().filter((o) => o.metadata.annotations?.[SYNC_WAVE_ANNOTATION] !== undefined)).toEqual([]);
  });
});

describe('ArgoCD objects', () => {
  const { app, config } = built(ARGO);
  const manifests = manifestsOf(app);
  const [project, application] = argoCdObjects(config, manifests);

  test('the project admits every kind and namespace of the output and nothing more', () => {
    const kindsOf = (list: { group: string; kind: string }[]) => list.map((g) => `${g.group}/${g.kind}`);
    const clusterScoped = new Set(manifests.filter((m) => !m.metadata.namespace).map((m) => `${m.apiVersion.includes('/') ? m.apiVersion.split('/')[0] : ''}/${m.kind}`));
    expect(new Set(kindsOf(project.spec.clusterResourceWhitelist))).toEqual(clusterScoped);
    expect(kindsOf(project.spec.namespaceResourceWhitelist)).toContain('apps/Deployment');
    expect(project.spec.destinations.map((d: any) => d.namespace)).toEqual([...new Set(manifests.map((m) => m.metadata.namespace).filter(Boolean))].sort());
    expect(project.spec.sourceRepos).toEqual([URL]);
  });

  test('the application syncs the top level of the output folder with prune and self-heal, without a cascading finalizer', () => {
    expect(application.spec.source).toEqual({ repoURL: URL, targetRevision: 'main', path: 'dist', directory: { recurse: false } });
    expect(application.spec.destination).toEqual({ server: 'https://192.168.178.10:6443' });
    expect(application.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect((application.metadata as any).finalizers).toBeUndefined();
  });
});

describe('the Flux component in the budget', () => {
  const budgetOf = (overrides: PotatoStackOverrides) => {
    const config = resolveConfig(overrides);
    return computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
  };

  test('its two controllers are counted at their sizes only when Flux is enabled', () => {
    const withFlux = budgetOf(FLUX).pods.filter((p) => p.component === 'flux');
    expect(withFlux.map((p) => [p.workload, p.memoryRequest / 2 ** 20])).toEqual([
      ['flux-system/source-controller', 72],
      ['flux-system/kustomize-controller', 64],
    ]);
    expect(budgetOf({ ...FLUX, gitops: { repository: { url: URL } } }).pods.filter((p) => p.component === 'flux')).toEqual([]);
  });

  test('on the 2 GB board profile, Flux does not fit without turning something off', () => {
    expect(budgetOf({ gitops: { repository: { url: URL }, flux: { enabled: true } } }).problems).not.toEqual([]);
  });
});
