import { readFile } from 'node:fs/promises';
import { UsageError } from '../../util/errors.js';
import { mergeParts } from '../metrics/merge.js';
import type { ShardPart } from '../metrics/part.js';
import { REPORT_SCHEMA, type RunSummary } from '../metrics/summary.js';
import { parseThresholds } from '../metrics/thresholds.js';

/** Reads a JSON report (`engage loadtest --json`, or a merged one): checked at the boundary, exit 2 if not one. */
export async function readReport(path: string): Promise<RunSummary> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not JSON: ${(err as Error).message}`);
  }
  const schema = (doc as { schema?: unknown } | null)?.schema;
  if (schema !== REPORT_SCHEMA)
    throw new UsageError(
      `${path} is not an ${REPORT_SCHEMA} report (schema ${JSON.stringify(schema)}); write it again with this engage's loadtest --json`,
    );
  const parts = (doc as { parts?: unknown }).parts;
  if (!Array.isArray(parts) || parts.length === 0 || !parts.every(isPart))
    throw new UsageError(`${path}: its parts (the mergeable data) are missing or malformed`);
  return doc as RunSummary;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const allOf = (o: unknown, ok: (v: unknown) => boolean) => isObject(o) && Object.values(o).every(ok);
const isNumbers = (v: unknown) =>
  Array.isArray(v) && v.every((n) => typeof n === 'number' && Number.isFinite(n));

/** The fields the merge computes with, each of the type it needs (the schema describes the rest). */
function isPart(v: unknown): v is ShardPart {
  if (
    !isObject(v) ||
    !isObject(v.shard) ||
    !isObject(v.plan) ||
    !isObject(v.generator) ||
    !isObject(v.server)
  )
    return false;
  const { shard, plan } = v;
  return (
    isCount(shard.index) &&
    isCount(shard.count) &&
    (shard.index as number) < (shard.count as number) &&
    typeof v.runId === 'string' &&
    typeof v.planHash === 'string' &&
    typeof v.startedAt === 'string' &&
    typeof v.endedAt === 'string' &&
    isCount(plan.bots) &&
    isCount(plan.rooms) &&
    typeof plan.rampPerS === 'number' &&
    allOf(v.trends, isNumbers) &&
    allOf(v.counters, (n) => typeof n === 'number') &&
    allOf(v.signalErrors, (n) => typeof n === 'number') &&
    allOf(v.gauges, isObject) &&
    Array.isArray(v.bots) &&
    v.bots.every(
      (b) =>
        isObject(b) && typeof b.bot === 'string' && Array.isArray(b.connected) && Array.isArray(b.failed),
    ) &&
    Array.isArray(v.timeSeries) &&
    isNumbers(v.liveFlows) &&
    Array.isArray(v.failures) &&
    Array.isArray(v.thresholds)
  );
}

/**
 * Refuses parts that are not of one run of one plan, or that cover a shard twice: their merge would
 * be a number that means nothing. Usage errors (exit 2), naming the files that disagree.
 */
export function checkMergeable(parts: { part: ShardPart; file: string }[]): void {
  const [first] = parts;
  if (!first) throw new UsageError('report merge needs at least one report');
  for (const { part, file } of parts) {
    if (part.runId !== first.part.runId)
      throw new UsageError(
        `${file} is of run ${part.runId}, ${first.file} of run ${first.part.runId}: parts of different runs do not merge (give every shard the same --run-id)`,
      );
    if (part.planHash !== first.part.planHash || part.shard.count !== first.part.shard.count)
      throw new UsageError(
        `${file} and ${first.file} ran different plans (plan ${part.planHash} of ${part.shard.count} shard(s) vs ${first.part.planHash} of ${first.part.shard.count}): every shard must be given the same plan flags`,
      );
  }
  const seen = new Map<number, string>();
  for (const { part, file } of parts) {
    const other = seen.get(part.shard.index);
    if (other !== undefined)
      throw new UsageError(
        `${file} and ${other} both hold shard ${part.shard.index}: each shard may be merged once`,
      );
    seen.set(part.shard.index, file);
  }
}

/**
 * `engage report merge`: every report's parts, checked to be of one run and plan, merged into the
 * summary a single run of the whole plan prints. Thresholds are the ones given, else the parts' own.
 */
export async function mergeReports(files: string[], thresholds: string[] | undefined): Promise<RunSummary> {
  const parts: { part: ShardPart; file: string }[] = [];
  for (const file of files) for (const part of (await readReport(file)).parts) parts.push({ part, file });
  checkMergeable(parts);
  const sources = thresholds ?? [...new Set(parts.flatMap(({ part }) => part.thresholds))];
  return mergeParts(
    parts.map((p) => p.part),
    parseThresholds(sources),
  );
}
