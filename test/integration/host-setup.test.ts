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
import { SMART_MASKED_UNITS, SMART_PACKAGES, SMART_TIMER } from '../../lib/host/smart';
import { ZRAM_PACKAGE } from '../../lib/host/zram';
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

/**
 * With SMART data on (the full profile turns node-exporter on), setup-host.sh masks Debian's own
 * node-exporter service and the apt collector, installs smartmontools and Debian's SMART collector,
 * and enables the collector's timer. The packages are Debian 12's, unpacked by
 * scripts/setup-integration.sh: the apt-get stand-in copies their systemd units into the scratch
 * root and runs their real postinst scripts there (DPKG_ROOT), so Debian's own deb-systemd-helper
 * decides what ends up enabled; unit states are read by the real `systemctl --root`. Only adduser,
 * chown and dpkg-statoverride (which would touch this machine's users and /var/lib) are recorders.
 */
describe('SMART data on: Debian packages installed behind masks', () => {
  const smartWork = path.join(work, 'smart');
  const smartRoot = path.join(smartWork, 'root');
  const smartStubs = path.join(smartWork, 'bin');
  const smartCalls = path.join(smartWork, 'calls.log');
  const debian = path.join(ROOT, 'tools', 'debian');
  const PACKAGES_WITH_UNITS = ['prometheus-node-exporter', 'prometheus-node-exporter-collectors'];

  const hostDir = (overrides: Parameters<typeof resolveConfig>[0], name: string) => {
    const config = resolveConfig(overrides);
    const files = hostFiles(config, computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir'))));
    const dir = path.join(smartWork, name);
    for (const [file, f] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), f.content, { mode: f.mode });
    }
    return dir;
  };
  const systemctl = requireTool('systemctl', 'SYSTEMCTL', ['/usr/bin/systemctl', '/bin/systemctl']);
  const unitState = (root: string, unit: string) => spawnSync(systemctl, [`--root=${root}`, 'is-enabled', unit], { encoding: 'utf8' }).stdout.trim();
  const runIn = (root: string, script: string, env: Record<string, string> = {}) => {
    const result = spawnSync('sh', [script], { encoding: 'utf8', env: { ...process.env, PREFIX: root, PATH: `${smartStubs}:${process.env.PATH}`, ...env } });
    return { status: result.status, out: `${result.stdout}${result.stderr}` };
  };

  beforeAll(() => {
    for (const pkg of PACKAGES_WITH_UNITS) {
      if (!fs.existsSync(path.join(debian, pkg, 'DEBIAN', 'postinst'))) throw new Error(`tools/debian/${pkg} is missing: run scripts/setup-integration.sh (it unpacks Debian's packages there)`);
    }
    fs.mkdirSync(smartStubs, { recursive: true });
    const stub = (name: string, body: string) => fs.writeFileSync(path.join(smartStubs, name), `#!/bin/sh\necho "${name} $*" >> '${smartCalls}'\n${body}\n`, { mode: 0o755 });
    for (const name of ['sysctl', 'adduser', 'chown']) stub(name, 'exit 0');
    stub('dpkg-statoverride', 'exit 1');
    // systemctl: unit-file verbs go to the real systemctl on the scratch root (without --now: nothing runs here).
    stub(
      'systemctl',
      [
        'case "$1" in',
        `  mask|unmask|enable|disable|is-enabled) args=$(echo "$*" | sed 's/ --now//'); exec '${systemctl}' --root="$PREFIX" $args ;;`,
        '  is-active) exit 3 ;;',
        '  *) exit 0 ;;',
        'esac',
      ].join('\n'),
    );
    // dpkg -s: installed once apt-get has installed every package asked about.
    stub('dpkg', `[ "$1" = -s ] || exit 1\nshift\nfor p in "$@"; do [ -f '${smartWork}/installed/'"$p" ] || exit 1; done\nexit 0`);
    // apt-get install: unpack each package's units into the root and run its real postinst there.
    stub(
      'apt-get',
      [
        '[ "$1" = install ] || exit 0',
        `mkdir -p '${smartWork}/installed'`,
        'for p in "$@"; do',
        '  case "$p" in -*|install) continue ;; esac',
        `  touch '${smartWork}/installed/'"$p"`,
        // Debian's apt configures the dependency (prometheus-node-exporter) before the collectors.
        `  [ "$p" = prometheus-node-exporter-collectors ] && set -- prometheus-node-exporter "$p" || set -- "$p"`,
        '  for q in "$@"; do',
        `    [ -d '${debian}/'"$q" ] || continue`,
        `    mkdir -p "$PREFIX/lib/systemd/system" && cp '${debian}/'"$q"/lib/systemd/system/* "$PREFIX/lib/systemd/system/"`,
        `    DPKG_ROOT="$PREFIX" DPKG_MAINTSCRIPT_PACKAGE="$q" DPKG_MAINTSCRIPT_NAME=postinst sh -e '${debian}/'"$q"/DEBIAN/postinst configure || exit 1`,
        '  done',
        'done',
      ].join('\n'),
    );
  });

  test('the packages\' own postinst leaves Debian\'s node-exporter and the apt collector masked and enables only the SMART timer', () => {
    const result = runIn(smartRoot, path.join(hostDir({ profile: 'full' }, 'full'), 'setup-host.sh'));
    expect([result.status, result.out]).toEqual([0, expect.any(String)]);
    const log = fs.readFileSync(smartCalls, 'utf8').split('\n');
    const at = (line: string) => log.indexOf(line);
    const install = at('apt-get install -y --no-install-recommends smartmontools prometheus-node-exporter-collectors');
    expect(install).toBeGreaterThan(-1);
    for (const unit of SMART_MASKED_UNITS) expect([unit, at(`systemctl mask ${unit}`) > -1 && at(`systemctl mask ${unit}`) < install]).toEqual([unit, true]);
    expect(at(`systemctl enable --now ${SMART_TIMER}`)).toBeGreaterThan(install);
    expect(log).toContain('adduser --quiet --system --home /var/lib/prometheus --no-create-home --group --gecos Prometheus daemon prometheus');
    expect(unitState(smartRoot, 'prometheus-node-exporter.service')).toBe('masked');
    expect(unitState(smartRoot, 'prometheus-node-exporter-apt.timer')).toBe('masked');
    expect(unitState(smartRoot, SMART_TIMER)).toBe('enabled');
  });

  test('without the masks, the same postinst enables Debian\'s node-exporter (it would take :9100 from the DaemonSet) and the apt collector', () => {
    const bare = path.join(smartWork, 'bare-root');
    fs.rmSync(path.join(smartWork, 'installed'), { recursive: true, force: true });
    const result = spawnSync(path.join(smartStubs, 'apt-get'), ['install', '-y', 'prometheus-node-exporter-collectors'], { encoding: 'utf8', env: { ...process.env, PREFIX: bare, PATH: `${smartStubs}:${process.env.PATH}` } });
    expect(result.status).toBe(0);
    expect(unitState(bare, 'prometheus-node-exporter.service')).toBe('enabled');
    expect(unitState(bare, 'prometheus-node-exporter-apt.timer')).toBe('enabled');
  });

  test('a second run installs nothing and keeps the masks', () => {
    fs.writeFileSync(smartCalls, '');
    fs.mkdirSync(path.join(smartWork, 'installed'), { recursive: true });
    for (const pkg of [...SMART_PACKAGES, ZRAM_PACKAGE]) fs.writeFileSync(path.join(smartWork, 'installed', pkg), '');
    const result = runIn(smartRoot, path.join(smartWork, 'full', 'setup-host.sh'));
    expect(result.status).toBe(0);
    expect(fs.readFileSync(smartCalls, 'utf8')).not.toContain('apt-get');
    expect(unitState(smartRoot, 'prometheus-node-exporter.service')).toBe('masked');
    expect(unitState(smartRoot, SMART_TIMER)).toBe('enabled');
  });

  test('with monitoring.smart off, the script disables the timer it enabled and installs nothing', () => {
    fs.writeFileSync(smartCalls, '');
    const result = runIn(smartRoot, path.join(hostDir({ profile: 'full', monitoring: { smart: false } }, 'smart-off'), 'setup-host.sh'));
    expect(result.status).toBe(0);
    expect(fs.readFileSync(smartCalls, 'utf8')).not.toContain('apt-get');
    expect(unitState(smartRoot, SMART_TIMER)).toBe('disabled');
    expect(unitState(smartRoot, 'prometheus-node-exporter.service')).toBe('masked');
  });
});
