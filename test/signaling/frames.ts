/** A custom action whose keyword nests `depth` arrays: about 2 bytes per level, far under the frame limit. */
export function nestedArrayFrame(peer: string, depth: number): string {
  return `{"peer":${JSON.stringify(peer)},"action":"x","keyword":{"k":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
}
