/** The wait helpers (test/helpers/wait.ts): a wait that does not happen fails in time, naming what it waited for, and leaves no listener behind. */
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { waitFor, waitOn, waitUntil, within } from './helpers/wait.js'

const onTick = (emitter: EventEmitter) => (on: () => void): () => void => {
  emitter.on('tick', on)
  return () => emitter.off('tick', on)
}

describe('waits', () => {
  it('within rejects after its deadline, naming what it waited for', async () => {
    await expect(within(new Promise(() => {}), 20, 'the impossible')).rejects.toThrow('timed out after 20 ms waiting for the impossible')
    await expect(within(Promise.resolve(7), 20, 'a number')).resolves.toBe(7)
  })

  it('waitOn resolves with the first value, checked at once and on each event, then stops listening', async () => {
    const emitter = new EventEmitter()
    let n = 0
    const got = waitOn(onTick(emitter), () => (n >= 2 ? n : undefined), 'two ticks')
    expect(emitter.listenerCount('tick')).toBe(1)
    n++
    emitter.emit('tick')
    n++
    emitter.emit('tick')
    expect(await got).toBe(2)
    expect(emitter.listenerCount('tick')).toBe(0)
    expect(await waitOn(onTick(emitter), () => 'already', 'nothing')).toBe('already')
  })

  it('waitUntil times out with the description, and stops listening then too', async () => {
    const emitter = new EventEmitter()
    await expect(waitUntil(onTick(emitter), () => false, 'a tick that never comes', 20)).rejects.toThrow('timed out after 20 ms waiting for a tick that never comes')
    expect(emitter.listenerCount('tick')).toBe(0)
  })

  it('waitFor reports the last value it polled', async () => {
    await expect(waitFor(() => 41, (v) => v === 42, 'the answer', 20)).rejects.toThrow('timed out after 20 ms waiting for the answer; last value: 41')
  })
})
