import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { synthesize } from '../../lib/stack';
import { CliError, loadDist, loadOverrides, projectAt, staleDistFiles } from '../../cli/shared/project';

const config = resolveConfig();
const project = projectAt(fs.mkdtempSync(path.join(os.tmpdir(), 'potato-project-')));
synthesize(config, project.distDir);

test('dist/ loads in apply order: files by name, documents in file order', () => {
  const dist = loadDist(project);
  const files = dist.map((d) => d.file);
  expect(files).toEqual([...files].sort());
  expect(files[0]).toBe('00-platform.yaml');
  expect(dist[0].object.kind).toBe('Namespace');
  expect(dist.some((d) => d.file.endsWith('.sh'))).toBe(false);
});

test('a fresh dist/ is current; a changed, a missing and an extra file are named', () => {
  expect(staleDistFiles(project, config)).toEqual([]);
  const copy = projectAt(fs.mkdtempSync(path.join(os.tmpdir(), 'potato-project-')));
  fs.cpSync(project.distDir, copy.distDir, { recursive: true });
  fs.appendFileSync(path.join(copy.distDir, '20-apps.yaml'), '# edited\n');
  fs.rmSync(path.join(copy.distDir, 'host', 'prepare-storage.sh'));
  fs.writeFileSync(path.join(copy.distDir, '99-extra.yaml'), 'x: 1\n');
  expect(staleDistFiles(copy, config)).toEqual(['20-apps.yaml', '99-extra.yaml', 'host/prepare-storage.sh']);
  expect(staleDistFiles(copy, resolveConfig({ components: { gitea: { enabled: false } } }))).toContain('20-apps.yaml');
});

test('a project without stack.config.ts has no overrides; without dist/ it says to synthesize', () => {
  const empty = projectAt(fs.mkdtempSync(path.join(os.tmpdir(), 'potato-project-')));
  expect(loadOverrides(empty)).toEqual({});
  expect(() => loadDist(empty)).toThrow(CliError);
  expect(() => loadDist(empty)).toThrow(/run `npm run synth` first/);
});
