import { describe, expect, it } from 'vitest';
import { JoinMeshTimer } from '../../src/loadtest/bots/join-mesh.js';

describe('JoinMeshTimer (join_mesh_ms)', () => {
  it('waits for every expected member to be known, then times the last link to a member present', () => {
    const timer = new JoinMeshTimer(1000, 3);
    timer.linked('a', true);
    timer.linked('b', true);
    timer.connected('a', 1200);
    timer.connected('b', 1500);
    // 'c' may still be in the room first and offer late: not known yet.
    expect(timer.take()).toBeUndefined();
    timer.linked('c', false);
    // A later joiner's link does not count, connected or not.
    expect(timer.take()).toBe(500);
    // Taken once.
    expect(timer.take()).toBeUndefined();
  });

  it('waits for a present member that has not connected', () => {
    const timer = new JoinMeshTimer(0, 2);
    timer.linked('a', true);
    timer.linked('b', true);
    timer.connected('a', 100);
    expect(timer.take()).toBeUndefined();
    timer.connected('b', 300);
    timer.connected('b', 900); // a link that connects again keeps its first time
    expect(timer.take()).toBe(300);
  });

  it('the first link to a member decides whether it was present', () => {
    const timer = new JoinMeshTimer(0, 1);
    timer.linked('a', false);
    timer.linked('a', true);
    timer.connected('a', 50);
    expect(timer.take()).toBeUndefined();
  });

  it('gives no sample to a bot that found its room empty', () => {
    const timer = new JoinMeshTimer(0, 2);
    timer.linked('a', false);
    timer.linked('b', false);
    timer.connected('a', 10);
    timer.connected('b', 20);
    expect(timer.take()).toBeUndefined();
  });
});
