import { parseDuration, rolloutState } from '../../cli/shared/rollout';

test('durations', () => {
  expect(parseDuration('90s')).toBe(90000);
  expect(parseDuration('10m')).toBe(600000);
  expect(parseDuration('1h')).toBe(3600000);
  expect(() => parseDuration('10')).toThrow(/'10' is not a duration; expected a number with s, m or h/);
});

describe('rolloutState', () => {
  const deployment = (status: object, generation = 2) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', generation }, spec: { replicas: 1 }, status });

  test('a Deployment is done when the newest spec runs and is available', () => {
    expect(rolloutState(deployment({ observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }))).toEqual({ desired: 1, ready: 1, done: true });
    expect(rolloutState(deployment({ observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }))!.done).toBe(false);
    expect(rolloutState(deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 1 }))!.done).toBe(false);
    expect(rolloutState(deployment({}))).toEqual({ desired: 1, ready: 0, done: false });
  });

  test('a DaemonSet needs the controller to have counted its nodes', () => {
    const ds = (status: object) => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'x', generation: 1 }, status });
    expect(rolloutState(ds({}))!.done).toBe(false);
    expect(rolloutState(ds({ observedGeneration: 1, desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 1 }))).toEqual({ desired: 1, ready: 1, done: true });
    expect(rolloutState(ds({ observedGeneration: 1, desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 0 }))!.done).toBe(false);
  });

  test('kinds without a rollout', () => {
    expect(rolloutState({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x' } })).toBeUndefined();
  });
});
