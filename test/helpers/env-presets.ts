/**
 * Settings that tests give an instance to take one concern out of the way
 * of another (docs/configuration.md). Each is tested as it is by default
 * elsewhere: the paced drain in operations.test.ts and
 * rolling-restart.test.ts, the pace of new connections in admission.test.ts
 * and storm.test.ts.
 */

/** A drain with no grace and no spread: for tests that stop an instance with no load balancer in front and expect it gone at once. */
export const QUICK_DRAIN: Record<string, string> = { DRAIN_GRACE_MS: '0', DRAIN_SPREAD_MS: '0' }

const UNLIMITED = '10000000'

/** No pace on new connections: for tests that open thousands of connections from one address as fast as they can. */
export const UNPACED: Record<string, string> = {
  MAX_NEW_CONNECTIONS_PER_SECOND: UNLIMITED,
  MAX_NEW_CONNECTIONS_BURST: UNLIMITED,
  MAX_NEW_CONNECTIONS_PER_IP_PER_SECOND: UNLIMITED,
  MAX_NEW_CONNECTIONS_PER_IP_BURST: UNLIMITED,
}
