import { ChildProcess, SpawnOptions, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './tools';

const mib = (bytes: number) => Math.round((bytes / 1024 ** 2) * 10) / 10;
/** A size for prose: KiB below 1 MiB, else MiB with one decimal. */
const size = (bytes: number) => (bytes < 1024 ** 2 ? `${Math.round(bytes / 1024)} KiB` : `${mib(bytes)} MiB`);

/**
 * Memory of a program the way the kubelet sees a container: the program runs in a memory cgroup
 * of its own, and its working set is the cgroup's usage minus inactive file pages (what
 * `kubectl top` shows and what eviction compares). Anonymous memory is reported beside it
 * because it is what cannot be dropped under pressure.
 */
export interface MemorySample {
  /** Bytes: cgroup usage - inactive_file (the kubelet's container_memory_working_set_bytes). */
  readonly workingSet: number;
  /** Bytes: anonymous memory (cgroup v1 total_rss, v2 anon). */
  readonly anon: number;
  /** Bytes: resident set of every process in the cgroup (VmRSS summed; shared pages counted per process). */
  readonly rss: number;
  /**
   * Bytes: file pages mapped into the program (its code and read-only data; cgroup v1
   * total_mapped_file, v2 file_mapped, /proc RssFile). The working set can leave them out while
   * they sit on the inactive list, yet a limit below anon + these makes the program thrash.
   * Always set by `sample()`; optional for figures put together elsewhere.
   */
  readonly mappedFile?: number;
}

/** How memory was read: a cgroup of its own (as a container), or /proc of the process tree. */
export type MeterMethod = 'cgroup-v1' | 'cgroup-v2' | 'proc';

interface CgroupLayout {
  readonly method: 'cgroup-v1' | 'cgroup-v2';
  /** Directory under which this process may create child cgroups. */
  readonly parent: string;
}

function findCgroup(): CgroupLayout | undefined {
  const lines = fs.readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  const v1 = lines.map((l) => l.split(':')).find((parts) => parts[1]?.split(',').includes('memory'));
  if (v1 && fs.existsSync('/sys/fs/cgroup/memory')) {
    const parent = path.join('/sys/fs/cgroup/memory', v1[2]);
    if (writable(parent)) return { method: 'cgroup-v1', parent };
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  const v2root = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
  if (v2 && fs.existsSync(path.join(v2root, 'cgroup.controllers'))) {
    const parent = path.join(v2root, v2.slice(3));
    const controllers = fs.readFileSync(path.join(v2root, 'cgroup.controllers'), 'utf8');
    if (controllers.includes('memory') && writable(parent)) return { method: 'cgroup-v2', parent };
  }
  return undefined;
}

function writable(dir: string): boolean {
  const probe = path.join(dir, `potato-probe-${process.pid}`);
  try {
    fs.mkdirSync(probe);
    fs.rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

function statField(text: string, field: string): number {
  const match = new RegExp(`^${field} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

function kbField(file: string, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(file, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0; // the process ended between listing and reading
  }
}

function descendants(pid: number): number[] {
  const result = [pid];
  for (let i = 0; i < result.length; i++) {
    try {
      const children = fs.readFileSync(`/proc/${result[i]}/task/${result[i]}/children`, 'utf8').trim();
      if (children) result.push(...children.split(/\s+/).map(Number));
    } catch {
      // gone
    }
  }
  return result;
}

export interface MeteredOptions {
  /** Names the cgroup and the measurement. */
  readonly name: string;
  /**
   * Memory limit of the program's cgroup in bytes (the container's `limits.memory`), so the program
   * runs as in its pod: it is OOM-killed above it and sees it as its cgroup limit.
   * @default no limit
   */
  readonly limitBytes?: number;
  /**
   * Evicts the program's code from the page cache before starting it, so its pages are read again
   * and charged to its own cgroup, as on a container's first start after the node booted. Without
   * it, pages another process read earlier (the build, an earlier run) stay charged to that
   * process and the working set comes out smaller than the container's. `true` evicts the
   * executable and the shared libraries it links (`codeFiles`); a list evicts exactly those files,
   * e.g. `mappedFiles()` of an earlier run, which also holds the modules loaded at run time.
   * Only these files are evicted (nothing system-wide); pages another process has mapped stay
   * cached and keep being charged to it: `coldStart` on the process reports them.
   * @default false
   */
  readonly coldStart?: boolean | readonly string[];
}

/** A file whose pages stayed in the page cache after eviction, and the programs that map it. */
export interface CachedFile {
  readonly file: string;
  readonly bytes: number;
  /** Command names of the other processes mapping it (why it could not be evicted). */
  readonly mappedBy: string[];
}

/** What a cold start evicted and what it could not. */
export interface ColdStart {
  readonly files: string[];
  /** Bytes of those files cached before the eviction. */
  readonly cachedBefore: number;
  /** Files with pages still cached after the eviction. */
  readonly stillCached: CachedFile[];
}

/**
 * A binary and the shared libraries it links, as `ldd` resolves them (a static binary is just
 * itself). Modules a program loads at run time (plugins, Apache modules, PHP extensions) are not
 * linked: take them from `mappedFiles()` of a running instance.
 */
export function codeFiles(binary: string): string[] {
  const run = spawnSync('ldd', [binary], { encoding: 'utf8' });
  const libraries = run.status === 0 ? [...run.stdout.matchAll(/=> (\/\S+) \(/g)].map((m) => m[1]) : [];
  const loader = run.status === 0 ? /^\s*(\/\S+) \(/m.exec(run.stdout)?.[1] : undefined;
  return [...new Set([binary, ...libraries, ...(loader ? [loader] : [])].map((f) => fs.realpathSync(f)))];
}

/** Resident bytes of each file in the page cache (util-linux fincore). */
function residentBytes(files: readonly string[]): Map<string, number> {
  const run = spawnSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES,FILE', ...files], { encoding: 'utf8' });
  if (run.error || run.status !== 0) throw new Error(`fincore (util-linux) could not read the page cache of ${files.join(' ')}: ${run.error ?? run.stderr}`);
  const resident = new Map<string, number>();
  for (const line of run.stdout.trim().split('\n').filter(Boolean)) {
    const [bytes, ...file] = line.split(' ');
    resident.set(file.join(' '), Number(bytes));
  }
  return resident;
}

/** Paths of the files one process maps (`/proc/<pid>/maps`), without device files and deleted files. */
function pathsMappedBy(pid: number): Set<string> {
  const paths = new Set<string>();
  let maps = '';
  try {
    maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return paths; // gone, or not ours to read
  }
  for (const line of maps.split('\n')) {
    const file = line.split(/\s+/).slice(5).join(' ');
    if (file.startsWith('/') && !file.startsWith('/dev/') && !file.endsWith(' (deleted)')) paths.add(file);
  }
  return paths;
}

/** Regular files mapped into the given processes now. */
function filesMappedByPids(pids: readonly number[]): string[] {
  const paths = new Set(pids.flatMap((pid) => [...pathsMappedBy(pid)]));
  return [...paths].filter((f) => {
    try {
      return fs.statSync(f).isFile();
    } catch {
      return false;
    }
  });
}

/** Command names of every process on the machine that maps each of the files. */
function mappers(files: readonly string[]): Map<string, string[]> {
  const found = new Map<string, Set<string>>(files.map((f) => [f, new Set<string>()]));
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    const mapped = pathsMappedBy(Number(entry));
    const hits = files.filter((f) => mapped.has(f));
    if (hits.length === 0) continue;
    let name = '?';
    try {
      name = fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      // gone
    }
    for (const f of hits) found.get(f)!.add(name);
  }
  return new Map([...found].map(([file, names]) => [file, [...names].sort()]));
}

/**
 * Drops the clean cached pages of each file (POSIX_FADV_DONTNEED through dd) and reports what
 * stayed: pages mapped by a running process cannot be dropped, and stay charged to the cgroup
 * that read them first.
 */
export function evictFromPageCache(file: string | readonly string[]): ColdStart {
  const files = typeof file === 'string' ? [file] : file;
  const cachedBefore = [...residentBytes(files).values()].reduce((a, b) => a + b, 0);
  for (const file of files) {
    const run = spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
    if (run.status !== 0) throw new Error(`could not evict ${file} from the page cache: ${run.stderr}`);
  }
  const left = [...residentBytes(files)].filter(([, bytes]) => bytes > 0);
  const mappedBy = left.length > 0 ? mappers(left.map(([file]) => file)) : new Map<string, string[]>();
  return { files: [...files], cachedBefore, stillCached: left.map(([file, bytes]) => ({ file, bytes, mappedBy: mappedBy.get(file) ?? [] })) };
}

/** A program started in a memory cgroup of its own, with a background sampler for peaks. */
export class MeteredProcess {
  readonly child: ChildProcess;
  readonly method: MeterMethod;
  private readonly cgroupDir?: string;
  private peakSample: MemorySample = { workingSet: 0, anon: 0, rss: 0, mappedFile: 0 };
  private timer?: NodeJS.Timeout;
  private output = '';

  /** The memory limit set on the program's cgroup, in bytes, when `limitBytes` was given. */
  readonly limitBytes?: number;
  /** What was evicted before the start, when `coldStart` was given. */
  readonly coldStart?: ColdStart;
  private readonly startedAt = Date.now();

  constructor(command: string, args: readonly string[], options: SpawnOptions & MeteredOptions) {
    const layout = findCgroup();
    const { name, limitBytes, coldStart, ...spawnOptions } = options;
    if (coldStart) this.coldStart = evictFromPageCache(coldStart === true ? codeFiles(command) : coldStart);
    if (limitBytes !== undefined && !layout) {
      throw new Error(`${name}: a memory limit of ${limitBytes} bytes needs a writable memory cgroup, and none was found (the /proc fallback cannot limit)`);
    }
    if (layout) {
      this.cgroupDir = path.join(layout.parent, `potato-${name}-${process.pid}-${Date.now()}`);
      fs.mkdirSync(this.cgroupDir);
      // A program started as another user (a database server as its system user) moves itself into the cgroup.
      if (options.uid !== undefined) fs.chownSync(path.join(this.cgroupDir, 'cgroup.procs'), options.uid, options.gid ?? -1);
      this.method = layout.method;
      if (limitBytes !== undefined) {
        // As the kubelet does for a container's limits.memory; programs that size their heap from
        // the cgroup (Prometheus 3's automatic GOMEMLIMIT) read it from here.
        fs.writeFileSync(path.join(this.cgroupDir, layout.method === 'cgroup-v1' ? 'memory.limit_in_bytes' : 'memory.max'), String(limitBytes));
        this.limitBytes = limitBytes;
      }
      // The shell joins the cgroup before exec, so every allocation of the program is charged to it.
      this.child = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.cgroupDir, command, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...spawnOptions,
      });
    } else {
      this.method = 'proc';
      this.child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
    }
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.on('data', (chunk) => {
        this.output = (this.output + chunk).slice(-40000);
      });
    }
  }

  /** The last 40 kB the program printed (stdout and stderr interleaved). */
  get log(): string {
    return this.output;
  }

  /** Current memory of the program (all its processes). */
  sample(): MemorySample {
    const pids = this.cgroupDir ? this.cgroupPids() : descendants(this.child.pid!);
    const rss = pids.reduce((sum, pid) => sum + kbField(`/proc/${pid}/status`, 'VmRSS'), 0);
    if (this.method === 'cgroup-v1') {
      const stat = fs.readFileSync(path.join(this.cgroupDir!, 'memory.stat'), 'utf8');
      const usage = Number(fs.readFileSync(path.join(this.cgroupDir!, 'memory.usage_in_bytes'), 'utf8'));
      const workingSet = Math.max(0, usage - statField(stat, 'total_inactive_file'));
      return { workingSet, anon: statField(stat, 'total_rss'), rss, mappedFile: statField(stat, 'total_mapped_file') };
    }
    if (this.method === 'cgroup-v2') {
      const stat = fs.readFileSync(path.join(this.cgroupDir!, 'memory.stat'), 'utf8');
      const usage = Number(fs.readFileSync(path.join(this.cgroupDir!, 'memory.current'), 'utf8'));
      return { workingSet: Math.max(0, usage - statField(stat, 'inactive_file')), anon: statField(stat, 'anon'), rss, mappedFile: statField(stat, 'file_mapped') };
    }
    const anon = pids.reduce((sum, pid) => sum + kbField(`/proc/${pid}/smaps_rollup`, 'Anonymous'), 0);
    const mappedFile = pids.reduce((sum, pid) => sum + kbField(`/proc/${pid}/status`, 'RssFile'), 0);
    return { workingSet: rss, anon, rss, mappedFile };
  }

  /** Each process of the program now: its command name, resident set and anonymous (private) memory, in bytes. */
  processes(): { pid: number; name: string; rss: number; anon: number }[] {
    const pids = this.cgroupDir ? this.cgroupPids() : descendants(this.child.pid!);
    return pids.map((pid) => {
      let name = '?';
      try {
        name = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        // gone
      }
      return { pid, name, rss: kbField(`/proc/${pid}/status`, 'VmRSS'), anon: kbField(`/proc/${pid}/smaps_rollup`, 'Anonymous') };
    });
  }

  /**
   * Regular files the program's processes map now: its executable, shared libraries, modules
   * loaded at run time and any data files it maps (what `coldStart` of a later run should evict).
   */
  mappedFiles(): string[] {
    return filesMappedByPids(this.cgroupDir ? this.cgroupPids() : descendants(this.child.pid!));
  }

  /**
   * How the program was run, for a report's conditions: the cgroup's memory limit, and for a cold
   * start what was evicted, what stayed cached (mapped by other processes, so not charged to this
   * program) and which files it maps now that were not evicted.
   */
  describeSetup(): string {
    const parts = [this.limitBytes === undefined ? 'no memory limit' : `cgroup memory limit ${mib(this.limitBytes)} MiB (the container's limits.memory)`];
    if (!this.coldStart) {
      parts.push('not started cold (code another process read earlier is not charged to it)');
      return parts.join('; ');
    }
    const { files, cachedBefore, stillCached } = this.coldStart;
    parts.push(`started cold: ${files.length} file${files.length === 1 ? '' : 's'} of code evicted from the page cache first (${size(cachedBefore)} were cached), nothing else`);
    if (stillCached.length > 0) {
      const total = stillCached.reduce((sum, c) => sum + c.bytes, 0);
      const largest = [...stillCached].sort((a, b) => b.bytes - a.bytes).slice(0, 5);
      const list = largest.map((c) => `${path.basename(c.file)} ${size(c.bytes)}${c.mappedBy.length ? ` (mapped by ${c.mappedBy.slice(0, 3).join(', ')}${c.mappedBy.length > 3 ? ` and ${c.mappedBy.length - 3} more` : ''})` : ''}`);
      const rest = stillCached.length > largest.length ? ` and ${stillCached.length - largest.length} smaller files` : '';
      parts.push(`could not be evicted because other processes map them, so not charged to it: ${size(total)} in ${stillCached.length} files, largest ${list.join(', ')}${rest}`);
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const evicted = new Set(files);
      // Files the program wrote since it started (its own data, mapped back) were never cached before it.
      const missed = this.mappedFiles().filter((f) => !evicted.has(f) && fs.statSync(f).mtimeMs < this.startedAt);
      const names = missed.slice(0, 8).map((f) => path.basename(f));
      if (missed.length > 0) parts.push(`mapped now but not evicted before the start: ${names.join(', ')}${missed.length > names.length ? ` and ${missed.length - names.length} more` : ''}`);
    }
    return parts.join('; ');
  }

  private cgroupPids(): number[] {
    try {
      return fs
        .readFileSync(path.join(this.cgroupDir!, 'cgroup.procs'), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  }

  /** Starts recording the largest figures seen (every `intervalMs`) until `stopPeak()`. */
  startPeak(intervalMs = 100): void {
    this.peakSample = this.sample();
    this.timer = setInterval(() => {
      const s = this.sample();
      this.peakSample = {
        workingSet: Math.max(this.peakSample.workingSet, s.workingSet),
        anon: Math.max(this.peakSample.anon, s.anon),
        rss: Math.max(this.peakSample.rss, s.rss),
        mappedFile: Math.max(this.peakSample.mappedFile ?? 0, s.mappedFile ?? 0),
      };
    }, intervalMs);
  }

  /** The largest figures since `startPeak()`. */
  stopPeak(): MemorySample {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const s = this.sample();
    return {
      workingSet: Math.max(this.peakSample.workingSet, s.workingSet),
      anon: Math.max(this.peakSample.anon, s.anon),
      rss: Math.max(this.peakSample.rss, s.rss),
      mappedFile: Math.max(this.peakSample.mappedFile ?? 0, s.mappedFile ?? 0),
    };
  }

  /** Stops the program (SIGTERM, then SIGKILL) and removes its cgroup. */
  async stop(timeoutMs = 15000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        this.child.once('exit', () => resolve());
        this.child.kill('SIGTERM');
        setTimeout(() => {
          for (const pid of this.cgroupDir ? this.cgroupPids() : [this.child.pid!]) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
        }, timeoutMs).unref();
      });
    }
    if (this.cgroupDir) {
      // Children the program left behind would keep the cgroup busy.
      for (const pid of this.cgroupPids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (let i = 0; i < 50 && fs.existsSync(this.cgroupDir); i++) {
        try {
          fs.rmdirSync(this.cgroupDir);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  }
}

/** One program's measured footprint, as the reports and the evidence file record it. */
export interface FootprintMeasurement {
  /** Component and container the figure sizes (lib/config/components.ts). */
  readonly component: string;
  readonly container: string;
  /** Program and exact version that ran. */
  readonly program: string;
  /** What it ran with: "generated configuration from dist/ (...)". */
  readonly configuration: string;
  /** What "idle" and "load" meant for this run. */
  readonly conditions: { readonly idle: string; readonly load: string };
  readonly method: MeterMethod;
  /** The memory limit of the program's cgroup (the container's limits.memory), when it ran under one. */
  readonly limitBytes?: number;
  readonly idle: MemorySample;
  readonly load: MemorySample;
}

/** A one-line human summary of a measurement, printed by the tests. */
export function describeMeasurement(m: FootprintMeasurement): string {
  const f = (s: MemorySample) =>
    `working set ${mib(s.workingSet)} MiB, anon ${mib(s.anon)} MiB, RSS ${mib(s.rss)} MiB${s.mappedFile === undefined ? '' : `, mapped files ${mib(s.mappedFile)} MiB`}`;
  const limit = m.limitBytes === undefined ? '' : `, limit ${mib(m.limitBytes)} MiB`;
  return `${m.component}/${m.container} (${m.program}, ${m.method}${limit}): idle ${f(m.idle)}; load peak ${f(m.load)}`;
}

/**
 * Prints the measurement and, with WRITE_REPORTS=1, writes it to reports/footprint/<component>-<container>.json
 * (figures in MiB) so that a run's numbers can be reviewed and carried into lib/config/evidence.ts.
 */
export function recordFootprint(m: FootprintMeasurement): void {
  console.log(describeMeasurement(m));
  if (!process.env.WRITE_REPORTS) return;
  const dir = path.join(ROOT, 'reports', 'footprint');
  fs.mkdirSync(dir, { recursive: true });
  const inMiB = (s: MemorySample) => ({
    workingSetMiB: mib(s.workingSet),
    anonMiB: mib(s.anon),
    rssMiB: mib(s.rss),
    ...(s.mappedFile === undefined ? {} : { mappedFileMiB: mib(s.mappedFile) }),
  });
  const { limitBytes, ...rest } = m;
  const row = {
    ...rest,
    ...(limitBytes === undefined ? {} : { limitMiB: mib(limitBytes) }),
    idle: inMiB(m.idle),
    load: inMiB(m.load),
    date: new Date().toISOString().slice(0, 10),
    machine: `${process.arch}, ${require('node:os').cpus().length} cores`,
  };
  fs.writeFileSync(path.join(dir, `${m.component}-${m.container}.json`), `${JSON.stringify(row, null, 2)}\n`);
}
