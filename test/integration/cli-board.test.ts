/**
 * The potatostack CLI on the simulated board (tools/bin/control-plane with its controllers, kwok
 * as the board's kubelet; see board.test.ts): here nothing fakes a status. `apply` waits for
 * rollouts that the controllers and the scheduler really make, prune's deletions reach the pods
 * through the garbage collector, claims bind through the PV controller, and `status` reads what
 * they report. No container runs: kwok marks scheduled pods Running and Ready.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { boardNode } from '../../lib/board-node';
import { resolveConfig } from '../../lib/config';
import { overrides } from '../../stack.config';
import { SimulatedBoard, get, list, startBoard, startTraefik, waitUntil } from './support/board';
import { CliRun, makeProject, runCli } from './support/cli';
import { loadManifests } from './support/kube';
import { ROOT } from './support/tools';

const config = resolveConfig(overrides);
const objects = loadManifests(path.join(ROOT, 'dist')).map((m) => m.object);
const node = boardNode(config, objects);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-cli-board-'));
const envFile = path.join(work, 'secrets.env');
let board: SimulatedBoard;

const cli = (...args: string[]): Promise<CliRun> => runCli(args, { KUBECONFIG: board.plane.kubeconfig });
/** The unhealthy components and the problems status names for them. */
const fails = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('FAIL') || /^ +problem: /.test(l));

beforeAll(async () => {
  fs.writeFileSync(envFile, 'WIREGUARD_PRIVATE_KEY=test-key\nWIREGUARD_ADDRESSES=10.14.0.2/16\n');
  board = await startBoard('CLI on the simulated board', config, objects, node);
}, 300000);

afterAll(async () => {
  await board?.kwok.stop();
  await board?.plane.stop();
});

test('secrets, then apply waits for the real rollouts, and status finds the stack healthy', async () => {
  expect((await cli('secrets', '--env-file', envFile)).status).toBe(0);
  const started = Date.now();
  const apply = await cli('apply', '--timeout', '5m');
  console.log(`apply with rollout wait on the simulated board: ${Date.now() - started} ms`);
  expect([apply.status, apply.stderr]).toEqual([0, '']);
  expect(apply.stdout).toMatch(/^ {2}Deployment apps\/nextcloud: 1\/1 ready, rolled out$/m);
  expect(apply.stdout).toMatch(/^every workload rolled out$/m);
  await startTraefik(board.kube, node);

  // status reports the moment it reads: a state the controllers have not caught up with yet (seen
  // once in a while on a loaded machine) gets a bounded time to settle, and is printed.
  let status = await cli('status');
  for (const deadline = Date.now() + 60000; fails(status.stdout).length > 0 && Date.now() < deadline; status = await cli('status')) {
    console.log(`status not healthy yet, reading it again in 3 s:\n${status.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
  expect(fails(status.stdout)).toEqual([]);
  expect(status.stdout).toMatch(/^ {5}apps\/nextcloud: 1\/1 ready, restarts 0, claims nextcloud-data Bound$/m);
  expect(status.stdout).toMatch(/^ok {3}backup: no backup yet/m);
  expect(status.status).toBe(0);
  const json = JSON.parse((await cli('status', '--output', 'json')).stdout);
  expect(json.healthy).toBe(true);
});

test('a disabled component is pruned: its pods go with it, its claim stays bound', async () => {
  const withoutGitea = makeProject({ ...overrides, components: { gitea: { enabled: false } } });
  const run = await cli('apply', '--dir', withoutGitea, '--timeout', '5m');
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^pruned Deployment apps\/gitea$/m);
  expect(run.stdout).toMatch(/^kept PersistentVolumeClaim apps\/gitea-data: no longer synthesized, but it holds data/m);
  await waitUntil('gitea pods gone', async () => (await list(board.kube, '/api/v1/namespaces/apps/pods?labelSelector=app.kubernetes.io%2Fname%3Dgitea')).map((p) => p.metadata.name));
  expect((await get(board.kube, '/api/v1/namespaces/apps/persistentvolumeclaims/gitea-data')).status.phase).toBe('Bound');
  // Back to dist/: Gitea returns onto its kept claim.
  const back = await cli('apply', '--timeout', '5m');
  expect(back.status).toBe(0);
  expect(back.stdout).toMatch(/^ {2}Deployment apps\/gitea: 1\/1 ready, rolled out$/m);
});

test("a rollout the board cannot schedule fails apply's wait with the scheduler's reason, and status names it", async () => {
  // Budget-wise fine on a larger board, but this board's allocatable memory cannot hold the request.
  const tooBig = makeProject({
    ...overrides,
    node: { memTotal: '6Gi' },
    components: { nextcloud: { containers: { nextcloud: { requests: { cpu: '50m', memory: '3Gi' }, limits: { cpu: '1', memory: '3Gi' } } } } },
  });
  const run = await cli('apply', '--dir', tooBig, '--timeout', '30s');
  expect(run.status).toBe(1);
  expect(run.stdout).toMatch(/^not rolled out: Deployment apps\/nextcloud: not scheduled: 0\/1 nodes are available: 1 Insufficient memory/m);
  const status = await cli('status', '--dir', tooBig);
  expect(status.status).toBe(1);
  expect(status.stdout).toMatch(/^FAIL nextcloud\n {5}apps\/nextcloud: 0\/1 ready/m);
  const back = await cli('apply', '--timeout', '5m');
  expect(back.status).toBe(0);
});
