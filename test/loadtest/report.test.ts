import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTER_METRICS, GAUGE_METRICS, TREND_METRICS } from '../../src/loadtest/metrics/catalogue.js';
import type { RunSummary } from '../../src/loadtest/metrics/summary.js';
import { CHARTS, escapeHtml, reportHtml, writeHtmlReport } from '../../src/loadtest/report/html.js';
import { reportJson, writeJsonReport } from '../../src/loadtest/report/json.js';
import { renderSummary } from '../../src/loadtest/report/text.js';
import { fixtureSummary } from '../helpers/summary-fixture.js';

const SCHEMA_PATH = new URL('../../schema/loadtest-report.schema.json', import.meta.url);
const ARTIFACTS = new URL('../../artifacts/', import.meta.url);

/** A parsed report that tests mutate freely, into shapes no type would allow. */
// biome-ignore lint/suspicious/noExplicitAny: breaking the shape on purpose is what these tests do
type Doc = any;
type Json = Record<string, unknown> & { properties: Record<string, Json>; required: string[] };

let dir: string;
let validate: ReturnType<Ajv['compile']>;
let schema: Json;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engage-report-'));
  schema = JSON.parse(await readFile(SCHEMA_PATH, 'utf8')) as Json;
  // strict: true also checks the schema itself for sloppiness (unknown keywords, untyped constraints...).
  validate = new Ajv({ strict: true, allErrors: true }).compile(schema);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The summary as a report reader sees it: parsed from the JSON report. */
function parsed(summary: RunSummary = fixtureSummary()): Doc {
  return JSON.parse(reportJson(summary));
}

function errorsOf(doc: unknown): string {
  validate(doc);
  return JSON.stringify(validate.errors);
}

describe('JSON report and its schema', () => {
  it('names every metric of metrics/catalogue.ts as a required key, and only those', () => {
    const metrics = schema.properties.metrics!.properties;
    for (const [kind, catalogue] of [
      ['trends', TREND_METRICS],
      ['counters', COUNTER_METRICS],
      ['gauges', GAUGE_METRICS],
    ] as const) {
      const level = metrics[kind]!;
      expect(level.required).toEqual(Object.keys(catalogue));
      expect(Object.keys(level.properties)).toEqual(Object.keys(catalogue));
      expect(level.additionalProperties).toBe(false);
    }
    const names = (
      (schema.definitions as Record<string, { enum: string[] }>).metricName as { enum: string[] }
    ).enum;
    expect(names).toEqual([
      ...Object.keys(TREND_METRICS),
      ...Object.keys(COUNTER_METRICS),
      ...Object.keys(GAUGE_METRICS),
    ]);
  });

  it('is pretty-printed with two spaces and ends with a newline', () => {
    const text = reportJson(fixtureSummary());
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe('  "schema": "engage-loadtest/5",');
  });

  it('validates against the schema, interrupted, saturated, signaling-only or empty alike', () => {
    expect(errorsOf(parsed())).toBe('null');
    const other = fixtureSummary({ points: 0 });
    other.run.interrupted = true;
    other.plan.mode = 'signaling-only';
    other.generator.saturated = true;
    other.server = { source: 'unavailable', note: 'GET /metrics: connection refused' };
    other.thresholds = [];
    other.worstRooms = [];
    other.worstBots = [
      { bot: 'b', room: 'r', state: 'never-started', linksConnected: 0, linksExpected: 0, lossPct: 0 },
    ];
    other.signalErrors = {};
    expect(errorsOf(parsed(other))).toBe('null');
  });

  it('rejects a report with a metric missing', () => {
    const doc = parsed();
    delete doc.metrics.trends.rtt_ms;
    expect(validate(doc)).toBe(false);
    expect(errorsOf(doc)).toContain('rtt_ms');
    const doc2 = parsed();
    delete doc2.metrics.counters.chat_received;
    expect(validate(doc2)).toBe(false);
    const doc3 = parsed();
    delete doc3.metrics.gauges.generator_loop_lag_ms;
    expect(validate(doc3)).toBe(false);
  });

  it('rejects wrong types, wrong constants and impossible values', () => {
    const mutations: Array<(d: Doc) => void> = [
      (d) => {
        d.run.durationS = '121.4';
      },
      (d) => {
        d.run.interrupted = 'no';
      },
      (d) => {
        // A version 1 report (nearest-rank percentiles, no failures) is not a version 5 one.
        d.schema = 'engage-loadtest/1';
      },
      (d) => {
        // Nor is a version 2 one, which had no reconnect metrics.
        d.schema = 'engage-loadtest/2';
      },
      (d) => {
        // Nor a version 3 one, which had no mergeable parts.
        d.schema = 'engage-loadtest/3';
      },
      (d) => {
        // Nor a version 4 one, which had no join_mesh_ms.
        d.schema = 'engage-loadtest/4';
      },
      (d) => {
        delete d.metrics.trends.join_mesh_ms;
      },
      (d) => {
        delete d.metrics.counters.signal_reconnects;
      },
      (d) => {
        d.server.restarts = 0;
      },
      (d) => {
        delete d.run.failures;
      },
      (d) => {
        d.run.failures = [{ component: 'host', host: 0, reason: '', bots: 1 }];
      },
      (d) => {
        d.run.failures = [{ component: 'gremlin', reason: 'x', bots: 0 }];
      },
      (d) => {
        d.server.cpuPct = { avg: 1 };
      },
      (d) => {
        d.metrics.counters.bots_joined = 59.5;
      },
      (d) => {
        d.metrics.counters.links_failed = -1;
      },
      (d) => {
        d.metrics.trends.join_ms.p95 = null;
      },
      (d) => {
        d.thresholds[0].metric = 'not_a_metric';
      },
      (d) => {
        d.worstBots[0].state = 'exploded';
      },
      (d) => {
        d.run.startedAt = 'yesterday';
      },
      (d) => {
        d.timeSeries[3].videoKbps = -5;
      },
      (d) => {
        d.signalErrors['room-full'] = 'one';
      },
    ];
    for (const mutate of mutations) {
      const doc = parsed();
      mutate(doc);
      expect(validate(doc), mutate.toString()).toBe(false);
    }
  });

  it('rejects an extra property at every closed level', () => {
    const levels: Array<(d: Doc) => Record<string, unknown>> = [
      (d) => d,
      (d) => d.run,
      (d) => d.plan,
      (d) => d.thresholds[0],
      (d) => d.metrics,
      (d) => d.metrics.trends,
      (d) => d.metrics.trends.ice_connect_ms,
      (d) => d.metrics.counters,
      (d) => d.metrics.gauges,
      (d) => d.metrics.gauges.generator_cpu_pct,
      (d) => d.server,
      (d) => d.generator,
      (d) => d.generator.rssMb,
      (d) => d.worstRooms[0],
      (d) => d.worstBots[0],
      (d) => d.timeSeries[0],
      (d) => d.server.cpuPct,
      (d) => {
        d.run.failures = [{ component: 'host', host: 0, reason: 'boom', bots: 1 }];
        return d.run.failures[0];
      },
    ];
    for (const level of levels) {
      const doc = parsed();
      level(doc).surprise = 1;
      expect(validate(doc), level.toString()).toBe(false);
      expect(errorsOf(doc)).toContain('additionalProperties');
    }
    // Open maps stay open: any error code may appear.
    const doc = parsed();
    doc.signalErrors['made-up-code'] = 3;
    doc.server.errors.other = 1;
    expect(errorsOf(doc)).toBe('null');
  });

  it('writes a file that reads back as the same summary, leaving no temporary file', async () => {
    const summary = fixtureSummary();
    const target = join(dir, 'nested', 'deeper', 'report.json');
    await writeJsonReport(summary, target, () => {
      throw new Error('not stdout');
    });
    const text = await readFile(target, 'utf8');
    expect(text).toBe(reportJson(summary));
    expect(JSON.parse(text)).toEqual(summary);
    expect(validate(JSON.parse(text))).toBe(true);
    // Overwrites in place.
    summary.run.id = 'second';
    await writeJsonReport(summary, target, () => {});
    expect(JSON.parse(await readFile(target, 'utf8')).run.id).toBe('second');
    expect(await readdir(join(dir, 'nested', 'deeper'))).toEqual(['report.json']);
  });

  it('sends the whole text to the callback for "-" and writes no file', async () => {
    const summary = fixtureSummary();
    const calls: string[] = [];
    const before = await readdir(dir);
    await writeJsonReport(summary, '-', (text) => calls.push(text));
    expect(calls).toEqual([reportJson(summary)]);
    expect(await readdir(dir)).toEqual(before);
  });

  it('leaves neither a half file nor a temporary file when the write fails', async () => {
    const target = join(dir, 'occupied');
    await mkdir(join(target, 'child'), { recursive: true });
    await expect(writeJsonReport(fixtureSummary(), target, () => {})).rejects.toThrow();
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
    expect(await readdir(target)).toEqual(['child']);
  });
});

describe('a failed run and the server apart, in every report', () => {
  it('validates against the schema, with and without an embedded server', () => {
    expect(errorsOf(parsed(fixtureSummary({ failed: true })))).toBe('null');
    const remote = fixtureSummary();
    remote.run.embeddedServer = false;
    remote.server = { source: 'remote', messagesIn: 10, messagesOut: 20, errors: {} };
    for (const p of remote.timeSeries) delete p.serverCpuPct;
    expect(errorsOf(parsed(remote))).toBe('null');
  });

  it('validates a multi-instance run, and refuses an instance without its counts', () => {
    expect(errorsOf(parsed(fixtureSummary({ cluster: true })))).toBe('null');
    const broken = parsed(fixtureSummary({ cluster: true }));
    delete broken.server.instances[0].botsJoined;
    expect(errorsOf(broken)).toMatch(/botsJoined/);
    const extra = parsed(fixtureSummary({ cluster: true }));
    extra.server.instances[1].cpuPct = 3;
    expect(errorsOf(extra)).toMatch(/additionalProperties/);
  });

  it('shows one row per instance in the text summary and the HTML report', () => {
    const summary = fixtureSummary({ cluster: true });
    const lines = renderSummary(summary).split('\n');
    expect(lines[1]).toBe(
      "servers ws://127.0.0.1:41877, ws://127.0.0.1:41878, ws://127.0.0.1:41879 (3 instances; each room's members spread over them)",
    );
    const row = (url: string) =>
      lines
        .find((l) => l.startsWith(`  ${url}`))!
        .trim()
        .split(/\s+/);
    expect(row('ws://127.0.0.1:41877')).toEqual([
      'ws://127.0.0.1:41877',
      '20/20',
      '0',
      '20',
      '610',
      '2440',
      '0',
      '≤5',
    ]);
    expect(row('ws://127.0.0.1:41878')).toEqual([
      'ws://127.0.0.1:41878',
      '19/20',
      '1',
      '20',
      '620',
      '2430',
      '1',
      '≤10',
    ]);
    expect(row('ws://127.0.0.1:41879')).toEqual([
      'ws://127.0.0.1:41879',
      '20/20',
      '0',
      '19',
      '-',
      '-',
      '-',
      '-',
    ]);
    expect(lines).toContain('    no engage_ metrics at http://127.0.0.1:41879/metrics at the end');
    expect(lines).toContain(
      '  messages in 1230, out 4870; relay latency p50 ≤ 1 ms, p99 ≤ 10 ms; peak sockets 59',
    );
    const html = reportHtml(summary);
    expect(html).toContain('<span class="tag">3 instances</span>');
    expect(html).toContain('<h2>Instances</h2><table class="instances">');
    expect(html.match(/<tr><td><code>ws:\/\/127\.0\.0\.1:4187\d<\/code>/g)).toHaveLength(3);
    expect(html).toContain('room-full: 1');
    expect(html).toContain('<h3>Sockets per instance (count, read each second)</h3>');
    expect(html).toMatch(/127\.0\.0\.1:41877<\/span><span><i[^>]*><\/i>127\.0\.0\.1:41878/);
    const columns = JSON.parse(
      /<script type="application\/json" id="series">(.*?)<\/script>/.exec(html)![1]!,
    );
    expect(columns.instanceSockets0.at(-1)).toBe(20);
    expect(columns.instanceSockets2.at(-1)).toBe(19);
    expect(columns.serverCpuPct).toBeUndefined();
    // One server: nothing of the above.
    const single = renderSummary(fixtureSummary());
    expect(single).toContain('server  ws://127.0.0.1:41877/ws (embedded)');
    expect(single).not.toContain('instance');
    expect(reportHtml(fixtureSummary())).not.toContain('<h2>Instances</h2>');
    expect(reportHtml(fixtureSummary())).not.toContain('Sockets per instance');
  });

  it('says what failed at the top of the text summary, and shows both CPUs', () => {
    const text = renderSummary(fixtureSummary({ failed: true }));
    const lines = text.split('\n');
    const failed = lines.findIndex((l) => l.startsWith('FAILED: '));
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(lines.findIndex((l) => l.startsWith('SIGNALING')));
    expect(lines[failed]).toBe(
      'FAILED: host 1 (worker thread) failed: Error: ENOSPC: no space left on device, write; its 15 running bots counted failed. The run was stopped early.',
    );
    expect(text).toMatch(
      /SERVER\n(.*\n)* {2}its own process: CPU avg \d+(\.\d)?% max \d+(\.\d)?% \(of 400%\)/,
    );
    expect(text).toMatch(/GENERATOR\n {2}4 cores, 4 worker\(s\); own CPU avg/);
    expect(renderSummary(fixtureSummary())).not.toContain('FAILED');
  });

  it('puts a failure banner first in the HTML report, and charts the server CPU only when measured', () => {
    const html = reportHtml(fixtureSummary({ failed: true }));
    const banner = html.indexOf('<div class="banner bad" role="alert"><strong>Run failed</strong>');
    expect(banner).toBeGreaterThan(0);
    expect(banner).toBeLessThan(html.indexOf('Thresholds'));
    expect(html).toContain('host 1 (worker thread) failed: Error: ENOSPC');
    expect(reportHtml(fixtureSummary())).not.toContain('Run failed');

    const embedded = reportHtml(fixtureSummary());
    expect(embedded).toContain('embedded server</span>');
    expect(embedded).toMatch(
      /<th>CPU<\/th><td class="num">[\d.]+% avg<\/td><td class="muted">max [\d.]+%, of one core; the server’s own process/,
    );
    const remote = fixtureSummary();
    remote.run.embeddedServer = false;
    remote.server = { source: 'remote', messagesIn: 10, messagesOut: 20, errors: {} };
    for (const p of remote.timeSeries) delete p.serverCpuPct;
    const all = CHARTS.reduce((n, c) => n + c.series.length, 0);
    expect(embedded.match(/<polyline /g)?.length).toBe(all);
    // No line at zero for a server nobody measured.
    expect(reportHtml(remote).match(/<polyline /g)?.length).toBe(all - 1);
    expect(reportHtml(remote)).not.toContain('embedded server</span>');
  });
});

describe('HTML report', () => {
  const HOSTILE = '<img src=x onerror=alert(1)>';

  it('references nothing outside itself', () => {
    const html = reportHtml(fixtureSummary());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<script[^>]*\ssrc\s*=/i);
    expect(html).not.toMatch(/<(?:link|iframe|img|object|embed|base)\b/i);
    expect(html).not.toMatch(/@import|url\(/i);
    // No element carries an attribute that loads or links to anything (in-page #anchors would be fine).
    expect(html).not.toMatch(/<[a-z][^>]*\s(?:src|srcset|href|xlink:href|action|poster)\s*=\s*["']?(?!#)/i);
  });

  it('shows the run, the plan, thresholds with their actual values, and every chart title', () => {
    const summary = fixtureSummary();
    const html = reportHtml(summary);
    expect(html).toContain(summary.run.id);
    expect(html).toContain('ws://127.0.0.1:41877/ws');
    expect(html).toContain('2025-11-25 12:30:00 UTC');
    expect(html).toContain(escapeHtml(summary.plan.media));
    expect(html).toContain('<code>mesh_ready_ms:p(95)&lt;2000</code>');
    expect(html).toMatch(
      /<tr class="fail"><td class="mark">✗<\/td><td><code>mesh_ready_ms:p\(95\)&lt;2000<\/code><\/td><td class="num">2,380 ms<\/td>/,
    );
    expect(html).toMatch(
      /<tr class="pass"><td class="mark">✓<\/td><td><code>ice_connect_ms:p\(95\)&lt;500<\/code><\/td><td class="num">413 ms<\/td>/,
    );
    expect(html).toContain('2 of 4 failed');
    expect(html.indexOf('Thresholds')).toBeLessThan(html.indexOf('Signaling'));
    for (const name of [...Object.keys(TREND_METRICS), ...Object.keys(COUNTER_METRICS)]) {
      expect(html, name).toContain(`<code>${name}</code>`);
    }
    expect(html).toContain('room-full');
    expect(html).toContain('room-07');
    expect(html).toContain('bot-35');
    for (const c of CHARTS) expect(html).toContain(escapeHtml(c.title));
    expect(html).toContain('Packet loss (%)');
    expect(html).toContain('Latency (ms)');
    expect(html.match(/<polyline /g)?.length).toBe(CHARTS.reduce((n, c) => n + c.series.length, 0));
    expect(html).not.toContain('Interrupted');
    expect(html).not.toContain('Load generator saturated');
  });

  it('sets each --net group configured against measured, names its bots, and escapes its profile', () => {
    const summary = fixtureSummary();
    summary.netGroups![0]!.profile = '<b>loss=5%</b>';
    const html = reportHtml(summary);
    expect(html).toContain('<h2>Network profiles</h2>');
    expect(html).toContain('<code>&lt;b&gt;loss=5%&lt;/b&gt;</code>');
    expect(html).not.toContain('<b>loss=5%</b>');
    expect(html).toMatch(/5% →<\/span> 5\.1%/);
    expect(html).toContain('bot-0 bot-4 bot-8');
    const text = renderSummary(fixtureSummary());
    expect(text).toMatch(/NETWORK PROFILES/);
    expect(text).toMatch(/loss=5%,delay=80ms +15 +5% → 5\.1% +0% → 1\.3% +\+80 → 92\.4 ms/);
    expect(text).toMatch(/carried by +host 110, relay 7 of 117 connected/);
    expect(text).toMatch(/frames +208440 whole, 1210 incomplete, 0 corrupt; freezes 37 \(14220 ms\)/);
    // Each bot's profile, in the worst bots too.
    expect(text).toMatch(/bot-33 .* net loss=5%,delay=80ms/);
    expect(html).toMatch(/<th>net<\/th>/);
    expect(html).toContain('<td><code>loss=5%,delay=80ms</code></td>');
    delete summary.netGroups;
    expect(reportHtml(summary)).not.toContain('Network profiles');
  });

  it('escapes every string that comes from the run', () => {
    const summary = fixtureSummary();
    summary.worstBots[0]!.bot = HOSTILE;
    summary.worstBots[0]!.error = `</td></tr></table><script>alert("err")</script>`;
    summary.worstRooms[0]!.room = `"><svg onload=alert(2)>`;
    summary.worstBots[1]!.room = `'><b>room</b>`;
    summary.run.url = 'ws://evil.example/<script>alert(3)</script>';
    summary.run.id = '<i>id</i>';
    summary.plan.media = '<marquee>VP8</marquee>';
    summary.signalErrors = { '<u>code</u>': 2 };
    summary.server.errors = { '<s>srv</s>': 1 };
    summary.server.note = '<em>note</em>';
    summary.generator.warnings = ['<blink>hot</blink>'];
    summary.generator.saturated = true;
    summary.thresholds[0]!.threshold = 'rtt_ms:p(95)<50 && <b>x</b>';
    const html = reportHtml(summary);
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    for (const raw of [
      '<script>alert',
      '<svg onload',
      '<b>room',
      '<i>id',
      '<marquee>',
      '<u>code',
      '<s>srv',
      '<em>note',
      '<blink>',
      '<b>x',
    ]) {
      expect(html, raw).not.toContain(raw);
    }
    expect(html).toContain('&quot;&gt;&lt;svg onload=alert(2)&gt;');
    expect(html).toContain('&#39;&gt;&lt;b&gt;room&lt;/b&gt;');
    expect(html).toContain('&lt;blink&gt;hot&lt;/blink&gt;');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('shows the interrupted banner and the saturation warning prominently', () => {
    const summary = fixtureSummary();
    summary.run.interrupted = true;
    summary.generator.saturated = true;
    const html = reportHtml(summary);
    const interrupted = html.indexOf('<div class="banner bad" role="alert"><strong>Interrupted</strong>');
    const saturated = html.indexOf(
      '<div class="banner warn" role="alert"><strong>Load generator saturated</strong>',
    );
    expect(interrupted).toBeGreaterThan(0);
    expect(saturated).toBeGreaterThan(interrupted);
    expect(saturated).toBeLessThan(html.indexOf('Thresholds'));
  });

  it('handles an empty time series, a single point and a run with no samples', () => {
    const empty = fixtureSummary({ points: 0 });
    for (const name of Object.keys(empty.metrics.trends) as Array<keyof typeof empty.metrics.trends>) {
      empty.metrics.trends[name] = { count: 0, min: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 };
    }
    empty.thresholds = [];
    empty.worstRooms = [];
    empty.worstBots = [];
    const html = reportHtml(empty);
    expect(html.match(/>No data<\/text>/g)?.length).toBe(CHARTS.length);
    expect(html).not.toContain('<polyline');
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/NaN|Infinity|undefined/);
    expect(html).toContain('No thresholds were set.');
    expect(html).toContain('no samples');

    const one = reportHtml(fixtureSummary({ points: 1 }));
    expect(one).not.toMatch(/NaN|Infinity|undefined/);
    expect(one.match(/<circle /g)?.length).toBe(CHARTS.reduce((n, c) => n + c.series.length, 0));
  });

  it('stays small for a ten-minute run, and thins out longer ones', () => {
    const tenMinutes = reportHtml(fixtureSummary({ points: 600 }));
    expect(Buffer.byteLength(tenMinutes)).toBeLessThan(300_000);
    expect(tenMinutes).not.toMatch(/NaN|Infinity|undefined/);
    const hour = reportHtml(fixtureSummary({ points: 3600 }));
    expect(Buffer.byteLength(hour)).toBeLessThan(600_000);
  });

  it('writes the report atomically, and renders the sample to artifacts/report-sample.html', async () => {
    const target = join(dir, 'html', 'report.html');
    await writeHtmlReport(fixtureSummary(), target);
    expect(await readFile(target, 'utf8')).toBe(reportHtml(fixtureSummary()));
    expect(await readdir(join(dir, 'html'))).toEqual(['report.html']);

    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(new URL('report-sample.html', ARTIFACTS), reportHtml(fixtureSummary()));
  });
});
