import { randomUUID } from 'node:crypto';

import { type InferenceBus, type JobRequest, type NumberedJobEvent, TERMINAL_EVENTS } from '../lib/inference/index.js';

/** A valid job request for `lotabots-tiny-cpu` (deterministic: temperature 0), with `overrides`. */
export function jobRequest(overrides: Partial<JobRequest> = {}): JobRequest {
  return {
    jobId: randomUUID(),
    userId: randomUUID(),
    model: 'lotabots-tiny-cpu',
    messages: [{ role: 'user', content: 'Tell me about the lighthouse' }],
    maxTokens: 64,
    temperature: 0,
    topP: 1,
    stop: [],
    seed: null,
    autonomyLevel: 'ASSISTED',
    priority: 'normal',
    enqueuedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** What the inference subgraph does on submit: `queued` in the job's log, then the job on the queue. */
export async function submitJob(bus: InferenceBus, overrides: Partial<JobRequest> = {}): Promise<JobRequest> {
  const job = jobRequest(overrides);
  await bus.log.append(job.jobId, { type: 'queued', at: job.enqueuedAt });
  await bus.queue.enqueue(job);
  return job;
}

export const hasEnded = (events: NumberedJobEvent[]) => events.some(({ event }) => (TERMINAL_EVENTS as readonly string[]).includes(event.type));

/**
 * The job's events from the start until `until` holds for them (default: a terminal event),
 * read as a subscriber would (blocking reads); fails after `timeoutMs` with what it saw.
 */
export async function eventsUntil(bus: InferenceBus, jobId: string, until: (events: NumberedJobEvent[]) => boolean = hasEnded, timeoutMs = 30_000): Promise<NumberedJobEvent[]> {
  const events: NumberedJobEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!until(events)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting on job ${jobId}; events so far: ${events.map(({ event }) => event.type).join(', ')}`);
    events.push(...(await bus.log.read(jobId, events.at(-1)?.seq ?? 0, { count: 100, blockMs: 1_000 })));
  }
  return events;
}
