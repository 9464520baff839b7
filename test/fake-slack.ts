import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A local HTTP server speaking Slack's incoming-webhook contract
 * (https://api.slack.com/messaging/webhooks): POST JSON to the webhook's secret path, answered
 * `200 ok`; a body that is not JSON or has neither `text` nor `blocks` gets `400
 * invalid_payload`; another path `404 no_service`. `answerNext` scripts the next answers (a
 * 429 `rate_limited` with `Retry-After`, a 500, …) before it returns to `ok`.
 */
export interface FakeSlack {
  /** The webhook URL to configure, with its secret path. */
  webhookUrl: string;
  /** Every message it accepted (answered 200), in order. */
  messages: SlackReceived[];
  /** Every POST it received, whatever it answered. */
  requests: Array<{ at: number; status: number }>;
  /** The next answers, in order (then `200 ok` again). */
  answerNext(...answers: ScriptedAnswer[]): void;
  /** Resolves once `count` messages have been accepted. */
  received(count: number): Promise<SlackReceived[]>;
  close(): Promise<void>;
}

export interface SlackReceived {
  text: string;
  blocks: unknown[];
  /** `performance.now()` when it was accepted. */
  at: number;
}

export interface ScriptedAnswer {
  status: number;
  body: string;
  retryAfter?: string;
}

/** Slack's 429: `rate_limited`, the seconds to wait in Retry-After. */
export const rateLimited = (retryAfterSeconds: number): ScriptedAnswer => ({ status: 429, body: 'rate_limited', retryAfter: String(retryAfterSeconds) });

export async function startFakeSlack(secretPath = '/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'): Promise<FakeSlack> {
  const messages: SlackReceived[] = [];
  const requests: FakeSlack['requests'] = [];
  const script: ScriptedAnswer[] = [];
  const waiters: Array<{ count: number; resolve: (messages: SlackReceived[]) => void }> = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      requests.push({ at: performance.now(), status });
      response.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body);
    };
    if (request.method !== 'POST' || request.url !== secretPath) return answer(404, 'no_service');
    const scripted = script.shift();
    if (scripted) return answer(scripted.status, scripted.body, scripted.retryAfter === undefined ? {} : { 'retry-after': scripted.retryAfter });
    let payload: { text?: unknown; blocks?: unknown };
    try {
      payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof payload;
    } catch {
      return answer(400, 'invalid_payload');
    }
    if (typeof payload.text !== 'string' && !Array.isArray(payload.blocks)) return answer(400, 'invalid_payload');
    messages.push({ text: String(payload.text ?? ''), blocks: Array.isArray(payload.blocks) ? payload.blocks : [], at: performance.now() });
    answer(200, 'ok');
    for (const waiter of waiters.filter((w) => messages.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(messages.slice());
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    webhookUrl: `http://127.0.0.1:${port}${secretPath}`,
    messages,
    requests,
    answerNext: (...answers) => void script.push(...answers),
    received: (count) => (messages.length >= count ? Promise.resolve(messages.slice()) : new Promise((resolve) => waiters.push({ count, resolve }))),
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
