/** Frame durations averaged over (W3C webrtc-stats, freezeCount). */
const WINDOW = 30;
/** Like libwebrtc, no freeze is called before this many frame durations are known. */
const MIN_DURATIONS = 5;

/**
 * Video freezes as W3C webrtc-stats defines them (RTCInboundRtpStreamStats.freezeCount and
 * totalFreezesDuration): the time between two consecutively rendered frames is a freeze when it is at
 * least max(3 × avg, avg + 150 ms), avg being the mean of the last 30 such durations. "Rendered" here
 * is: complete, and decodable (see FrameAssembler): engage never decodes, so this is a decoder's view.
 */
export class FreezeDetector {
  private lastRenderAt: number | undefined;
  private readonly durations = new Float64Array(WINDOW);
  private count = 0;
  private next = 0;
  private sum = 0;
  freezeCount = 0;
  /** Total duration of the frozen intervals, ms (W3C totalFreezesDuration, in ms). */
  freezeMs = 0;

  onRender(at: number): void {
    const last = this.lastRenderAt;
    this.lastRenderAt = at;
    if (last === undefined) return;
    const duration = Math.max(0, at - last);
    if (this.count >= MIN_DURATIONS) {
      const avg = this.sum / this.count;
      if (duration >= Math.max(3 * avg, avg + 150)) {
        this.freezeCount++;
        this.freezeMs += duration;
      }
    }
    if (this.count === WINDOW) this.sum -= this.durations[this.next]!;
    else this.count++;
    this.durations[this.next] = duration;
    this.sum += duration;
    this.next = (this.next + 1) % WINDOW;
  }
}
