import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

import { parse as parseYaml, parseAllDocuments } from 'yaml';

/**
 * Reads the kustomize manifests under k8s/ the way kustomize would bring them together (without
 * a cluster or the kustomize binary, and without applying patches), for test/k8s-manifests.test.ts.
 */

export const repoRoot = new URL('../../', import.meta.url);

// ---- Kubernetes shapes, as far as these checks read them -------------------------------------

export type Labels = Record<string, string>;
export interface ObjectMeta {
  name: string;
  labels?: Labels;
  annotations?: Record<string, string>;
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
export interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: KeyRef; secretKeyRef?: KeyRef; fieldRef?: unknown };
}
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string };
  secretRef?: { name: string };
}
export interface HttpProbe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface PodTemplate {
  metadata: ObjectMeta;
  spec: {
    containers: Container[];
    initContainers?: Container[];
    volumes?: { name: string; emptyDir?: object }[];
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    terminationGracePeriodSeconds?: number;
    restartPolicy?: string;
    enableServiceLinks?: boolean;
    automountServiceAccountToken?: boolean;
  };
}
export interface Deployment extends K8sObject {
  spec: { replicas?: number; selector: { matchLabels: Labels }; template: PodTemplate };
}
export interface Job extends K8sObject {
  spec: { backoffLimit?: number; ttlSecondsAfterFinished?: number; activeDeadlineSeconds?: number; template: PodTemplate };
}
export interface Service extends K8sObject {
  spec: { type?: string; selector: Labels; ports: { name?: string; port: number; targetPort?: number | string }[] };
}
export interface PodDisruptionBudget extends K8sObject {
  spec: { selector: { matchLabels: Labels }; minAvailable?: number | string; maxUnavailable?: number | string };
}
export interface HorizontalPodAutoscaler extends K8sObject {
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    minReplicas?: number;
    maxReplicas: number;
    metrics?: { type: string; resource?: { name: string; target: { type: string; averageUtilization?: number } } }[];
  };
}
export interface Kustomization {
  resources?: string[];
  configMapGenerator?: { name: string; behavior?: string; envs?: string[]; literals?: string[]; files?: string[] }[];
  secretGenerator?: unknown[];
  patches?: { path?: string; patch?: string; target?: { kind?: string; name?: string } }[];
  patchesStrategicMerge?: unknown[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  replicas?: { name: string; count: number }[];
}

// ---- Loading ----------------------------------------------------------------------------------

export function relativeName(url: URL): string {
  return url.pathname.slice(repoRoot.pathname.length);
}

/** Every document of a YAML file as plain data; throws on the first syntax error. */
export function readYamlDocuments(url: URL): unknown[] {
  const documents = parseAllDocuments(readFileSync(url, 'utf8'));
  const objects: unknown[] = [];
  for (const document of documents) {
    const [error] = document.errors;
    if (error) throw new Error(`${relativeName(url)}: ${error.message}`);
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

export function isK8sObject(value: unknown): value is K8sObject {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<K8sObject>;
  return typeof candidate.apiVersion === 'string' && typeof candidate.kind === 'string' && typeof candidate.metadata?.name === 'string';
}

export function isDirectory(url: URL): boolean {
  return existsSync(url) && statSync(url).isDirectory();
}

/** A kustomization's `resources` entry that names a directory, as a directory URL. */
export function dirUrl(entry: string, from: URL): URL {
  return new URL(entry.endsWith('/') ? entry : `${entry}/`, from);
}

export function readKustomization(dir: URL): Kustomization {
  return parseYaml(readFileSync(new URL('kustomization.yaml', dir), 'utf8')) as Kustomization;
}

/** kustomize's env-file format: `KEY=value` lines; blank lines and `#` comments skipped. */
export function readEnvFile(url: URL): Record<string, string> {
  const data: Record<string, string> = {};
  for (const rawLine of readFileSync(url, 'utf8').split('\n')) {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const separator = line.indexOf('=');
    if (separator <= 0) throw new Error(`${relativeName(url)}: not KEY=value: ${line}`);
    data[line.slice(0, separator)] = line.slice(separator + 1);
  }
  return data;
}

export interface Built {
  objects: { file: string; object: K8sObject }[];
  /** ConfigMaps by name (generated or listed), with their data. */
  configMaps: Map<string, Record<string, string>>;
  /** Files that are missing or do not parse; the kustomization tests report them. */
  problems: string[];
}

/**
 * What a kustomization brings together, without applying patches: its resources (following
 * directories into their kustomizations) and its ConfigMaps, generator merges applied.
 * Never throws on a bad file, so that one mistake fails the tests that check it rather than
 * every test in this file.
 */
export function build(dir: URL): Built {
  const kustomization = readKustomization(dir);
  const built: Built = { objects: [], configMaps: new Map(), problems: [] };
  for (const entry of kustomization.resources ?? []) {
    const url = new URL(entry, dir);
    if (isDirectory(url)) {
      const nested = build(dirUrl(entry, dir));
      built.objects.push(...nested.objects);
      built.problems.push(...nested.problems);
      for (const [name, data] of nested.configMaps) built.configMaps.set(name, data);
      continue;
    }
    try {
      for (const object of readYamlDocuments(url)) {
        if (!isK8sObject(object)) throw new Error(`${relativeName(url)}: a document without apiVersion, kind and metadata.name`);
        built.objects.push({ file: relativeName(url), object });
        if (object.kind === 'ConfigMap') built.configMaps.set(object.metadata.name, { ...object.data });
      }
    } catch (error) {
      built.problems.push((error as Error).message);
    }
  }
  for (const generator of kustomization.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const envFile of generator.envs ?? []) {
      try {
        Object.assign(data, readEnvFile(new URL(envFile, dir)));
      } catch (error) {
        built.problems.push((error as Error).message);
      }
    }
    for (const literal of generator.literals ?? []) {
      const separator = literal.indexOf('=');
      data[literal.slice(0, separator)] = literal.slice(separator + 1);
    }
    const existing = built.configMaps.get(generator.name);
    built.configMaps.set(generator.name, generator.behavior === 'merge' && existing ? { ...existing, ...data } : data);
  }
  return built;
}

export function findKustomizationDirs(dir: URL): URL[] {
  const found: URL[] = existsSync(new URL('kustomization.yaml', dir)) ? [dir] : [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) found.push(...findKustomizationDirs(new URL(`${entry.name}/`, dir)));
  }
  return found;
}

// ---- Helpers over the loaded objects -----------------------------------------------------------

export function ofKind<T extends K8sObject>(built: Built, kind: string): T[] {
  return built.objects.filter(({ object }) => object.kind === kind).map(({ object }) => object as T);
}

export function matches(selector: Labels, labels: Labels | undefined): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

export function podTemplates(built: Built): { owner: string; template: PodTemplate }[] {
  return [
    ...ofKind<Deployment>(built, 'Deployment').map((d) => ({ owner: `Deployment/${d.metadata.name}`, template: d.spec.template })),
    ...ofKind<Job>(built, 'Job').map((j) => ({ owner: `Job/${j.metadata.name}`, template: j.spec.template })),
  ];
}

export function allContainers(template: PodTemplate): Container[] {
  return [...(template.spec.initContainers ?? []), ...template.spec.containers];
}

export function commandLine(container: Container): string[] {
  return [...(container.command ?? []), ...(container.args ?? [])];
}

/** The TypeScript source of the compiled entry a container runs (`dist/x/main.js` → `x/main.ts`). */
export function entryFileOf(container: Container): string | undefined {
  const compiled = commandLine(container).find((part) => /^dist\/.+\.js$/.test(part));
  return compiled?.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

/** The container port a probe or Service targets, by number or by port name. */
export function declaredPort(container: Container, port: number | string | undefined): number | undefined {
  const declared = container.ports ?? [];
  const hit = typeof port === 'number' ? declared.find((p) => p.containerPort === port) : declared.find((p) => p.name === port);
  return hit?.containerPort;
}

/**
 * The value a container sees for an environment variable, following Kubernetes' precedence
 * (`env` over `envFrom`, later `envFrom` sources over earlier). `undefined` when unset or when
 * it comes from a Secret.
 */
export function envValue(container: Container, name: string, configMaps: Map<string, Record<string, string>>): string | undefined {
  const direct = container.env?.find((e) => e.name === name);
  if (direct) {
    if (direct.value !== undefined) return direct.value;
    const ref = direct.valueFrom?.configMapKeyRef;
    return ref ? configMaps.get(ref.name)?.[ref.key] : undefined;
  }
  let value: string | undefined;
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    if (source.configMapRef && name.startsWith(prefix)) {
      value = configMaps.get(source.configMapRef.name)?.[name.slice(prefix.length)] ?? value;
    }
  }
  return value;
}

/** A memory quantity in MiB (`512Mi`, `1Gi`, `536870912`, `512M`). */
export function mebibytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported memory quantity ${quantity}`);
  const factor: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, '': 1 };
  return (Number(match[1]) * factor[match[2] ?? '']!) / 2 ** 20;
}

/** Follows a JSON pointer (`/spec/template/spec/containers/0`) through plain data. */
export function atPointer(value: unknown, pointer: string): unknown {
  let current = value;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
