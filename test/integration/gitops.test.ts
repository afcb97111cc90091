/**
 * The GitOps output against the real programs that read it: kustomize v5.7.1 builds every
 * Kustomization the Flux objects name (with the load restrictions Flux's kustomize-controller
 * uses), and the real kube-apiserver, with Flux's and ArgoCD's CRDs from shared/crds, accepts the
 * Flux and ArgoCD objects (server-side dry run, strict field validation). Everything is read from
 * a synthesized output folder, never retyped.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { resolveConfig } from '../../lib/config';
import { synthesizeEnvironments } from '../../lib/environments';
import { RunningControlPlane, startControlPlane } from './support/control-plane';
import { Kube, KubeObject, loadManifests, rejection } from './support/kube';
import { ROOT, requireTool, sharedDir } from './support/tools';

// A user repository in a temporary folder: every chart on (full profile, a board big enough for
// it), Flux and an ArgoCD elsewhere, the output in dist/ as the environment writes it.
const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-gitops-'));
const config = resolveConfig({
  profile: 'full',
  node: { memTotal: '4Gi' },
  gitops: {
    repository: { url: 'https://git.example.org/me/potato.git', branch: 'main', path: 'dist' },
    flux: { enabled: true },
    argocd: { enabled: true, destinationServer: 'https://192.168.178.10:6443' },
  },
});
synthesizeEnvironments(repo, [{ name: 'board', outdir: 'dist', config }]);
const GITOPS = path.join(repo, 'dist', 'gitops');

const readObjects = (file: string): KubeObject[] =>
  parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubeObject)
    .filter(Boolean);
const fluxObjects = readObjects(path.join(GITOPS, 'flux', 'potatostack.yaml'));
const argoObjects = readObjects(path.join(GITOPS, 'argocd', 'potatostack.yaml'));
const kustomizations = fluxObjects.filter((o) => o.kind === 'Kustomization');

/** Objects as comparable strings: kind, namespace, name and the whole object, sorted. */
const canonical = (objects: KubeObject[]) =>
  objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name} ${JSON.stringify(sortKeys(o))}`).sort();
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]));
  return value;
}

function kustomizeBuild(dir: string, restrictor: 'LoadRestrictionsNone' | 'LoadRestrictionsRootOnly') {
  const kustomize = requireTool('kustomize', 'KUSTOMIZE_BIN');
  return spawnSync(kustomize, ['build', '--load-restrictor', restrictor, dir], { encoding: 'utf8' });
}

describe('kustomize builds every generated Kustomization', () => {
  test('kustomize is v5.7.1', () => {
    const run = spawnSync(requireTool('kustomize', 'KUSTOMIZE_BIN'), ['version'], { encoding: 'utf8' });
    expect(run.stdout.trim()).toMatch(/v5\.7\.1/);
  });

  test('each chart Kustomization builds exactly the objects of its chart file, as Flux builds it (no load restrictions)', () => {
    const chartPaths = kustomizations.map((k) => k.spec.path as string).filter((p) => p.startsWith('./dist/gitops/') && !p.endsWith('/flux'));
    expect(chartPaths.length).toBe(7);
    for (const kPath of chartPaths) {
      const chartFile = `${path.basename(kPath)}.yaml`;
      const run = kustomizeBuild(path.join(repo, kPath), 'LoadRestrictionsNone');
      expect([kPath, run.status, run.stderr]).toEqual([kPath, 0, '']);
      const built = parseAllDocuments(run.stdout).map((d) => d.toJS() as KubeObject);
      const expected = loadManifests(path.join(repo, 'dist')).filter((m) => m.file === chartFile).map((m) => m.object);
      expect(expected.length).toBeGreaterThan(0);
      expect(canonical(built)).toEqual(canonical(expected));
    }
  });

  test('the Flux folder builds into the Flux objects themselves', () => {
    const run = kustomizeBuild(path.join(repo, 'dist', 'gitops', 'flux'), 'LoadRestrictionsNone');
    expect(run.status).toBe(0);
    expect(canonical(parseAllDocuments(run.stdout).map((d) => d.toJS() as KubeObject))).toEqual(canonical(fluxObjects));
  });

  test('every Kustomization path is a generated folder, except the user-owned secrets folder', () => {
    const paths = kustomizations.map((k) => k.spec.path as string);
    expect(paths.filter((p) => !fs.existsSync(path.join(repo, p, 'kustomization.yaml')))).toEqual(['./secrets']);
  });

  test("proof: kustomize's default restriction refuses the chart file two folders up (why Flux's setting matters)", () => {
    const run = kustomizeBuild(path.join(GITOPS, '00-platform'), 'LoadRestrictionsRootOnly');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/not in or below|security/);
  });
});

describe('the real apiserver accepts the Flux and ArgoCD objects', () => {
  let server: RunningControlPlane;
  let kube: Kube;

  beforeAll(async () => {
    server = await startControlPlane();
    kube = await Kube.connect(server.kubeconfig);
    // Flux's and ArgoCD's CRDs, and Traefik's and k3s's for the staging output.
    const dir = path.join(sharedDir(), 'crds');
    const files = ['source.toolkit.fluxcd.io_gitrepositories.yaml', 'kustomize.toolkit.fluxcd.io_kustomizations.yaml', 'argoproj.io_applications.yaml', 'argoproj.io_appprojects.yaml'];
    for (const file of files) {
      if (!fs.existsSync(path.join(dir, file))) throw new Error(`${path.join(dir, file)} is missing (set POTATO_SHARED_DIR to the folder holding crds/)`);
    }
    const crdFiles = fs.readdirSync(dir).filter((f) => /^(source\.toolkit|kustomize\.toolkit|argoproj|traefik|helm\.cattle)\..*\.yaml$/.test(f) || files.includes(f));
    for (const file of crdFiles) {
      for (const crd of readObjects(path.join(dir, file)).filter((o) => o.kind === 'CustomResourceDefinition')) await kube.installCrd(crd);
    }
    for (const name of [config.gitops.flux.namespace, config.gitops.argocd.namespace]) {
      const created = await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      if (created.status !== 201) throw new Error(`namespace ${name}: ${rejection(created)}`);
    }
  });

  afterAll(async () => {
    await server?.stop();
  });

  const failuresOf = async (objects: KubeObject[]) => {
    const failures: string[] = [];
    for (const o of objects) {
      const result = await kube.dryRunApply(o);
      if (result.status < 200 || result.status >= 300) failures.push(`${o.kind} ${o.metadata.name}: ${rejection(result)}`);
    }
    return failures;
  };

  test('GitRepository and every Kustomization pass server-side apply with strict validation', async () => {
    expect(fluxObjects.map((o) => o.kind).sort()).toEqual(['GitRepository', ...Array(9).fill('Kustomization')]);
    expect(await failuresOf(fluxObjects)).toEqual([]);
  });

  test('AppProject and Application pass server-side apply with strict validation', async () => {
    expect(argoObjects.map((o) => o.kind)).toEqual(['AppProject', 'Application']);
    expect(await failuresOf(argoObjects)).toEqual([]);
  });

  test('proof: the CRD schemas reject a malformed Kustomization and an unknown Application field', async () => {
    const badKustomization = { ...kustomizations[1], spec: { ...kustomizations[1].spec, prune: 'yes' } };
    const badApplication = { ...argoObjects[1], spec: { ...argoObjects[1].spec, syncPolicy: { automatic: { prune: true } } } };
    expect((await failuresOf([badKustomization, badApplication])).length).toBe(2);
  });

  test("the controller patches give Flux's Deployments the sizes the budget counts (strategic merge, server dry run)", async () => {
    const kubectl = requireTool('kubectl', 'KUBECTL', ['/usr/lib/google-cloud-sdk/bin/kubectl.1.33']);
    for (const file of fs.readdirSync(path.join(GITOPS, 'flux-system'))) {
      const patch = readObjects(path.join(GITOPS, 'flux-system', file))[0];
      // A stand-in with the name and the container name Flux's own Deployment has (`manager`):
      // only the merge of the patch onto that shape is under test here, not Flux's manifest.
      const standIn = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: patch.metadata.name, namespace: patch.metadata.namespace },
        spec: {
          selector: { matchLabels: { app: patch.metadata.name } },
          template: {
            metadata: { labels: { app: patch.metadata.name } },
            spec: { containers: [{ name: 'manager', image: 'registry.invalid/flux:v0', resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '1Gi' } } }] },
          },
        },
      };
      const created = await kube.create(standIn);
      expect(created.status).toBe(201);
      const run = spawnSync(
        kubectl,
        ['--kubeconfig', server.kubeconfig, '-n', String(patch.metadata.namespace), 'patch', 'deployment', patch.metadata.name, '--type', 'strategic', '--patch-file', path.join(GITOPS, 'flux-system', file), '--dry-run=server', '-o', 'json'],
        { encoding: 'utf8' },
      );
      expect([file, run.status, run.stderr]).toEqual([file, 0, '']);
      const patched = JSON.parse(run.stdout);
      const sizedAs = patch.metadata.name as string;
      expect(patched.spec.template.spec.containers.map((c: any) => [c.name, c.resources])).toEqual([['manager', config.components.flux.containers[sizedAs]]]);
      expect(patched.spec.template.spec.priorityClassName).toBe('potatostack-apps');
    }
  });

  // The laptop's cluster is another cluster: this server holds no dist/ objects, so staging/ is
  // applied for real on an empty cluster, as `kubectl apply -f staging/` would on the laptop.
  test('the staging output applies for real on an empty cluster, and its pods pass Pod Security', async () => {
    const kubectl = requireTool('kubectl', 'KUBECTL', ['/usr/lib/google-cloud-sdk/bin/kubectl.1.33']);
    const staging = path.join(ROOT, 'staging');
    const run = spawnSync(kubectl, ['--kubeconfig', server.kubeconfig, 'apply', '--server-side', '--field-manager=potatostack', '-f', staging], { encoding: 'utf8' });
    expect([run.status, run.stderr.split('\n').filter((l) => /error/i.test(l))]).toEqual([0, []]);
    const objects = loadManifests(staging).map((m) => m.object);
    expect(run.stdout.split('\n').filter((l) => /serverside-applied/.test(l)).length).toBe(objects.length);
    const failures: string[] = [];
    for (const workload of objects.filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet', 'CronJob', 'Job'].includes(o.kind))) {
      const template = workload.kind === 'CronJob' ? workload.spec.jobTemplate.spec.template : workload.spec.template;
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${workload.metadata.name}-check`, namespace: workload.metadata.namespace }, spec: template.spec };
      const result = await kube.dryRunCreate(pod);
      if (result.status !== 201) failures.push(`${workload.metadata.name}: ${rejection(result)}`);
    }
    console.log(`staging/: ${objects.length} objects applied, ${failures.length} pod templates rejected`);
    expect(failures).toEqual([]);
  });
});
