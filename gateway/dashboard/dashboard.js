// Subscribes to `platformMetrics` over GraphQL SSE (fetch, so the token travels in a header,
// never in the URL) and draws each figure with a sparkline of the last HISTORY updates; lists
// the firing alerts and follows `alertEvents` (raised, resolved) in the Alerts panel.
const HISTORY = 60;
/** Alerts the panel keeps (newest first). */
const ALERTS_SHOWN = 20;
const QUERY = `subscription Dashboard($intervalSeconds: Int!) {
  platformMetrics(intervalSeconds: $intervalSeconds) {
    at requestsPerSecond errorRate p95LatencyMs openSubscriptions queueDepth tokensPerSecond
  }
}`;
const ALERT_FIELDS = 'id metric state severity value baseline startedAt resolvedAt';
const FIRING_ALERTS = `query DashboardFiringAlerts { alerts(state: FIRING, first: ${ALERTS_SHOWN}) { edges { node { ${ALERT_FIELDS} } } } }`;
const ALERT_EVENTS = `subscription DashboardAlerts { alertEvents { kind alert { ${ALERT_FIELDS} } } }`;
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

/** Newest first; a later state of an alert replaces its earlier one. */
const alerts = new Map();

function renderAlerts() {
  const list = document.getElementById('alert-list');
  const shown = [...alerts.values()].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt)).slice(0, ALERTS_SHOWN);
  list.replaceChildren(
    ...shown.map((alert) => {
      const item = document.createElement('li');
      item.className = `alert ${alert.state.toLowerCase()} ${alert.severity.toLowerCase()}`;
      item.dataset.metric = alert.metric;
      item.dataset.state = alert.state;
      const since = new Date(alert.startedAt).toLocaleTimeString();
      const until = alert.resolvedAt ? ` – ${new Date(alert.resolvedAt).toLocaleTimeString()}` : '';
      item.textContent = `${alert.state} ${alert.severity} ${alert.metric}: ${alert.value.toPrecision(3)} (baseline ${alert.baseline.toPrecision(3)}) ${since}${until}`;
      return item;
    }),
  );
  document.getElementById('alerts-empty').hidden = shown.length > 0;
}

function remember(alert) {
  // The firing list may answer after an event that resolved one of its alerts.
  if (alerts.get(alert.id)?.state === 'RESOLVED') return;
  alerts.set(alert.id, alert);
  renderAlerts();
}

/** POSTs one operation; for a subscription (SSE) calls `onData` with each event's data until the stream ends. */
async function operate(token, query, variables, onData, signal) {
  const response = await fetch('/graphql', {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  if (!response.ok || !response.body) {
    const body = await response.json().catch(() => null);
    throw new Error(body?.errors?.[0]?.message ?? `HTTP ${response.status}`);
  }
  for await (const { event, data } of serverSentEvents(response.body)) {
    if (event === 'complete') return;
    if (event !== 'next') continue;
    const result = JSON.parse(data);
    if (result.errors?.length) throw new Error(result.errors[0].message);
    if (result.data) onData(result.data);
  }
}

async function connect(token, intervalSeconds) {
  controller?.abort();
  controller = new AbortController();
  const { signal } = controller;
  setStatus('Connecting…');
  alerts.clear();
  renderAlerts();
  const alertsUnavailable = (error) => {
    if (error.name !== 'AbortError') document.getElementById('alerts-status').textContent = `Alerts unavailable: ${error.message}`;
  };
  // The alerts firing now, then each raise and resolve as it happens (a later state wins).
  operate(token, FIRING_ALERTS, {}, (data) => data.alerts?.edges.forEach(({ node }) => remember(node)), signal).catch(alertsUnavailable);
  operate(token, ALERT_EVENTS, {}, (data) => remember(data.alertEvents.alert), signal).catch(alertsUnavailable);
  try {
    let live = false;
    await operate(token, QUERY, { intervalSeconds }, (data) => {
      if (!live) setStatus('Live.');
      live = true;
      render(data.platformMetrics);
    }, signal);
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
