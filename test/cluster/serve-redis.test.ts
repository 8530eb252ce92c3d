import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWER_SDP, OFFER_SDP, TestClient } from '../helpers/client.js';
import { RedisProcess } from '../helpers/redis.js';
import { ServeProcess } from '../helpers/serve-process.js';

describe('engage serve --redis: two processes, one room', () => {
  let redis: RedisProcess;
  const serves: ServeProcess[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await RedisProcess.start();
    serves.push(
      await ServeProcess.start(['--redis', redis.url, '--instance-id', 'a']),
      // The URL from the environment, as a container would give it.
      await ServeProcess.start(['--instance-id', 'b'], { ENGAGE_REDIS_URL: redis.url }),
    );
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(serves.map((s) => s.kill()));
    await redis?.stop();
  });

  async function join(at: ServeProcess, room: string, name: string) {
    const client = await TestClient.connect(at.url, room);
    clients.push(client);
    client.say(name, 'new-join');
    const echo = await client.next((m) => m.action === 'new-join' && m.peer === name);
    return { client, channel: echo.keyword.receiver_channel_name as string };
  }

  it('relays the join dance between members on different instances, and peer-left', async () => {
    const [a, b] = serves as [ServeProcess, ServeProcess];
    expect(await a.health()).toMatchObject({ status: 'ok', instance: 'a', engine: 'ready' });
    expect(await b.health()).toMatchObject({ status: 'ok', instance: 'b' });
    const alice = await join(a, 'r', 'alice');
    const bob = await join(b, 'r', 'bob');
    const heard = await alice.client.next((m) => m.action === 'new-join' && m.peer === 'bob');
    expect(heard.keyword.receiver_channel_name).toBe(bob.channel);
    alice.client.say('alice', 'new-offer', { sdp: OFFER_SDP, receiver_channel_name: bob.channel });
    const offer = await bob.client.nextAction('new-offer');
    expect(offer).toEqual({
      peer: 'alice',
      action: 'new-offer',
      keyword: { sdp: OFFER_SDP, receiver_channel_name: alice.channel },
    });
    bob.client.say('bob', 'new-answer', { sdp: ANSWER_SDP, receiver_channel_name: alice.channel });
    expect((await alice.client.nextAction('new-answer')).keyword).toEqual({
      sdp: ANSWER_SDP,
      receiver_channel_name: bob.channel,
    });
    // The name is taken across instances, at the upgrade and in a message.
    const impostor = await TestClient.connect(b.url, 'r');
    clients.push(impostor);
    impostor.say('alice', 'new-join');
    await impostor.nextError('username-taken');
    expect((await impostor.closed).code).toBe(4409);
    bob.client.close();
    const left = await alice.client.nextAction('peer-left');
    expect(left).toEqual({
      peer: 'bob',
      action: 'peer-left',
      keyword: { receiver_channel_name: bob.channel },
    });
    const metrics = await a.metrics();
    expect(metrics).toMatch(/^engage_engine_available 1$/m);
    expect(metrics).toMatch(/^engage_redis_roundtrip_seconds_count\{op="claim"\} [1-9]/m);
  });
});
