import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, YamlOutputType } from 'cdk8s';
import { PlatformChart } from '../charts/platform';
import { ProxyChart } from '../charts/proxy';
import { DataChart } from '../charts/data';
import { AppsChart } from '../charts/apps';
import { ManagementChart } from '../charts/management';
import { VpnChart } from '../charts/vpn';
import { MonitoringChart } from '../charts/monitoring';
import { BudgetError, BudgetReport, computeBudget } from './budget';
import { PotatoStackConfig, assertImagesRunOnArm64 } from './config';
import { GITOPS_FOLDER, annotateForGitOps, gitopsFiles } from './gitops';
import { hostFiles } from './host/setup';

/**
 * Charts in apply order: the number prefix of each file name makes a plain
 * `kubectl apply -f dist/` create namespaces and volumes before workloads.
 */
export function buildApp(config: PotatoStackConfig, outdir = 'dist'): App {
  const app = new App({ outdir, yamlOutputType: YamlOutputType.FILE_PER_CHART, outputFileExtension: '.yaml' });
  new PlatformChart(app, '00-platform', config);
  new DataChart(app, '10-data', config);
  new AppsChart(app, '20-apps', config);
  new ProxyChart(app, '30-proxy', config);
  new VpnChart(app, '40-vpn', config);
  new MonitoringChart(app, '50-monitoring', config);
  new ManagementChart(app, '60-management', config);
  annotateForGitOps(app, config);
  return app;
}

/** Every object of the app, in chart order. */
export function manifestsOf(app: App): any[] {
  return app.charts.flatMap((chart) => chart.toJson());
}

/**
 * Builds, checks that every image has a linux/arm64 build and the memory budget, and writes dist/: the manifests at the top level (apply them
 * without --recursive), the board's own files in dist/host/ and, with Flux or ArgoCD enabled,
 * their objects and per-chart kustomizations in dist/gitops/.
 */
export function synthesize(config: PotatoStackConfig, outdir = 'dist'): BudgetReport {
  const app = buildApp(config, outdir);
  const manifests = manifestsOf(app);
  assertImagesRunOnArm64(manifests);
  const budget = computeBudget(config, manifests);
  if (budget.problems.length > 0) throw new BudgetError(budget, config);
  fs.rmSync(outdir, { recursive: true, force: true });
  app.synth();
  for (const [file, { content, mode }] of Object.entries(hostFiles(config, budget))) {
    const target = path.join(outdir, 'host', file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content, { mode });
  }
  for (const [file, content] of Object.entries(gitopsFiles(config, app))) {
    const target = path.join(outdir, GITOPS_FOLDER, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  }
  return budget;
}
