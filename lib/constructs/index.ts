export * from './chart';
export * from './container';
export * from './labels';
export * from './network-policy';
export * from './service';
export * from './storage';
export * from './workload';
export * from './zone-namespace';
