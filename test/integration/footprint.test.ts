import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MeteredProcess, codeFiles } from './support/footprint';
import { settle } from './support/load';

/**
 * The meter's pod-like options on a real program, a private copy of Node's binary (so that no
 * other process maps it): the cgroup limit is enforced, a cold start charges the program's code
 * to its cgroup while a warm one does not, and code another process maps is reported as not
 * evicted.
 */

const MiB = 1024 ** 2;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-footprint-'));
const copy = path.join(work, 'node-copy');
const running: MeteredProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

beforeAll(() => {
  fs.copyFileSync(process.execPath, copy);
  fs.chmodSync(copy, 0o755);
  // Written pages are dirty; only clean pages can be dropped from the page cache.
  const fd = fs.openSync(copy, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
});

/** Starts the copy idling for a few seconds and samples it once it has started. */
async function idleRun(coldStart: boolean): Promise<MeteredProcess> {
  // Another process (this one) reads the whole file first, so its pages sit in the page cache charged elsewhere.
  fs.readFileSync(copy);
  const p = new MeteredProcess(copy, ['-e', 'setTimeout(() => {}, 5000)'], { name: `footprint-${coldStart ? 'cold' : 'warm'}`, coldStart });
  running.push(p);
  await settle(1500);
  return p;
}

test('codeFiles lists a binary with the shared libraries it links', () => {
  const files = codeFiles(copy);
  expect(files[0]).toBe(fs.realpathSync(copy));
  expect(files).toEqual(expect.arrayContaining([expect.stringMatching(/\/libc\.so\.6$/)]));
});

test('a cold start charges the code to the program; a warm start leaves it with whoever read it first', async () => {
  const warm = await idleRun(false);
  const warmMapped = warm.sample().mappedFile!;
  await warm.stop();
  const cold = await idleRun(true);
  const coldMapped = cold.sample().mappedFile!;
  expect(cold.coldStart!.files).toContain(fs.realpathSync(copy));
  expect(cold.coldStart!.stillCached.map((c) => c.file)).not.toContain(fs.realpathSync(copy));
  await cold.stop();
  console.log(`copy of node idle: mapped files ${(warmMapped / MiB).toFixed(1)} MiB warm, ${(coldMapped / MiB).toFixed(1)} MiB cold`);
  expect(coldMapped).toBeGreaterThan(warmMapped + 8 * MiB);
});

test('files another process maps are reported as not evicted, with who maps them', async () => {
  // This test's own process maps the node binary it runs on.
  const p = new MeteredProcess(process.execPath, ['-e', 'setTimeout(() => {}, 3000)'], { name: 'footprint-shared', coldStart: true });
  running.push(p);
  const own = p.coldStart!.stillCached.find((c) => c.file === fs.realpathSync(process.execPath));
  expect(own?.bytes).toBeGreaterThan(0);
  expect(own?.mappedBy.length).toBeGreaterThan(0);
  expect(p.describeSetup()).toMatch(/could not be evicted because other processes map them/);
  await p.stop();
});

test('the memory limit is the cgroup\'s: a program allocating past it is killed', async () => {
  const p = new MeteredProcess(copy, ['-e', 'const b = Buffer.alloc(256 * 1024 * 1024, 1); console.log(b.length);'], { name: 'footprint-limit', limitBytes: 96 * MiB });
  running.push(p);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => p.child.once('exit', (c, s) => resolve([c, s])));
  // The shell that joined the cgroup execs the program, so its kill is the child's signal.
  expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
  expect(p.describeSetup()).toMatch(/cgroup memory limit 96 MiB/);
  await p.stop();
});
