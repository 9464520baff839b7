/**
 * Summarises a V8 CPU profile (`node --cpu-prof`) as the share of sampled time per function
 * (self time) and per area (our engine, our gateway, graphql-js, undici, Node internals …), so a
 * profile of the gateway under load can be read without a browser:
 *   npx tsx bench/cpuprofile-summary.ts /tmp/prof/CPU.*.cpuprofile [top=25]
 * A third table gives the total time (callees included) of the project's own functions
 * (gateway/, lib/), which says which phase of a request the self time above belongs to.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const AREAS: readonly [RegExp, string][] = [
  [/\/gateway\/engine\/native\//, 'our engine (gateway/engine/native)'],
  [/\/gateway\/upstream\//, 'our upstream (gateway/upstream)'],
  [/\/(gateway|lib)\//, 'our gateway plugins and lib'],
  [/node_modules\/graphql\//, 'graphql-js (parse, validate, execute of the pipeline)'],
  [/node_modules\/undici\//, 'undici (subgraph HTTP)'],
  [/node_modules\/(graphql-yoga|@graphql-yoga|@envelop|@whatwg-node)\//, 'Yoga, envelop, whatwg-node (request pipeline)'],
  [/node_modules\/@apollo\//, '@apollo/* (planner, federation-internals)'],
  [/node_modules\/(ioredis|redis-parser)/, 'ioredis'],
  [/node_modules\/(pino|prom-client)/, 'logging and metrics (pino, prom-client)'],
  [/node_modules\//, 'other packages'],
  [/^node:|^$/, 'Node internals, GC and native code'],
];

function areaOf(url: string): string {
  for (const [pattern, area] of AREAS) if (pattern.test(url)) return area;
  return 'other';
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: cpuprofile-summary.ts <file.cpuprofile> [top]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMs = new Map<number, number>();
profile.samples.forEach((id, index) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1_000));

const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

const idle = new Set(['(idle)', '(program)']);
let busy = 0;
const perFunction = new Map<string, number>();
const perArea = new Map<string, number>();
const perOwnTotal = new Map<string, number>();
for (const [id, ms] of selfMs) {
  const { functionName, url } = byId.get(id)!.callFrame;
  if (idle.has(functionName)) continue;
  busy += ms;
  const key = functionKey(id);
  perFunction.set(key, (perFunction.get(key) ?? 0) + ms);
  const area = functionName === '(garbage collector)' ? 'Node internals, GC and native code' : areaOf(url);
  perArea.set(area, (perArea.get(area) ?? 0) + ms);
  // Each of our functions on the stack counts once, however deep its recursion.
  const onStack = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    if (/\/(gateway|lib)\//.test(byId.get(at)!.callFrame.url) && !/node_modules/.test(byId.get(at)!.callFrame.url)) onStack.add(functionKey(at));
  }
  for (const ours of onStack) perOwnTotal.set(ours, (perOwnTotal.get(ours) ?? 0) + ms);
}

function functionKey(id: number): string {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  // Native code V8 cannot name (a C++ binding such as Buffer.byteLength's) is told by its caller.
  const caller = parentOf.get(id);
  if (!functionName && !url && caller !== undefined) return `(native) in ${functionKey(caller)}`;
  const where = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(dist|src)\//, '$1/');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}

const percent = (ms: number) => `${((100 * ms) / busy).toFixed(1)} %`;
const rows = (map: Map<string, number>, top: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`busy (non-idle) sampled time: ${busy.toFixed(0)} ms\n\n| area | share of busy time |\n|---|---:|`);
for (const [area, ms] of rows(perArea, AREAS.length + 1)) console.log(`| ${area} | ${percent(ms)} |`);
console.log('\n| function (self time) | share |\n|---|---:|');
for (const [name, ms] of rows(perFunction, Number(topArg ?? 25))) console.log(`| \`${name.replace(/\|/g, '\\|')}\` | ${percent(ms)} |`);
console.log('\n| our function (total time, callees included) | share |\n|---|---:|');
for (const [name, ms] of rows(perOwnTotal, Number(topArg ?? 25))) console.log(`| \`${name.replace(/\|/g, '\\|')}\` | ${percent(ms)} |`);
