import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../lib/config';
import { synthesize } from '../lib/stack';
import { overrides } from '../stack.config';

function listFiles(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(path.join(dir, prefix), { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(dir, path.join(prefix, entry.name)) : [path.join(prefix, entry.name)]))
    .sort();
}

const committed = path.join(__dirname, '..', 'dist');
const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-dist-'));
synthesize(resolveConfig(overrides), fresh);

test('committed dist/ is exactly what the code synthesizes (run `npm run synth` and commit dist/)', () => {
  expect(listFiles(committed)).toEqual(listFiles(fresh));
  const stale = listFiles(fresh).filter((file) => !fs.readFileSync(path.join(fresh, file)).equals(fs.readFileSync(path.join(committed, file))));
  expect(stale).toEqual([]);
});

test('files apply in order: platform (namespaces, volumes) first', () => {
  const yamlFiles = listFiles(fresh).filter((f) => f.endsWith('.yaml'));
  expect(yamlFiles[0]).toBe('00-platform.yaml');
  expect(yamlFiles).toEqual([...yamlFiles].sort());
});

test('the host preparation script is executable', () => {
  expect(fs.statSync(path.join(fresh, 'host', 'prepare-storage.sh')).mode & 0o111).not.toBe(0);
});

test('no cdk8s-plus default or unpinned image leaks into dist/', () => {
  for (const file of listFiles(fresh)) {
    const text = fs.readFileSync(path.join(fresh, file), 'utf8');
    expect([file, text.match(/cdk8s\.io\/metadata\.addr|imagePullPolicy: Always|memory: 2048Mi|image: \S+:latest$/m)]).toEqual([file, null]);
  }
});
