import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../lib/config';
import { GENERATED_FILES, renderDocs, renderSections } from '../lib/docs';
import { EXTERNAL_INPUTS, TLS_FILE_INPUTS, secretCatalog } from '../cli/shared/secret-catalog';
import { overrides } from '../stack.config';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const docFiles = fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
const docs = docFiles.map((file) => fs.readFileSync(path.join(root, file), 'utf8')).join('\n');

test('generated sections in docs/ are current (run `npm run docs`)', () => {
  const files = renderDocs(resolveConfig(overrides));
  expect(files.map((f) => f.file).sort()).toEqual(Object.keys(GENERATED_FILES).sort());
  for (const { file, current, rendered } of files) expect([file, current === rendered]).toEqual([file, true]);
});

test('README names the install, synth and both test commands that CI runs', () => {
  const ci = fs.readFileSync(path.join(root, '.ci', 'run'), 'utf8');
  for (const command of ['npm ci', 'npm run synth', 'npm test', 'npm run test:integration', 'scripts/setup-integration.sh']) {
    expect([command, readme.includes(command)]).toEqual([command, true]);
  }
  for (const command of ['npm test', 'npm run test:integration', 'scripts/setup-integration.sh']) expect([command, ci.includes(command)]).toEqual([command, true]);
});

test('README stays a first screen plus a few sections that link to docs/', () => {
  expect(readme.split('\n').length).toBeLessThanOrEqual(80);
  expect(readme.match(/^## /gm)?.length).toBeLessThanOrEqual(4);
  for (const file of docFiles) expect([file, readme.includes(`](${file}`)]).toEqual([file, true]);
});

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

/** Relative links in `files` (paths under `dir`) whose file or heading does not exist. */
function brokenLinks(dir: string, files: readonly string[]): string[] {
  const broken: string[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [relative, anchor] = target.split('#');
      const resolved = relative ? path.join(path.dirname(path.join(dir, file)), relative) : path.join(dir, file);
      if (!fs.existsSync(resolved)) {
        broken.push(`${file}: ${target} (no such file)`);
        continue;
      }
      if (anchor && resolved.endsWith('.md')) {
        const headings = fs.readFileSync(resolved, 'utf8').split('\n').filter((l) => /^#+ /.test(l)).map((l) => anchorOf(l.replace(/^#+ /, '')));
        if (!headings.includes(anchor)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  return broken;
}

test('every relative link in README.md and docs/ points to an existing file and heading', () => {
  expect(brokenLinks(root, ['README.md', ...docFiles])).toEqual([]);
});

test('the link check catches a missing file and a missing heading', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-links-'));
  fs.writeFileSync(path.join(dir, 'a.md'), '# Top\n\n## k3s version and its Traefik chart\n\n[ok](a.md#k3s-version-and-its-traefik-chart) [ok](#top) [gone](b.md) [wrong](a.md#nowhere) [web](https://example.org)\n');
  expect(brokenLinks(dir, ['a.md'])).toEqual(['a.md: b.md (no such file)', 'a.md: a.md#nowhere (no such heading)']);
});

test('renderSections refuses a file without the markers', () => {
  expect(() => renderSections('docs/x.md', '# nothing', { budget: 'x' })).toThrow(/docs\/x\.md has no <!-- budget:start -->/);
});

test('docs/secrets.md names every credential the secrets command takes from the operator', () => {
  const secretsDoc = fs.readFileSync(path.join(root, 'docs', 'secrets.md'), 'utf8');
  for (const name of [...Object.keys(EXTERNAL_INPUTS), ...TLS_FILE_INPUTS]) expect([name, secretsDoc.includes(`\`${name}\``)]).toEqual([name, true]);
});

test('no doc tells the operator to make a Secret by hand that the secrets command makes', () => {
  const made = secretCatalog(resolveConfig({ profile: 'full' })).map((s) => s.name);
  const handMade = docs.split('\n').filter((line) => /kubectl .*create secret generic/.test(line));
  expect(handMade.filter((line) => made.some((name) => new RegExp(`create secret generic ${name}\\b`).test(line)))).toEqual([]);
  // The check reads the lines it should: a by-hand command for a Secret of the catalog is caught.
  expect(made.some((name) => new RegExp(`create secret generic ${name}\\b`).test('kubectl create secret generic kopia -n apps'))).toBe(true);
});
