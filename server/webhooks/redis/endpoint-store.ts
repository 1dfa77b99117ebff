/** Admin-added webhook endpoints in a Redis hash (id -> JSON), seen by every instance. */
import { whenReady } from '../../backend/redis/connect.js'
import type { Endpoint, EndpointStore } from '../endpoints.js'
import { KEYS, type WebhookClient } from './scripts.js'

/** Longest an admin request waits for the connection (just started, or reconnecting). */
const READY_WAIT_MS = 5_000

export class RedisEndpointStore implements EndpointStore {
  constructor (private readonly client: WebhookClient) {}

  async list (): Promise<Endpoint[]> {
    await whenReady(this.client, READY_WAIT_MS)
    return Object.values(await this.client.hgetall(KEYS.endpoints)).map((json) => JSON.parse(json) as Endpoint)
  }

  async put (endpoint: Endpoint): Promise<void> {
    await whenReady(this.client, READY_WAIT_MS)
    await this.client.hset(KEYS.endpoints, endpoint.id, JSON.stringify(endpoint))
  }

  async remove (id: string): Promise<boolean> {
    await whenReady(this.client, READY_WAIT_MS)
    return await this.client.hdel(KEYS.endpoints, id) === 1
  }
}
