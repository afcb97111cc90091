/**
 * package.json as a published package: every package the shipped code imports at run time is
 * installed with it (dependencies or peerDependencies), and nothing only the tests or the build
 * need is. The packed tarball itself is tested in test/integration/package.test.ts.
 */
import { builtinModules } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
/** What `npm run build` compiles (tsconfig.build.json) and everything those files import lives here. */
const SHIPPED_SOURCES = ['index.ts', 'cli', 'lib', 'charts', 'imports'];

function sourceFiles(entry: string): string[] {
  const full = path.join(root, entry);
  if (fs.statSync(full).isFile()) return [entry];
  return fs
    .readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

/** Packages a source imports at run time: bare specifiers of `from`, `import()` and `require()`, without `import type`. */
function runtimeImports(source: string): string[] {
  const code = source.replace(/^\s*(import|export) type .*$/gm, '');
  // A specifier with `${` is generated code in a template string (the user repository's files), not an import.
  const specifiers = [...code.matchAll(/(?:from\s+|import\(\s*|require\(\s*)'([^'.$][^'$]*)'/g)].map((m) => m[1]);
  return specifiers
    .filter((s) => !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

const imported = new Map<string, string[]>();
for (const file of SHIPPED_SOURCES.flatMap(sourceFiles)) {
  for (const pkg of runtimeImports(fs.readFileSync(path.join(root, file), 'utf8'))) imported.set(pkg, [...(imported.get(pkg) ?? []), file]);
}

test('every package the shipped code imports at run time is a dependency or a peer dependency', () => {
  const installed = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
  const missing = [...imported].filter(([pkg]) => !installed.has(pkg)).map(([pkg, files]) => `${pkg} (${files.join(', ')})`);
  expect(missing).toEqual([]);
  // The scan sees what the CLI loads lazily too (client-node, the prompts, selfsigned).
  expect([...imported.keys()]).toEqual(expect.arrayContaining(['@kubernetes/client-node', '@inquirer/prompts', 'selfsigned', 'commander', 'cdk8s']));
});

test('proof: the scan finds run-time imports and skips type-only ones and built-ins', () => {
  expect(runtimeImports("import { a } from 'jest';\nimport type { B } from 'ts-node';\nconst c = await import('@scope/pkg/sub');\nrequire('node:fs');\nrequire('path');\nconst t = `import x from '${pkg}'`;\n")).toEqual([
    'jest',
    '@scope/pkg',
  ]);
});

test('nothing only the tests or the build need is installed with the package; client-node stays on 1.4.x', () => {
  const dependencies = Object.keys(manifest.dependencies);
  expect(dependencies.filter((d) => /^(jest|ts-jest|ts-node|typescript|@swc\/|@types\/|cdk8s-cli|parse-prometheus-text-format)/.test(d))).toEqual([]);
  expect(dependencies.filter((d) => !imported.has(d))).toEqual([]);
  expect(manifest.dependencies['@kubernetes/client-node']).toMatch(/^1\.4\.\d+$/);
  // Pinned exactly, as the repository pins.
  expect(Object.entries(manifest.dependencies).filter(([, v]) => !/^\d+\.\d+\.\d+$/.test(v as string))).toEqual([]);
});

test('the potatostack command is cli/bin.js, shipped with the build it runs', () => {
  expect(manifest.bin).toEqual({ potatostack: 'cli/bin.js' });
  expect(manifest.files).toEqual(expect.arrayContaining(['build/', 'cli/bin.js']));
  expect(JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')).include).toEqual(expect.arrayContaining(['index.ts', 'cli/main.ts']));
  expect(fs.readFileSync(path.join(root, 'cli', 'bin.js'), 'utf8')).toContain("require('../build/cli/main.js')");
});
