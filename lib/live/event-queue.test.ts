import { describe, expect, it, vi } from 'vitest';

import { createEventQueue } from './event-queue.js';

describe('createEventQueue', () => {
  it('delivers pushed values in order, to a waiting consumer and from the buffer', async () => {
    const queue = createEventQueue<number>();
    const first = queue.next();
    queue.push(1);
    queue.push(2);
    queue.push(3);
    expect(await first).toEqual({ value: 1, done: false });
    expect(await queue.next()).toEqual({ value: 2, done: false });
    expect(await queue.next()).toEqual({ value: 3, done: false });
  });

  it('ends a waiting next() at once on return(), runs onEnd once, and ignores later pushes', async () => {
    const onEnd = vi.fn();
    const queue = createEventQueue<number>({ onEnd });
    const pending = queue.next();
    await expect(queue.return!()).resolves.toEqual({ value: undefined, done: true });
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    queue.push(1);
    await queue.return!();
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect(queue.ended).toBe(true);
  });

  it('waits for an asynchronous onEnd in return(), so the source is released when return() resolves', async () => {
    let released = false;
    const queue = createEventQueue<number>({ onEnd: () => new Promise<void>((resolve) => setTimeout(() => resolve(void (released = true)), 10)) });
    await queue.return!();
    expect(released).toBe(true);
  });

  it('delivers what is buffered before ending, and rejects once with the error it ended with', async () => {
    const queue = createEventQueue<number>();
    queue.push(1);
    queue.end(new Error('upstream gone'));
    expect(await queue.next()).toEqual({ value: 1, done: false });
    await expect(queue.next()).rejects.toThrow('upstream gone');
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it('drops the oldest values beyond maxBuffered, so a slow consumer cannot grow memory', async () => {
    const dropped: number[] = [];
    const queue = createEventQueue<number>({ maxBuffered: 2, onDrop: (value) => dropped.push(value) });
    for (let i = 1; i <= 5; i++) queue.push(i);
    expect(dropped).toEqual([1, 2, 3]);
    expect(queue.buffered).toBe(2);
    expect(await queue.next()).toEqual({ value: 4, done: false });
  });

  it('works with for await, which calls return() when the loop breaks', async () => {
    const onEnd = vi.fn();
    const queue = createEventQueue<number>({ onEnd });
    queue.push(1);
    queue.push(2);
    for await (const value of queue) {
      expect(value).toBe(1);
      break;
    }
    expect(onEnd).toHaveBeenCalledTimes(1);
  });
});
