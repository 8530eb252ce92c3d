/**
 * The protocol test suite (test/signaling/) once more, against three `engage serve --redis` instances on
 * a real redis-server: useServer starts the cluster and puts each client of a room on another instance
 * than the peers that joined before it. The tests are the very same files, imported here after the
 * switch, so the cluster keeps every rule one server keeps.
 */
import { useCluster } from '../helpers/server.js';

useCluster(3);

await import('../signaling/relay.test.js');
await import('../signaling/identity.test.js');
await import('../signaling/caps.test.js');
await import('../signaling/limits.test.js');
await import('../signaling/frame-shape.test.js');
await import('../signaling/regressions.test.js');
await import('../signaling/endpoint.test.js');
await import('../signaling/security.test.js');
await import('../signaling/lifecycle.test.js');
await import('../signaling/slow-consumer.test.js');
await import('../signaling/client.test.js');
