// Subscribes to `platformMetrics` over GraphQL SSE (fetch, so the token travels in a header,
// never in the URL) and draws each figure with a sparkline of the last HISTORY updates.
const HISTORY = 60;
const QUERY = `subscription Dashboard($intervalSeconds: Int!) {
  platformMetrics(intervalSeconds: $intervalSeconds) {
    at requestsPerSecond errorRate p95LatencyMs openSubscriptions queueDepth tokensPerSecond
  }
}`;
const SVG = 'http://www.w3.org/2000/svg';

const statusEl = document.getElementById('status');
const history = new Map();
let updates = 0;
let controller;

for (const section of document.querySelectorAll('.metric')) {
  const value = document.createElement('div');
  value.className = 'value';
  value.textContent = '–';
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${HISTORY - 1} 100`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.append(document.createElementNS(SVG, 'polyline'));
  section.append(value, svg);
  history.set(section.dataset.metric, []);
}

function setStatus(text, isError = false) {
  statusEl.textContent = text;
  statusEl.classList.toggle('error', isError);
}

function render(metrics) {
  for (const section of document.querySelectorAll('.metric')) {
    const name = section.dataset.metric;
    const scaled = Number(metrics[name]) * Number(section.dataset.scale ?? 1);
    const points = history.get(name);
    points.push(scaled);
    if (points.length > HISTORY) points.shift();
    const value = section.querySelector('.value');
    value.textContent = `${scaled.toFixed(Number(section.dataset.digits))} ${section.dataset.unit}`.trim();
    value.dataset.raw = String(metrics[name]);
    const max = Math.max(...points, 1e-9);
    section.querySelector('polyline').setAttribute(
      'points',
      points.map((p, i) => `${i + HISTORY - points.length},${100 - (p / max) * 95}`).join(' '),
    );
  }
  updates += 1;
  document.getElementById('updates').textContent = String(updates);
  document.getElementById('updated').textContent = new Date(metrics.at).toLocaleTimeString();
}

/** Reads `event:`/`data:` blocks from a text/event-stream body. */
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      yield { event, data };
    }
  }
}

async function connect(token, intervalSeconds) {
  controller?.abort();
  controller = new AbortController();
  setStatus('Connecting…');
  try {
    const response = await fetch('/graphql', {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: QUERY, variables: { intervalSeconds } }),
    });
    if (!response.ok || !response.body) {
      const body = await response.json().catch(() => null);
      throw new Error(body?.errors?.[0]?.message ?? `HTTP ${response.status}`);
    }
    setStatus('Live.');
    for await (const { event, data } of serverSentEvents(response.body)) {
      if (event === 'complete') break;
      if (event !== 'next') continue;
      const result = JSON.parse(data);
      if (result.errors?.length) throw new Error(result.errors[0].message);
      if (result.data?.platformMetrics) render(result.data.platformMetrics);
    }
    setStatus('The server ended the stream.', true);
  } catch (error) {
    if (error.name !== 'AbortError') setStatus(`Disconnected: ${error.message}`, true);
  }
}

document.getElementById('connect').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = document.getElementById('token').value.trim();
  sessionStorage.setItem('lotabots.dashboard.token', token);
  connect(token, Number(document.getElementById('interval').value));
});
const saved = sessionStorage.getItem('lotabots.dashboard.token');
if (saved) document.getElementById('token').value = saved;
