/**
 * Strict parsers for the Kubernetes quantities the config accepts. Only the suffixes an
 * operator sizing a 2 GB board would write are allowed, so a typo such as `512MB` fails
 * synth instead of becoming 512 bytes-per-mille.
 */

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
};

const MEMORY_PATTERN = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|k|M|G)?$/;
const CPU_PATTERN = /^([0-9]+(?:\.[0-9]+)?)(m)?$/;

/** Bytes of a memory quantity such as `128Mi`, or undefined when malformed. */
export function memoryBytes(quantity: string): number | undefined {
  const match = MEMORY_PATTERN.exec(quantity);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * MEMORY_UNITS[match[2] ?? '']);
}

/** Millicores of a CPU quantity such as `250m` or `1`, or undefined when malformed. */
export function cpuMillis(quantity: string): number | undefined {
  const match = CPU_PATTERN.exec(quantity);
  if (!match) return undefined;
  const value = Number(match[1]);
  return Math.round(match[2] === 'm' ? value : value * 1000);
}

export const MEMORY_FORMAT_HINT = 'a memory quantity such as 64Mi, 1Gi or 500M';
export const CPU_FORMAT_HINT = 'a CPU quantity such as 100m or 1';

/** Mebibytes, rounded to one decimal, for reports. */
export function toMi(bytes: number): number {
  return Math.round((bytes / 1024 ** 2) * 10) / 10;
}
