import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MediaFeed } from '../../peer/link.js';
import { loadFeeds } from '../../peer/media/feeds.js';
import { botReporter } from '../bots/bot-join.js';
import { MediaLoadBot } from '../bots/media-bot.js';
import { SignalingLoadBot } from '../bots/signaling-bot.js';
import type { BotSpec, HostCommand, HostEvent, Post, PostMessage } from './messages.js';

interface LoadBot {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs bots in one thread (a worker, or the main thread with --workers 0) and posts their samples.
 * Media feeds are loaded once per thread and shared by all its bots.
 */
export class BotHost {
  private readonly bots: LoadBot[] = [];
  private readonly starting: Promise<void>[] = [];
  private feeds: Promise<MediaFeed[]> | undefined;
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private readonly healthTimer: NodeJS.Timeout;
  private stopping: Promise<void> | undefined;
  private readonly post: Post;
  private readonly flushTimer: NodeJS.Timeout;

  constructor(post: PostMessage) {
    // Samples leave in batches, four times a second: one postMessage per event cost a few percent of a
    // worker's CPU in a 20-bot mesh. The main thread still receives every sample, never an aggregate.
    const outbox: HostEvent[] = [];
    this.flushTimer = setInterval(() => {
      if (outbox.length > 0) post({ type: 'batch', events: outbox.splice(0) });
    }, 250);
    this.flushTimer.unref();
    this.post = (event) => {
      outbox.push(event);
      if (event.type === 'stopped') post({ type: 'batch', events: outbox.splice(0) });
    };
    this.lag.enable();
    this.healthTimer = setInterval(() => {
      this.post({ type: 'health', loopLagP99Ms: this.lag.percentile(99) / 1e6 });
      this.lag.reset();
    }, 1000);
    this.healthTimer.unref();
    post({ type: 'batch', events: [{ type: 'ready' }] });
  }

  handle(cmd: HostCommand): void {
    switch (cmd.type) {
      case 'start': {
        // Handled here, where it is made: a bot that cannot start (its media unreadable, a full disk
        // for its recordings) is one failed bot, not an unhandled rejection that ends the host.
        const { spec } = cmd;
        const started = this.start(spec).catch((err: unknown) => {
          botReporter(spec, this.post).failed(`could not start: ${errorText(err)}`);
        });
        this.starting.push(started);
        return;
      }
      case 'stop':
        this.stop().catch((err: unknown) => {
          // Only posting can fail here: a host that cannot report is broken. Thrown where nothing
          // catches it, it ends a worker, which the pool reports as host_failed.
          setImmediate(() => {
            throw err;
          });
        });
        return;
    }
  }

  private async start(spec: BotSpec): Promise<void> {
    if (this.stopping) return;
    let bot: LoadBot;
    if (spec.mode === 'media') {
      this.feeds ??= loadFeeds(spec.video, spec.audio);
      bot = new MediaLoadBot(spec, await this.feeds, this.post);
    } else {
      bot = new SignalingLoadBot(spec, this.post);
    }
    this.bots.push(bot);
    await bot.start();
  }

  /** Every bot leaves cleanly; then `stopped` is posted. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await Promise.allSettled(this.starting);
        await Promise.allSettled(this.bots.map((b) => b.stop()));
      } finally {
        clearInterval(this.healthTimer);
        clearInterval(this.flushTimer);
        this.lag.disable();
        this.post({ type: 'stopped' });
      }
    })();
    return this.stopping;
  }
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
