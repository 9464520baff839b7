/**
 * Just enough of PromQL to check the monitoring files under k8s/monitoring/ without a
 * Prometheus: a tokenizer that refuses what PromQL does not have, balanced brackets, known
 * functions and aggregations, label matchers of the form `name op "value"`, and the metric
 * names an expression selects (for test/monitoring.e2e.ts, which compares them with what the
 * processes register).
 */

/** Functions and aggregation operators the monitoring files may use (a typo is an error, not a metric). */
const FUNCTIONS = new Set([
  'abs', 'absent', 'avg', 'ceil', 'clamp_max', 'clamp_min', 'count', 'delta', 'floor', 'histogram_quantile', 'increase',
  'irate', 'max', 'min', 'rate', 'round', 'scalar', 'sum', 'topk', 'vector',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

type Token =
  | { kind: 'name'; text: string }
  | { kind: 'number' | 'string' | 'duration' | 'operator'; text: string }
  | { kind: 'open' | 'close'; text: string };

const TOKEN = /\s+|(?<duration>\[[^\]]+\])|(?<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?<number>\d+(?:\.\d+)?(?:e[+-]?\d+)?)|(?<name>[A-Za-z_:][A-Za-z0-9_:]*)|(?<operator>==|!=|=~|!~|>=|<=|[-+*/%^<>=,])|(?<open>[({])|(?<close>[)}])/y;

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(expr);
    if (!match) throw new Error(`unexpected ${JSON.stringify(expr.slice(at, at + 10))} at ${at}`);
    const [kind, text] = Object.entries(match.groups!).find(([, value]) => value !== undefined) ?? [];
    if (kind) tokens.push({ kind, text } as Token);
  }
  return tokens;
}

/**
 * The metric names `expr` selects, in order of appearance (without duplicates). Throws on
 * what is not PromQL as far as these checks see it: an unknown character or function,
 * unbalanced brackets, a malformed label matcher, a range that is not a duration or a
 * Grafana interval variable.
 */
export function metricNamesOf(expr: string): string[] {
  const tokens = tokenize(expr);
  const names: string[] = [];
  const stack: string[] = [];
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    const next = tokens[index + 1];
    if (token.kind === 'duration') {
      if (!/^\[(?:\d+[smhdwy])+(?::(?:\d+[smhdwy])*)?\]$|^\[\$__(?:rate_)?interval\]$/.test(token.text)) throw new Error(`bad range ${token.text}`);
    } else if (token.kind === 'open' && token.text === '{') {
      // Label matchers: name op "value" (, name op "value")* up to the closing brace.
      let cursor = index + 1;
      for (;;) {
        const [label, op, value, after] = tokens.slice(cursor, cursor + 4);
        if (label?.kind !== 'name' || !['=', '!=', '=~', '!~'].includes(op?.text ?? '') || value?.kind !== 'string') {
          throw new Error(`bad label matcher near ${JSON.stringify(label?.text)}`);
        }
        cursor += 3;
        if (after?.text === '}') break;
        if (after?.text !== ',') throw new Error('label matchers not closed');
        cursor += 1;
      }
      index = cursor;
    } else if (token.kind === 'open') {
      stack.push('(');
    } else if (token.kind === 'close') {
      if (stack.pop() !== '(') throw new Error('unbalanced parentheses');
    } else if (token.kind === 'name') {
      if (GROUPING.has(token.text)) {
        // A label list follows: by (a, b). Skip it; its names are labels, not metrics.
        if (next?.text !== '(') continue;
        const close = tokens.findIndex((candidate, position) => position > index && candidate.text === ')');
        if (close < 0) throw new Error(`${token.text} ( not closed`);
        index = close;
      } else if ((next?.kind === 'open' && next.text === '(') || (next?.kind === 'name' && GROUPING.has(next.text))) {
        // A call, or an aggregation with its grouping first: sum by (le) (…).
        if (!FUNCTIONS.has(token.text)) throw new Error(`unknown function ${token.text}`);
      } else if (!KEYWORDS.has(token.text) && !names.includes(token.text)) {
        names.push(token.text);
      }
    }
  }
  if (stack.length > 0) throw new Error('unbalanced parentheses');
  return names;
}

/** Histogram and summary series are exported as `<name>_bucket`, `_sum` and `_count`; registries name the metric. */
export const HISTOGRAM_SERIES = /_(?:bucket|sum|count)$/;
