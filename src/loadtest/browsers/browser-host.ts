import type { Browser } from 'playwright-core';
import type { HostHandle, HostListener } from '../execute/hosts.js';
import type { BotSpec, HostCommand, HostEvent } from '../execute/messages.js';
import { BrowserParticipant, READ_TIMEOUT_MS } from './browser-participant.js';
import { type BrowserUsage, ChromiumTreeMeter, chromiumArgs } from './chromium.js';
import type { FakeMedia } from './fake-media.js';

export interface BrowserHostOptions {
  executable: string;
  media: FakeMedia;
  /** Longest Chromium may take to start before every browser participant counts as failed. */
  launchTimeoutMs?: number;
}

/**
 * The host of every browser participant: one headless Chromium (playwright-core driving the given
 * binary; nothing is downloaded), one browser context per participant. It runs on the main thread:
 * driving pages costs this process little, the pages' own work is Chromium's, measured apart
 * (usage()). It reports ready once Chromium is up, or could not start: then each participant it is
 * given fails with that reason, and the bots' run carries on. Chromium dying mid-run fails every
 * participant still in it; the host itself never fails the run's clock.
 */
export class BrowserHost implements HostHandle {
  readonly kind = 'browser';
  private browser: Browser | undefined;
  private launchError: string | undefined;
  private readonly participants: BrowserParticipant[] = [];
  private readonly starting: Promise<void>[] = [];
  private readonly meter = new ChromiumTreeMeter();
  private latest: BrowserUsage | undefined;
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly outbox: HostEvent[] = [];

  private constructor(private readonly listener: HostListener) {
    // Batched like a worker's events, so the aggregate sees both alike.
    this.flushTimer = setInterval(() => this.flush(), 250);
    this.flushTimer.unref();
  }

  /** Starts Chromium; the host is ready (its `ready` posted) whether or not Chromium came up. */
  static async start(options: BrowserHostOptions, listener: HostListener): Promise<BrowserHost> {
    const host = new BrowserHost(listener);
    try {
      const { chromium } = await import('playwright-core');
      host.browser = await chromium.launch({
        executablePath: options.executable,
        args: chromiumArgs(options.media),
        headless: true,
        // Inside the hosts-ready limit (60 s): a Chromium that hangs at start is a counted failure, not a
        // timeout of the whole run.
        timeout: options.launchTimeoutMs ?? 30_000,
      });
      host.browser.on('disconnected', () => {
        if (!host.stopping && !host.closing) host.chromiumGone();
      });
    } catch (err) {
      host.launchError = `Chromium (${options.executable}) could not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
    }
    host.listener.message({ type: 'batch', events: [{ type: 'ready' }] });
    return host;
  }

  /** Chromium's CPU and memory at the latest reading (taken by usage() once a second). */
  usage(): BrowserUsage | undefined {
    if (!this.browser || this.closing) return this.latest;
    this.latest = this.meter.read() ?? this.latest;
    return this.latest;
  }

  private post = (event: HostEvent): void => {
    this.outbox.push(event);
  };

  private flush(): void {
    if (this.outbox.length > 0) this.listener.message({ type: 'batch', events: this.outbox.splice(0) });
  }

  send(cmd: HostCommand): void {
    if (this.closing) return;
    switch (cmd.type) {
      case 'start':
        this.startParticipant(cmd.spec);
        return;
      case 'stop':
        this.stop().catch(() => {});
        return;
    }
  }

  private startParticipant(spec: BotSpec): void {
    if (this.stopping) return;
    const browser = this.browser;
    const participant = new BrowserParticipant(
      spec,
      async () => {
        if (!browser) throw new Error(this.launchError ?? 'Chromium is not running');
        if (!browser.isConnected()) throw new Error('Chromium is no longer running');
        return browser.newContext({ viewport: { width: 1280, height: 720 } });
      },
      this.post,
    );
    this.participants.push(participant);
    this.starting.push(participant.start());
  }

  private chromiumGone(): void {
    for (const p of this.participants) p.fail('Chromium exited during the run');
  }

  /** Every participant leaves; then `stopped`. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        // Pages still joining are told too: they leave at their next step instead of joining.
        await Promise.allSettled([...this.participants.map((p) => p.stop()), ...this.starting]);
      } finally {
        this.post({ type: 'stopped' });
        this.flush();
      }
    })();
    return this.stopping;
  }

  /** Ends Chromium at once (after the grace period, for stragglers). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.flushTimer);
      const browser = this.browser;
      if (!browser) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        browser.close().catch(() => {}),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, READ_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
    })();
    return this.closing;
  }
}
