import type { PotatoStackOverrides } from './lib/config';

/**
 * Your changes to the defaults (lib/config/defaults.ts and lib/config/components.ts).
 * Everything not set here keeps its documented default; `npm run synth` validates the result.
 *
 * Example:
 *   domain: 'home.example.org',
 *   storage: { nodeName: 'lepotato' },
 *   components: { portainer: { enabled: false }, nextcloud: { containers: { nextcloud: { limits: { cpu: '1', memory: '768Mi' } } } } },
 */
export const overrides: PotatoStackOverrides = {};
