import { KubeError, type KubeObject } from '../../cli/shared/kube';
import { DATA_KINDS, PRUNE_KINDS, STACK_SELECTOR, applyHint, identityOf, prunePlan } from '../../cli/apply';
import { synthObjects } from '../helpers';
import { STACK_VARIANTS } from './variants';

const obj = (apiVersion: string, kind: string, name: string, namespace?: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}), ...extra },
});

test.each(STACK_VARIANTS)('prune knows every kind the %s stack synthesizes, and every object carries its labels', (_name, overrides) => {
  const objects = synthObjects(overrides);
  const known = PRUNE_KINDS.map((k) => `${k.apiVersion}/${k.kind}`);
  const [partOf, managedBy] = STACK_SELECTOR.split(',').map((s) => s.split('='));
  for (const o of objects) {
    expect([o.kind, known.includes(`${o.apiVersion}/${o.kind}`)]).toEqual([o.kind, true]);
    expect([o.kind, o.metadata.name, o.metadata.labels?.[partOf[0]], o.metadata.labels?.[managedBy[0]]]).toEqual([o.kind, o.metadata.name, partOf[1], managedBy[1]]);
  }
  expect(known).not.toContain('v1/Secret');
});

describe('prunePlan', () => {
  const wanted = [obj('apps/v1', 'Deployment', 'gitea', 'apps'), obj('v1', 'PersistentVolumeClaim', 'gitea-data', 'apps')];
  const live = [
    obj('v1', 'Namespace', 'dmz'),
    obj('v1', 'PersistentVolume', 'portainer-data'),
    obj('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'portainer'),
    obj('v1', 'PersistentVolumeClaim', 'portainer-data', 'management'),
    obj('apps/v1', 'Deployment', 'portainer', 'management'),
    obj('apps/v1', 'Deployment', 'gitea', 'apps'),
    obj('v1', 'PersistentVolumeClaim', 'gitea-data', 'apps'),
    obj('apps/v1', 'Deployment', 'going', 'apps', { deletionTimestamp: '2026-01-01T00:00:00Z' }),
  ];

  test('removes what dist/ no longer has, workloads first, and keeps data holders', () => {
    const plan = prunePlan(live, wanted, false);
    expect(plan.remove.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual(['Deployment portainer', 'ClusterRoleBinding portainer']);
    expect(plan.keep.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual(['PersistentVolumeClaim portainer-data', 'PersistentVolume portainer-data', 'Namespace dmz']);
  });

  test('with force the data holders go too, claims before volumes, namespaces last', () => {
    const plan = prunePlan(live, wanted, true);
    expect(plan.keep).toEqual([]);
    expect(plan.remove.map((o) => o.kind)).toEqual(['Deployment', 'ClusterRoleBinding', 'PersistentVolumeClaim', 'PersistentVolume', 'Namespace']);
    expect(DATA_KINDS).toEqual(['PersistentVolume', 'PersistentVolumeClaim', 'Namespace']);
  });

  test('an object is the same across API versions of its group, not across namespaces', () => {
    expect(identityOf(obj('networking.k8s.io/v1', 'Ingress', 'x', 'apps'))).toBe(identityOf(obj('networking.k8s.io/v1beta1', 'Ingress', 'x', 'apps')));
    expect(identityOf(obj('v1', 'Service', 'x', 'apps'))).not.toBe(identityOf(obj('v1', 'Service', 'x', 'data')));
  });
});

test('a PersistentVolume that cannot change points to the moving procedure', () => {
  const pv = obj('v1', 'PersistentVolume', 'gitea-data');
  expect(applyHint(pv, new KubeError(422, 'PersistentVolume "gitea-data" is invalid: spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation'))).toMatch(
    /docs\/operations\.md, "Changing disks or the node name"/,
  );
  expect(applyHint(obj('v1', 'ConfigMap', 'x', 'apps'), new KubeError(422, 'invalid'))).toBeUndefined();
});
