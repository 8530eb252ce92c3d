import type { Random } from './random.js';

/** Decides, packet by packet, whether the network loses it. */
export interface LossModel {
  lose(): boolean;
}

/** Every packet lost with the same probability, independently (netem's `loss random`). */
export class BernoulliLoss implements LossModel {
  private readonly p: number;

  constructor(
    lossPct: number,
    private readonly random: Random,
  ) {
    this.p = lossPct / 100;
  }

  lose(): boolean {
    return this.random() < this.p;
  }
}

/**
 * Bursty loss, Gilbert-Elliott in its simple (Gilbert) form: a good state that loses nothing and a bad
 * state that loses every packet. Leaving the bad state has probability r = 1/burst, so bursts average
 * `burst` packets; entering it has p = r·loss/(1−loss), so the long-run loss is `loss`.
 */
export class GilbertElliottLoss implements LossModel {
  /** P(good → bad) and P(bad → good) per packet. */
  readonly p: number;
  readonly r: number;
  private bad = false;

  constructor(
    lossPct: number,
    burst: number,
    private readonly random: Random,
  ) {
    const loss = lossPct / 100;
    this.r = 1 / burst;
    this.p = loss >= 1 ? 1 : Math.min(1, (this.r * loss) / (1 - loss));
  }

  lose(): boolean {
    this.bad = this.bad ? this.random() >= this.r : this.random() < this.p;
    return this.bad;
  }
}

export const NO_LOSS: LossModel = { lose: () => false };

export function lossModel(lossPct: number, burst: number | undefined, random: Random): LossModel {
  if (lossPct <= 0) return NO_LOSS;
  if (lossPct >= 100) return { lose: () => true };
  return burst === undefined
    ? new BernoulliLoss(lossPct, random)
    : new GilbertElliottLoss(lossPct, burst, random);
}
