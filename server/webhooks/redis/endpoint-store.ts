/** Admin-added webhook endpoints in a Redis hash (id -> JSON), seen by every instance. */
import type { Endpoint, EndpointStore } from '../endpoints.js'
import { KEYS, type WebhookClient } from './scripts.js'

export class RedisEndpointStore implements EndpointStore {
  constructor (private readonly client: WebhookClient) {}

  async list (): Promise<Endpoint[]> {
    return Object.values(await this.client.hgetall(KEYS.endpoints)).map((json) => JSON.parse(json) as Endpoint)
  }

  async put (endpoint: Endpoint): Promise<void> {
    await this.client.hset(KEYS.endpoints, endpoint.id, JSON.stringify(endpoint))
  }

  async remove (id: string): Promise<boolean> {
    return await this.client.hdel(KEYS.endpoints, id) === 1
  }
}
