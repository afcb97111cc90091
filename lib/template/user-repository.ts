import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { PotatoStackOverrides } from '../config';

/** The npm name of this package, as a user repository depends on it. */
export const PACKAGE_NAME = 'potatostack-k3s';

/** This package's package.json, found by walking up from the compiled or the source file. */
export function ownPackageJson(start = __dirname): { name: string; version: string; engines?: { node?: string } } {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (json.name === PACKAGE_NAME) return json;
    }
    if (path.dirname(dir) === dir) throw new Error(`no package.json named ${PACKAGE_NAME} above ${start}`);
  }
}

export interface UserRepositoryOptions {
  /**
   * What the repository's package.json asks npm for: a version range (Renovate and Dependabot bump
   * it) or a `file:` path to a packed tarball. @default `^<this package's version>`
   */
  readonly packageSpec?: string;
  /** The operator's changes to the defaults, written to stack.config.ts. @default {} */
  readonly overrides?: PotatoStackOverrides;
  /** age public key (`age1...`) the secrets are encrypted to; with it, a .sops.yaml is written. @default none */
  readonly ageRecipient?: string;
  /** Name of the repository's own package.json. @default 'my-potatostack' */
  readonly name?: string;
  /** Overwrite files that already exist (each one that differs is kept as `<file>.bak`). @default false */
  readonly force?: boolean;
}

/** Versions of the tools the repository runs its TypeScript with (the ones this project pins). */
const TOOLING = { typescript: '5.9.3', 'ts-node': '10.9.2', '@types/node': '20.19.9' } as const;

/** The CI workflow: install, type-check the config, then synthesize, budget, validate and compare with the committed output. */
export function ciWorkflow(): Record<string, unknown> {
  return {
    name: 'ci',
    on: { push: { branches: ['main'] }, pull_request: {} },
    permissions: { contents: 'read' },
    jobs: {
      check: {
        'runs-on': 'ubuntu-latest',
        steps: [
          { uses: 'actions/checkout@v4' },
          { uses: 'actions/setup-node@v4', with: { 'node-version': 20, cache: 'npm' } },
          { name: 'install', run: 'npm ci --no-audit --no-fund' },
          { name: 'type-check stack.config.ts', run: 'npm run typecheck' },
          { name: 'synthesize, budget, validators, stale output', run: 'npm run check' },
        ],
      },
    },
  };
}

/** The `run` lines of the CI workflow, in order. */
export function ciCommands(workflow: Record<string, any> = ciWorkflow()): string[] {
  return Object.values(workflow.jobs as Record<string, { steps: { run?: string }[] }>).flatMap((job) => job.steps.flatMap((step) => (step.run ? [step.run] : [])));
}

function readme(pkg: string): string {
  return `# My PotatoStack

The configuration of my board, kept in my own repository. The stack itself is the npm package
\`${pkg}\`: updates arrive as a version bump of it in \`package.json\` (Renovate or Dependabot open the
pull request; CI shows whether the new version still fits the board).

| file | what |
|---|---|
| \`stack.config.ts\` | my changes to the defaults (typed: \`npm run typecheck\` catches typos) |
| \`main.ts\` | the environments: the board (\`dist/\`) and a laptop staging cluster (\`staging/\`) |
| \`check.ts\` | what CI runs: synthesize, memory budget, validators, committed output current |
| \`dist/\`, \`staging/\` | the synthesized manifests, committed (\`npm run synth\`) |
| \`secrets/\` | SOPS-encrypted Secrets that Flux decrypts (never plain text: \`npm run check\` refuses it) |

Day to day:

    npm ci
    npm run synth                  # after editing stack.config.ts; commit dist/ and staging/
    npm run check                  # what CI runs
    npx potatostack preflight      # the board against the config: k3s, node, disks, LAN range, Secrets
    npx potatostack secrets        # creates the Secrets that are missing (--output yaml for Flux)
    npx potatostack apply          # applies dist/, prunes what is gone, waits for the rollouts
    npx potatostack status         # per component: ready, restarts, memory, volumes, last backup

Or let Flux apply it: see the package's docs/gitops.md.
`;
}

function mainFile(pkg: string): string {
  return `import { defaultEnvironments, runSynth } from '${pkg}';
import { overrides } from './stack.config';

/** The board (dist/) and the laptop staging cluster (staging/), from the same overrides. */
export const environments = () => defaultEnvironments(overrides);

if (require.main === module) runSynth(__dirname, environments);
`;
}

/** A value as a TypeScript literal in the house style: single quotes, bare keys where possible. */
export function tsLiteral(value: unknown, indent = ''): string {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (Array.isArray(value)) return `[${value.map((v) => tsLiteral(v, indent)).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    const key = (k: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : tsLiteral(k));
    return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${tsLiteral(v, inner)},`).join('\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/**
 * stack.config.ts for these overrides. `importFrom` is where the PotatoStackOverrides type comes
 * from: the package (a user repository) or `./lib/config` (a clone of this repository).
 */
export function renderConfigFile(overrides: PotatoStackOverrides, importFrom: string = PACKAGE_NAME): string {
  const about =
    importFrom === PACKAGE_NAME
      ? [
          ` * Your changes to the defaults of ${PACKAGE_NAME} (its docs/configuration.md lists every setting),`,
          ' * written by `npx potatostack init` and yours to edit. Everything not set here keeps its documented',
          ' * default; `npm run check` validates the result.',
        ]
      : [
          ' * Your changes to the defaults (lib/config/defaults.ts and lib/config/components.ts), written by',
          ' * `npx potatostack init` and yours to edit. Everything not set here keeps its documented default;',
          ' * `npm run synth` validates the result (docs/configuration.md).',
        ];
  return [`import type { PotatoStackOverrides } from '${importFrom}';`, '', '/**', ...about, ' */', `export const overrides: PotatoStackOverrides = ${tsLiteral(overrides)};`, ''].join('\n');
}

/**
 * The files of a user's own repository, by path relative to its root: package.json depending on
 * this package, stack.config.ts, main.ts, check.ts, the CI workflow, the update bot's
 * configuration, a README, the secrets folder and, with an age recipient, .sops.yaml.
 */
export function userRepositoryFiles(options: UserRepositoryOptions = {}): Record<string, string> {
  const own = ownPackageJson();
  const pkg = PACKAGE_NAME;
  const files: Record<string, string> = {
    'package.json': `${JSON.stringify(
      {
        name: options.name ?? 'my-potatostack',
        private: true,
        engines: own.engines,
        scripts: {
          synth: 'node -r ts-node/register/transpile-only main.ts',
          check: 'node -r ts-node/register/transpile-only check.ts',
          typecheck: 'tsc --noEmit',
        },
        dependencies: { [pkg]: options.packageSpec ?? `^${own.version}` },
        devDependencies: { ...TOOLING },
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: { target: 'ES2022', module: 'commonjs', lib: ['ES2022'], strict: true, esModuleInterop: true, skipLibCheck: true, types: ['node'] },
        include: ['*.ts'],
      },
      null,
      2,
    )}\n`,
    'stack.config.ts': renderConfigFile(options.overrides ?? {}),
    'main.ts': mainFile(pkg),
    'check.ts': `import { runCheck } from '${pkg}';\nimport { environments } from './main';\n\nrunCheck(__dirname, environments);\n`,
    '.github/workflows/ci.yml': stringify(ciWorkflow()),
    '.github/dependabot.yml': stringify({
      version: 2,
      updates: [
        { 'package-ecosystem': 'npm', directory: '/', schedule: { interval: 'weekly' } },
        { 'package-ecosystem': 'github-actions', directory: '/', schedule: { interval: 'monthly' } },
      ],
    }),
    '.gitignore': 'node_modules/\n*.agekey\n',
    'README.md': readme(pkg),
    'secrets/README.md':
      'SOPS-encrypted Secret manifests for Flux (docs/gitops.md of the package). Never commit a plain Secret:\n`npm run check` fails on one. Keep the age private key out of Git.\n',
  };
  if (options.ageRecipient !== undefined) {
    if (!/^age1[0-9a-z]{58}$/.test(options.ageRecipient)) {
      throw new Error(`ageRecipient: '${options.ageRecipient}' is not allowed; expected an age public key such as the 'age1...' line age-keygen prints`);
    }
    files['.sops.yaml'] = stringify({ creation_rules: [{ path_regex: '^secrets/.*\\.ya?ml$', encrypted_regex: '^(data|stringData)$', age: options.ageRecipient }] });
  }
  return files;
}

/** The files of the repository that already exist in `dir` (what writing it would overwrite). */
export function existingUserRepositoryFiles(dir: string, options: UserRepositoryOptions = {}): string[] {
  return Object.keys(userRepositoryFiles(options)).filter((file) => fs.existsSync(path.join(dir, file)));
}

/**
 * Writes the files of a user's own repository (userRepositoryFiles) into `dir`. It does not
 * install or synthesize (run `npm install` and `npm run synth` there). Returns the paths written,
 * relative to `dir`. Refuses to overwrite without `force`; with it, an existing file that differs
 * is kept beside the new one as `<file>.bak`.
 */
export function writeUserRepository(dir: string, options: UserRepositoryOptions = {}): string[] {
  const files = userRepositoryFiles(options);
  const existing = existingUserRepositoryFiles(dir, options);
  if (existing.length > 0 && !options.force) throw new Error(`${dir} already has ${existing.join(', ')}; pass force to overwrite`);
  for (const [file, content] of Object.entries(files)) {
    const target = path.join(dir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (existing.includes(file) && fs.readFileSync(target, 'utf8') !== content) fs.copyFileSync(target, `${target}.bak`);
    fs.writeFileSync(target, content);
  }
  return Object.keys(files);
}
