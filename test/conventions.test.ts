import { PRIORITY_TIER_NAMES, resolveConfig } from '../lib/config';
import { DIUN_ANNOTATION, SECURITY_EXCEPTION_ANNOTATION } from '../lib/constructs';
import { Manifest, WORKLOAD_KINDS, podMetadataOf, podSpecOf, synthObjects } from './helpers';

/**
 * The house rules, asserted on every object of the default stack and of the alternative
 * ingress mode, so a new chart cannot slip a cdk8s-plus default or a hashed name through.
 */
const variants: Record<string, Manifest[]> = {
  default: synthObjects(),
  'nginx-proxy-manager mode': synthObjects({ ingress: { mode: 'nginx-proxy-manager' } }),
  'full profile': synthObjects({ profile: 'full' }),
  'full profile, nginx-proxy-manager mode': synthObjects({ profile: 'full', ingress: { mode: 'nginx-proxy-manager' } }),
};
const CLUSTER_SCOPED = ['Namespace', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'];
const catalog = new Set(Object.values(resolveConfig().images));

describe.each(Object.entries(variants))('%s', (_variant, objects) => {
  const workloads = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind));
  const allContainers = workloads.flatMap((w) => {
    const spec = podSpecOf(w);
    return [...(spec.initContainers ?? []), ...spec.containers].map((c: any) => ({ workload: w, container: c }));
  });

  test('every object carries part-of and managed-by', () => {
    for (const o of objects) {
      expect([o.kind, o.metadata.name, o.metadata.labels?.['app.kubernetes.io/part-of']]).toEqual([o.kind, o.metadata.name, 'potatostack']);
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('cdk8s');
    }
  });

  test('names are readable: no hash suffix, no cdk8s address labels', () => {
    const text = JSON.stringify(objects);
    expect(text).not.toContain('cdk8s.io/metadata.addr');
    for (const o of objects) {
      expect(o.metadata.name).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
      expect(o.metadata.name).not.toMatch(/-c8[0-9a-f]{6,}$/);
    }
  });

  test('object names are unique per kind and namespace', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('cluster-scoped objects carry no namespace, namespaced objects do', () => {
    for (const o of objects) {
      if (CLUSTER_SCOPED.includes(o.kind)) expect([o.kind, o.metadata.name, o.metadata.namespace]).toEqual([o.kind, o.metadata.name, undefined]);
      else expect([o.kind, o.metadata.name, typeof o.metadata.namespace]).toEqual([o.kind, o.metadata.name, 'string']);
    }
  });

  test('namespaced objects live in a namespace the stack creates or in kube-system', () => {
    const namespaces = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
    namespaces.add('kube-system');
    for (const o of objects.filter((x) => x.metadata.namespace)) expect([o.kind, o.metadata.name, namespaces.has(o.metadata.namespace!)]).toEqual([o.kind, o.metadata.name, true]);
  });

  test('Deployments run one replica with Recreate and select on app.kubernetes.io labels', () => {
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      expect(d.spec.replicas).toBe(1);
      expect(d.spec.strategy).toEqual({ type: 'Recreate' });
      expect(Object.keys(d.spec.selector.matchLabels).sort()).toEqual(['app.kubernetes.io/instance', 'app.kubernetes.io/name']);
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(d.spec.template.metadata.labels[k]).toBe(v);
    }
  });

  test('every container states requests and limits for cpu and memory', () => {
    expect(allContainers.length).toBeGreaterThan(0);
    for (const { workload, container } of allContainers) {
      const r = container.resources ?? {};
      const where = `${workload.metadata.name}/${container.name}`;
      expect([where, Object.keys(r.requests ?? {}).sort(), Object.keys(r.limits ?? {}).sort()]).toEqual([where, ['cpu', 'memory'], ['cpu', 'memory']]);
      expect(r.limits.memory).not.toBe('2048Mi');
    }
  });

  test('every pod runs in one of the stack\'s priority classes, and the class exists', () => {
    const classes = new Set(objects.filter((o) => o.kind === 'PriorityClass').map((o) => o.metadata.name));
    expect([...classes].sort()).toEqual([...PRIORITY_TIER_NAMES].sort());
    for (const workload of objects.filter((o) => WORKLOAD_KINDS.includes(o.kind))) {
      const name = podSpecOf(workload).priorityClassName;
      expect([workload.metadata.name, classes.has(name)]).toEqual([workload.metadata.name, true]);
    }
  });

  test('every image comes from the catalog, pinned, IfNotPresent', () => {
    for (const { workload, container } of allContainers) {
      expect([workload.metadata.name, container.name, catalog.has(container.image)]).toEqual([workload.metadata.name, container.name, true]);
      expect(container.image).not.toMatch(/:latest$/);
      expect(container.imagePullPolicy).toBe('IfNotPresent');
    }
  });

  test('long-running containers have a startup or readiness probe and a liveness probe', () => {
    for (const w of workloads.filter((x) => x.kind !== 'CronJob' && x.kind !== 'Job')) {
      const spec = podSpecOf(w);
      const longRunning = [...(spec.initContainers ?? []).filter((c: any) => c.restartPolicy === 'Always'), ...spec.containers];
      for (const c of longRunning) {
        const where = `${w.metadata.name}/${c.name}`;
        expect([where, Boolean(c.startupProbe || c.readinessProbe), Boolean(c.livenessProbe)]).toEqual([where, true, true]);
      }
    }
  });

  test('containers are hardened unless an annotated exception says why', () => {
    for (const { workload, container } of allContainers) {
      const sc = container.securityContext;
      const where = `${workload.metadata.name}/${container.name}`;
      expect([where, sc.seccompProfile]).toEqual([where, { type: 'RuntimeDefault' }]);
      const annotations = podMetadataOf(workload).annotations ?? {};
      const reason = annotations[`${SECURITY_EXCEPTION_ANNOTATION}.${container.name}`];
      const hardened =
        sc.runAsNonRoot === true && sc.allowPrivilegeEscalation === false && sc.readOnlyRootFilesystem === true && sc.capabilities?.drop?.includes('ALL') && !sc.privileged;
      if (!hardened) expect([where, typeof reason]).toEqual([where, 'string']);
    }
  });

  test('pods mount no API token unless they name a ServiceAccount', () => {
    for (const w of workloads) {
      const spec = podSpecOf(w);
      expect([w.metadata.name, spec.automountServiceAccountToken]).toEqual([w.metadata.name, spec.serviceAccountName !== undefined]);
    }
  });

  test('every pod template is watched by Diun and labelled with its version', () => {
    for (const w of workloads) {
      const meta = podMetadataOf(w);
      expect([w.metadata.name, meta.annotations?.[DIUN_ANNOTATION]]).toEqual([w.metadata.name, 'true']);
      expect(meta.labels['app.kubernetes.io/version']).toBeTruthy();
    }
  });

  test('hostPath is only used through the storage PVs or by explicit node agents', () => {
    for (const w of workloads) {
      const hostPaths = (podSpecOf(w).volumes ?? []).filter((v: any) => v.hostPath);
      if (hostPaths.length > 0) expect([w.metadata.name, w.kind, w.metadata.namespace]).toEqual([w.metadata.name, w.kind, w.metadata.namespace === 'vpn' ? 'vpn' : 'monitoring']);
    }
  });
});
