// The package's entry module: what a user repository (and this project's main.ts) imports.
export * from './lib/config';
export * from './lib/constructs';
export * from './lib/budget';
export * from './lib/stack';
export * from './lib/gitops';
export * from './lib/environments';
export * from './lib/template/user-repository';
export { AppsChart } from './charts/apps';
export { DataChart } from './charts/data';
export { ManagementChart } from './charts/management';
export { MonitoringChart } from './charts/monitoring';
export { PlatformChart } from './charts/platform';
export { ProxyChart } from './charts/proxy';
export { VpnChart } from './charts/vpn';
