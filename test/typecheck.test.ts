import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

// Synthesis transpiles with swc and skips type-checking for speed; the type-check happens here.
test('the project type-checks with tsc --noEmit', () => {
  const root = path.join(__dirname, '..');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '-p', root], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  expect(output).toBe('');
}, 120000);
