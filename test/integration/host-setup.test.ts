/**
 * dist/host/setup-host.sh, exactly as synthesized, run by a real shell into a scratch root
 * (PREFIX): it installs every generated host file where k3s, systemd and the kernel read them,
 * keeps the operator's own k3s config, changes nothing on a second run, and with zram turned off
 * removes only what it installed. apt-get, dpkg, systemctl and sysctl are stand-ins that record
 * their calls: the test does not touch this machine's packages or services. The kubelet
 * configuration also goes through the kubelet's own loader and validator.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeBudget } from '../../lib/budget';
import { resolveConfig } from '../../lib/config';
import { hostFiles } from '../../lib/host/setup';
import { buildApp, manifestsOf } from '../../lib/stack';
import { memoryBytes } from '../../lib/config/quantity';
import { ROOT, requireTool } from './support/tools';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-host-'));
const prefix = path.join(work, 'root');
const stubs = path.join(work, 'bin');
const calls = path.join(work, 'calls.log');
const distHost = path.join(ROOT, 'dist', 'host');

beforeAll(() => {
  fs.mkdirSync(stubs, { recursive: true });
  for (const command of ['apt-get', 'systemctl', 'sysctl']) {
    fs.writeFileSync(path.join(stubs, command), `#!/bin/sh\necho "${command} $*" >> '${calls}'\n[ "$1 $2" = "is-active --quiet" ] && exit 3\nexit 0\n`, { mode: 0o755 });
  }
  // dpkg: the zram package is "not installed" on the first run only
  fs.writeFileSync(path.join(stubs, 'dpkg'), `#!/bin/sh\necho "dpkg $*" >> '${calls}'\n[ -f '${work}/installed' ] && exit 0\ntouch '${work}/installed'\nexit 1\n`, { mode: 0o755 });
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function run(script: string) {
  const result = spawnSync('sh', [script], { encoding: 'utf8', env: { ...process.env, PREFIX: prefix, PATH: `${stubs}:${process.env.PATH}` } });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

test('installs every generated file in place with its mode, and keeps the operator\'s own k3s config', () => {
  fs.mkdirSync(path.join(prefix, 'etc/rancher/k3s'), { recursive: true });
  fs.writeFileSync(path.join(prefix, 'etc/rancher/k3s/config.yaml'), 'tls-san: [potato.example.org]\n');
  const result = run(path.join(distHost, 'setup-host.sh'));
  expect(result.status).toBe(0);
  const config = resolveConfig();
  const files = hostFiles(config, computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir'))));
  const installed = Object.entries(files).filter(([, f]) => f.installTo);
  expect(installed.length).toBe(5);
  for (const [source, file] of installed) {
    const target = path.join(prefix, file.installTo!);
    expect([source, fs.readFileSync(target, 'utf8')]).toEqual([source, fs.readFileSync(path.join(distHost, source), 'utf8')]);
    expect([source, fs.statSync(target).mode & 0o777]).toEqual([source, file.mode]);
  }
  expect(fs.readFileSync(path.join(prefix, 'etc/rancher/k3s/config.yaml'), 'utf8')).toBe('tls-san: [potato.example.org]\n');
  const log = fs.readFileSync(calls, 'utf8');
  expect(log).toContain('apt-get install -y systemd-zram-generator');
  expect(log).toContain('systemctl restart systemd-zram-setup@zram0.service');
  expect(log).toContain(`sysctl -p ${prefix}/etc/sysctl.d/50-potatostack-zram.conf`);
  expect(result.out).toContain('host ready: install k3s now');
});

test('a second run changes nothing and installs no package', () => {
  fs.writeFileSync(calls, '');
  const result = run(path.join(distHost, 'setup-host.sh'));
  expect(result.status).toBe(0);
  expect(result.out.split('\n').filter((l) => l.startsWith('installed '))).toEqual([]);
  expect(result.out.split('\n').filter((l) => l.startsWith('unchanged ')).length).toBe(5);
  expect(fs.readFileSync(calls, 'utf8')).not.toContain('apt-get');
});

test('with zram turned off, the script removes the zram files it installed and nothing else', () => {
  const config = resolveConfig({ node: { zram: { enabled: false } } });
  const files = hostFiles(config, computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir'))));
  const dir = path.join(work, 'dist-host-nozram');
  for (const [name, file] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), file.content, { mode: file.mode });
  }
  const result = run(path.join(dir, 'setup-host.sh'));
  expect(result.status).toBe(0);
  expect(fs.existsSync(path.join(prefix, 'etc/systemd/zram-generator.conf.d/50-potatostack.conf'))).toBe(false);
  expect(fs.existsSync(path.join(prefix, 'etc/sysctl.d/50-potatostack-zram.conf'))).toBe(false);
  expect(fs.existsSync(path.join(prefix, 'etc/rancher/k3s/config.yaml'))).toBe(true);
  expect(fs.readFileSync(path.join(prefix, 'etc/rancher/k3s/potatostack-kubelet.yaml'), 'utf8')).toContain('swapBehavior: NoSwap');
});

describe("the kubelet's own loader and validator (the control-plane binary, Kubernetes 1.34)", () => {
  const binary = () => requireTool('control-plane', 'CONTROL_PLANE_BIN');
  const check = (file: string) => spawnSync(binary(), ['check-kubelet-config', file], { encoding: 'utf8' });

  test('accept dist/host/k3s/kubelet.yaml, and the reservations it reads leave the budget\'s allocatable', () => {
    const result = check(path.join(distHost, 'k3s', 'kubelet.yaml'));
    expect([result.status, result.stderr]).toEqual([0, '']);
    const parsed = JSON.parse(result.stdout);
    const config = resolveConfig();
    const budget = computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
    const bytes = (q: string) => memoryBytes(q) ?? NaN;
    const allocatable = bytes(config.node.memTotal) - bytes(parsed.systemReserved.memory) - bytes(parsed.kubeReserved.memory) - bytes(parsed.evictionHard['memory.available']);
    expect(allocatable).toBe(budget.node.allocatable);
    expect(parsed).toMatchObject({ failSwapOn: false, swapBehavior: 'LimitedSwap', enforceNodeAllocatable: ['pods'] });
    console.log(`kubelet reads: system-reserved ${parsed.systemReserved.memory}, kube-reserved ${parsed.kubeReserved.memory}, eviction ${parsed.evictionHard['memory.available']}: allocatable ${allocatable / 1024 ** 2} MiB`);
  });

  test('refuse a file the kubelet would not start with', () => {
    const bad = path.join(work, 'kubelet-bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(path.join(distHost, 'k3s', 'kubelet.yaml'), 'utf8').replace('swapBehavior: LimitedSwap', 'swapBehavior: Limited'));
    const result = check(bad);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('memorySwap.swapBehavior "Limited" must be one of');
  });
});
