import { backupStatus, componentStatuses, formatStatus, lastTerminationOf, workloadStatus, type WorkloadObservation } from '../../cli/status';
import type { KubeObject } from '../../cli/shared/kube';
import { find, synthObjects } from '../helpers';
import { resolveConfig } from '../../lib/config';
import { memoryBytes } from '../../lib/config/quantity';

const objects = synthObjects();
const nextcloud = find(objects, 'Deployment', 'nextcloud', 'apps') as KubeObject;
const Mi = 1048576;
const readyLive = { ...nextcloud, metadata: { ...nextcloud.metadata, generation: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } };
const pod = (name: string, statuses: object[]): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, status: { containerStatuses: statuses } });

const observation = (extra: Partial<WorkloadObservation> = {}): WorkloadObservation => ({
  workload: nextcloud,
  live: readyLive,
  pods: [pod('nextcloud-abc', [{ name: 'nextcloud', restartCount: 0, state: { running: {} } }])],
  podMemory: new Map([['nextcloud-abc', 100 * Mi]]),
  claims: new Map([['nextcloud-data', 'Bound']]),
  ...extra,
});

test('a ready workload: ready count, memory against its request and limit, bound claims, no problems', () => {
  const status = workloadStatus(observation(), []);
  expect(status).toMatchObject({ name: 'apps/nextcloud', ready: 1, desired: 1, restarts: 0, oomKilled: false, claims: { 'nextcloud-data': 'Bound' }, problems: [] });
  const size = resolveConfig().components.nextcloud.containers.nextcloud;
  expect(status.memory).toEqual({ usedBytes: 100 * Mi, requestBytes: memoryBytes(size.requests.memory), limitBytes: memoryBytes(size.limits.memory) });
});

test('not ready, a pending claim, a missing Secret and a missing object are problems', () => {
  const notReady = workloadStatus(observation({ live: { ...readyLive, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 } }, claims: new Map([['nextcloud-data', 'Pending']]) }), [
    'Secret apps/nextcloud-db is missing',
  ]);
  expect(notReady.problems).toEqual(['0/1 ready', 'claim nextcloud-data is Pending', 'Secret apps/nextcloud-db is missing']);
  expect(workloadStatus(observation({ live: undefined, pods: [] }), []).problems).toEqual(['not in the cluster: run npx potatostack apply']);
});

test('restarts add up and the latest termination is reported; OOMKilled stands out', () => {
  const pods = [
    pod('a', [
      { name: 'nextcloud', restartCount: 2, lastState: { terminated: { reason: 'Error', exitCode: 1, finishedAt: '2026-11-01T10:00:00Z' } } },
      { name: 'sidecar', restartCount: 1, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-11-02T10:00:00Z' } } },
    ]),
  ];
  const status = workloadStatus(observation({ pods }), []);
  expect(status.restarts).toBe(3);
  expect(status.lastTermination).toEqual({ container: 'sidecar', reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-11-02T10:00:00Z' });
  expect(status.oomKilled).toBe(true);
  const lines = formatStatus({ healthy: true, components: componentStatuses([{ workload: nextcloud, status }]), secrets: [] });
  expect(lines).toContain('       !! OOMKilled: sidecar exit 137 at 2026-11-02T10:00:00Z (its memory limit is too small; see docs/operations.md)');
  expect(lastTerminationOf([pod('b', [{ name: 'job', state: { terminated: { reason: 'Completed', exitCode: 0 } } }])])).toBeUndefined();
});

test('workloads group by the component their main container is sized under', () => {
  const cron = find(objects, 'CronJob', 'nextcloud-cron', 'apps') as KubeObject;
  const kopia = find(objects, 'CronJob', 'kopia-snapshot', 'apps') as KubeObject;
  const ok = workloadStatus(observation(), []);
  const groups = componentStatuses([
    { workload: nextcloud, status: ok },
    { workload: cron, status: { ...ok, name: 'apps/nextcloud-cron', problems: ['claim nextcloud-data is Pending'] } },
    { workload: kopia, status: { ...ok, name: 'apps/kopia-snapshot' } },
  ]);
  expect(groups.map((g) => [g.component, g.healthy, g.workloads.length])).toEqual([
    ['nextcloud', false, 2],
    ['kopia', true, 1],
  ]);
});

describe('backup age', () => {
  const now = new Date('2026-11-30T12:00:00Z');
  const cronJob = (status: object, created = '2026-11-01T00:00:00Z'): KubeObject => ({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'kopia-snapshot', creationTimestamp: created }, status });

  test.each([
    ['last night', { lastSuccessfulTime: '2026-11-30T03:30:00Z' }, '2026-11-01T00:00:00Z', true, /8\.5 h ago$/],
    ['two days ago', { lastSuccessfulTime: '2026-11-28T03:30:00Z' }, '2026-11-01T00:00:00Z', false, /56\.5 h ago, older than 26 h/],
    ['never, created long ago', {}, '2026-11-01T00:00:00Z', false, /no successful backup in the 708 h since the CronJob was created/],
    ['never, created today', {}, '2026-11-30T10:00:00Z', true, /no backup yet/],
  ])('%s', (_name, status, created, healthy, detail) => {
    const result = backupStatus(cronJob(status, created), now);
    expect(result.healthy).toBe(healthy);
    expect(result.detail).toMatch(detail);
  });

  test('a missing CronJob is unhealthy', () => {
    expect(backupStatus(undefined, now)).toEqual({ healthy: false, detail: 'CronJob apps/kopia-snapshot does not exist' });
  });
});
