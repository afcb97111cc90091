import { parse } from 'yaml';
import { computeBudget } from '../lib/budget';
import { PotatoStackOverrides, resolveConfig } from '../lib/config';
import { memoryBytes } from '../lib/config/quantity';
import { disabledAddons, k3sConfigFile, k3sGoMemLimit, k3sServiceDropIn, kubeletConfigFile } from '../lib/host/k3s';
import { hostFiles } from '../lib/host/setup';
import { zramGeneratorConf } from '../lib/host/zram';
import { buildApp, manifestsOf } from '../lib/stack';

function budgetOf(overrides: PotatoStackOverrides = {}) {
  const config = resolveConfig(overrides);
  return { config, budget: computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir'))) };
}

const stripComments = (text: string) => parse(text.replace(/^#.*$/gm, ''));

describe('kubelet configuration', () => {
  test.each([
    ['default', {}],
    ['bigger board, full profile', { profile: 'full' as const, node: { memTotal: '3800Mi' } }],
    ['no metrics-server, nginx-proxy-manager', { node: { metricsServer: false }, ingress: { mode: 'nginx-proxy-manager' as const } }],
  ])('%s: MemTotal minus its reservations and eviction threshold is the budget\'s allocatable', (_name, overrides) => {
    const { config, budget } = budgetOf(overrides);
    const kubelet = stripComments(kubeletConfigFile(config, budget.node));
    const bytes = (q: string) => memoryBytes(q) ?? NaN;
    const allocatable = bytes(config.node.memTotal) - bytes(kubelet.systemReserved.memory) - bytes(kubelet.kubeReserved.memory) - bytes(kubelet.evictionHard['memory.available']);
    expect(allocatable).toBe(budget.node.allocatable);
    expect(kubelet.kubeReserved.memory).toBe(`${Math.round(budget.node.kubeReserved / 1024 ** 2)}Mi`);
  });

  test('every eviction signal is listed, so none is switched off by a partial map; pods may swap', () => {
    const { config, budget } = budgetOf();
    const kubelet = stripComments(kubeletConfigFile(config, budget.node));
    expect(Object.keys(kubelet.evictionHard).sort()).toEqual(['imagefs.available', 'memory.available', 'nodefs.available', 'nodefs.inodesFree']);
    expect(kubelet).toMatchObject({ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', failSwapOn: false, memorySwap: { swapBehavior: 'LimitedSwap' } });
    const noZram = budgetOf({ node: { zram: { enabled: false } } });
    expect(stripComments(kubeletConfigFile(noZram.config, noZram.budget.node)).memorySwap.swapBehavior).toBe('NoSwap');
  });
});

describe('k3s drop-in', () => {
  test('pins the node name and address ranges the manifests assume, and hands the kubelet its file', () => {
    const config = resolveConfig({ storage: { nodeName: 'lepotato' }, network: { podCidr: '10.52.0.0/16', serviceCidr: '10.53.0.0/16' }, node: { metricsServer: true } });
    expect(stripComments(k3sConfigFile(config))).toEqual({
      'node-name': 'lepotato',
      'cluster-cidr': '10.52.0.0/16',
      'service-cidr': '10.53.0.0/16',
      'disable+': ['local-storage'],
      'kubelet-arg+': ['config=/etc/rancher/k3s/potatostack-kubelet.yaml'],
    });
  });

  test('turns off what the stack does not use: local-path always, Traefik in nginx-proxy-manager mode, metrics-server on request', () => {
    expect(disabledAddons(resolveConfig({ profile: 'full' }))).toEqual(['local-storage']);
    expect(disabledAddons(resolveConfig())).toEqual(['local-storage', 'metrics-server']);
    expect(disabledAddons(resolveConfig({ ingress: { mode: 'nginx-proxy-manager' }, node: { metricsServer: false } }))).toEqual(['local-storage', 'traefik', 'metrics-server']);
  });

  test("the k3s server's GOMEMLIMIT is 80 % of its share in the node model", () => {
    expect(k3sGoMemLimit(resolveConfig())).toBe('440MiB');
    expect(k3sServiceDropIn(resolveConfig({ node: { k3sServer: '700Mi' } }))).toContain('Environment=GOMEMLIMIT=560MiB');
  });
});

describe('zram', () => {
  test('the generator gets the size as a share of RAM and the algorithm', () => {
    expect(zramGeneratorConf(resolveConfig({ node: { zram: { sizePercent: 50, algorithm: 'lz4' } } }))).toContain('[zram0]\nzram-size = ram * 0.5\ncompression-algorithm = lz4\n');
  });

  test('with zram off no zram file is generated and the setup script removes the old ones', () => {
    const { config, budget } = budgetOf({ node: { zram: { enabled: false } } });
    const files = hostFiles(config, budget);
    expect(Object.keys(files).filter((f) => f.startsWith('zram/'))).toEqual([]);
    expect(files['setup-host.sh'].content).toContain("rm -f \"$root\"'/etc/systemd/zram-generator.conf.d/50-potatostack.conf'");
    expect(files['setup-host.sh'].content).not.toContain('apt-get install');
  });
});

test('dist/host holds no Kubernetes manifest that kubectl or a GitOps tool could mistake for one at the top level', () => {
  const { config, budget } = budgetOf();
  expect(Object.keys(hostFiles(config, budget)).every((f) => f.includes('/') || !f.endsWith('.yaml'))).toBe(true);
});
