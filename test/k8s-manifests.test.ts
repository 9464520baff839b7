import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { createAccessTokenIssuer } from '../lib/auth/access-token.js';
import { loadIdentitySecret, loadSigningKeys } from '../lib/auth/keys.js';
import { SUBGRAPH_NAMES, type SubgraphName, SUBGRAPHS } from '../lib/subgraph-list.js';
import { tracesUrlOf, tracingEnv } from '../lib/tracing/config.js';
import {
  allContainers,
  atPointer,
  build,
  commandLine,
  type Container,
  declaredPort,
  type Deployment,
  dirUrl,
  entryFileOf,
  envValue,
  findKustomizationDirs,
  type HorizontalPodAutoscaler,
  type HttpProbe,
  isDirectory,
  isK8sObject,
  type Job,
  type K8sObject,
  type Labels,
  matches,
  mebibytes,
  ofKind,
  type PodDisruptionBudget,
  type PodTemplate,
  podTemplates,
  readKustomization,
  readYamlDocuments,
  relativeName,
  repoRoot,
  type Service,
} from './k8s/manifests.js';

/**
 * Static checks of the kustomize manifests under k8s/ (no cluster, no kustomize binary): every
 * referenced file exists and parses, probes, ports, Services, ConfigMap and Secret references
 * agree with each other and with the processes they run, and no credential is committed.
 */

const k8sRoot = new URL('k8s/', repoRoot);
const baseDir = new URL('base/', k8sRoot);

const IMAGE = 'lotabots/platform-api';
const SECRET_NAME = 'platform-secrets';
/** What each process is, as the platform defines it (DESIGN.md "Processes"). */
const PROCESSES = {
  gateway: { entry: 'gateway/main.ts', port: 4000, metricsPort: 9400, servesClients: true },
  // Each subgraph of lib/subgraph-list.ts, its metrics on its port + 5400 (lib/service.ts).
  ...(Object.fromEntries(
    SUBGRAPH_NAMES.map((name) => [name, { entry: `subgraphs/${name}/main.ts`, port: SUBGRAPHS[name].port, metricsPort: SUBGRAPHS[name].port + 5_400, servesClients: true }]),
  ) as Record<SubgraphName, { entry: string; port: number; metricsPort: number; servesClients: true }>),
  worker: { entry: 'worker/main.ts', port: 4005, metricsPort: 9405, servesClients: false },
} as const;
/** SHUTDOWN_GRACE_MS when a process is given none (lib/service.ts). */
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

// ---- The manifests ------------------------------------------------------------------------------

const kustomizationDirs = findKustomizationDirs(k8sRoot);
const base = build(baseDir);
const baseKustomization = readKustomization(baseDir);
const deployments = ofKind<Deployment>(base, 'Deployment');
const services = ofKind<Service>(base, 'Service');
const jobs = ofKind<Job>(base, 'Job');
const secretExampleUrl = new URL('secret.example.yaml', baseDir);
const secretExample = (existsSync(secretExampleUrl) ? readYamlDocuments(secretExampleUrl)[0] : undefined) as K8sObject | undefined;
const exampleSecretKeys = new Set(Object.keys({ ...secretExample?.data, ...secretExample?.stringData }));

function deploymentNamed(name: string): Deployment {
  const deployment = deployments.find((d) => d.metadata.name === name);
  if (!deployment) throw new Error(`no Deployment ${name}`);
  return deployment;
}

/** The one container of a Deployment's pods (each process runs alone in its pod). */
function onlyContainer(deployment: Deployment): Container {
  const { containers } = deployment.spec.template.spec;
  if (containers.length !== 1) throw new Error(`${deployment.metadata.name}: ${containers.length} containers, expected 1`);
  return containers[0]!;
}

describe('kustomizations', () => {
  it('include the base and the dev overlay', () => {
    expect(kustomizationDirs.map(relativeName)).toEqual(expect.arrayContaining(['k8s/base/', 'k8s/overlays/dev/']));
  });

  describe.each(kustomizationDirs.map((dir) => [relativeName(dir), dir] as const))('%s', (_name, dir) => {
    const kustomization = readKustomization(dir);

    it('lists resources that exist and parse into Kubernetes objects', () => {
      expect(kustomization.resources?.length).toBeGreaterThan(0);
      for (const entry of kustomization.resources ?? []) {
        const url = new URL(entry, dir);
        expect(existsSync(url), `${entry} exists`).toBe(true);
        if (isDirectory(url)) {
          expect(existsSync(new URL('kustomization.yaml', dirUrl(entry, dir))), `${entry} is a kustomization`).toBe(true);
        } else {
          const documents = readYamlDocuments(url);
          expect(documents.length, `${entry} has documents`).toBeGreaterThan(0);
          for (const document of documents) expect(isK8sObject(document), `${entry}: apiVersion, kind, metadata.name`).toBe(true);
        }
      }
      expect(build(dir).problems).toEqual([]);
    });

    it('generates ConfigMaps from files that exist, with keys that are environment variable names', () => {
      for (const generator of kustomization.configMapGenerator ?? []) {
        for (const file of [...(generator.envs ?? []), ...(generator.files ?? [])]) {
          expect(existsSync(new URL(file, dir)), `${generator.name}: ${file} exists`).toBe(true);
        }
      }
      for (const [name, data] of build(dir).configMaps) {
        for (const key of Object.keys(data)) expect(key, `ConfigMap ${name}`).toMatch(/^[A-Z_][A-Z0-9_]*$/);
      }
    });

    it('merges generated ConfigMaps only into ones its resources define', () => {
      const inherited = new Set<string>();
      for (const entry of kustomization.resources ?? []) {
        const url = new URL(entry, dir);
        if (isDirectory(url)) for (const name of build(dirUrl(entry, dir)).configMaps.keys()) inherited.add(name);
      }
      for (const generator of kustomization.configMapGenerator ?? []) {
        if (generator.behavior === 'merge' || generator.behavior === 'replace') expect(inherited, generator.name).toContain(generator.name);
      }
    });

    it('patches only objects, containers and paths that exist', () => {
      const { objects } = build(dir);
      expect(kustomization.patchesStrategicMerge, 'use `patches` (patchesStrategicMerge is deprecated)').toBeUndefined();
      for (const patch of kustomization.patches ?? []) {
        expect(patch.path, 'patches live in files').toBeDefined();
        const url = new URL(patch.path!, dir);
        expect(existsSync(url), `${patch.path} exists`).toBe(true);
        const [content] = readYamlDocuments(url);
        if (Array.isArray(content)) {
          // JSON 6902: a target selects objects, and every replaced or removed path exists in each.
          const targets = objects.filter(
            ({ object }) =>
              (!patch.target?.kind || object.kind === patch.target.kind) && (!patch.target?.name || object.metadata.name === patch.target.name),
          );
          expect(targets.length, `${patch.path} targets something`).toBeGreaterThan(0);
          for (const operation of content as { op: string; path: string }[]) {
            if (operation.op !== 'replace' && operation.op !== 'remove' && operation.op !== 'test') continue;
            for (const { object } of targets) {
              expect(atPointer(object, operation.path), `${patch.path}: ${operation.path} in ${object.kind}/${object.metadata.name}`).toBeDefined();
            }
          }
        } else {
          // Strategic merge: the object it names exists, and so does every container it names.
          expect(isK8sObject(content), `${patch.path} names its object`).toBe(true);
          const patchObject = content as K8sObject;
          const target = objects.find(
            ({ object }) => object.kind === patchObject.kind && object.metadata.name === patchObject.metadata.name,
          )?.object;
          expect(target, `${patch.path} patches ${patchObject.kind}/${patchObject.metadata.name}`).toBeDefined();
          const patchContainers = (patchObject as Partial<Deployment>).spec?.template?.spec?.containers ?? [];
          const targetContainers = (target as Partial<Deployment>).spec?.template?.spec?.containers ?? [];
          for (const container of patchContainers) expect(targetContainers.map((c) => c.name)).toContain(container.name);
        }
      }
    });

    it('sets replicas only on existing Deployments that no autoscaler owns', () => {
      const built = build(dir);
      const autoscaled = new Set(ofKind<HorizontalPodAutoscaler>(built, 'HorizontalPodAutoscaler').map((h) => h.spec.scaleTargetRef.name));
      const names = new Set(ofKind<Deployment>(built, 'Deployment').map((d) => d.metadata.name));
      for (const { name } of kustomization.replicas ?? []) {
        expect(names, `replicas: ${name}`).toContain(name);
        expect(autoscaled, `replicas: ${name} is scaled by an HPA`).not.toContain(name);
      }
    });

    it('sets the tag of the platform image only', () => {
      for (const image of kustomization.images ?? []) {
        expect(image.name).toBe(IMAGE);
        expect(image.newTag ?? image.digest, `${IMAGE} gets a tag or digest`).toBeTruthy();
      }
    });

    it('applies no Secret and generates none', () => {
      expect(kustomization.secretGenerator).toBeUndefined();
      expect(kustomization.resources ?? []).not.toContain('secret.example.yaml');
      expect(build(dir).objects.filter(({ object }) => object.kind === 'Secret')).toEqual([]);
    });
  });
});

describe('base', () => {
  it('runs every process of the platform, each in its own Deployment', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(Object.keys(PROCESSES).sort());
  });

  it('tags the one platform image', () => {
    expect(baseKustomization.images?.find((i) => i.name === IMAGE)?.newTag).toBeTruthy();
    for (const { owner, template } of podTemplates(base)) {
      // Untagged here: the tag comes from `images:`, so every process runs the same build.
      for (const container of allContainers(template)) expect(container.image, owner).toBe(IMAGE);
    }
  });

  it('labels every object with the standard app.kubernetes.io labels', () => {
    for (const { object } of base.objects) {
      if (object.kind === 'ConfigMap') continue;
      expect(object.metadata.labels?.['app.kubernetes.io/name'], `${object.kind}/${object.metadata.name}`).toBeTruthy();
      expect(object.metadata.labels?.['app.kubernetes.io/part-of'], `${object.kind}/${object.metadata.name}`).toBe('lotabots-platform');
    }
  });

  describe.each(Object.entries(PROCESSES))('Deployment %s', (name, expected) => {
    const deployment = deployments.find((d) => d.metadata.name === name);
    if (!deployment || deployment.spec.template.spec.containers.length !== 1) {
      it('exists, with one container', () => {
        expect(deployment?.spec.template.spec.containers ?? [], `Deployment ${name}`).toHaveLength(1);
      });
      return;
    }
    const container = onlyContainer(deployment);
    const template = deployment.spec.template;

    it(`runs the compiled ${expected.entry}, whose source exists in the repository`, () => {
      expect(commandLine(container)).toEqual(['node', `dist/${expected.entry.replace(/\.ts$/, '.js')}`]);
      expect(entryFileOf(container)).toBe(expected.entry);
      expect(existsSync(new URL(expected.entry, repoRoot)), `${expected.entry} exists`).toBe(true);
    });

    it('selects its own pods', () => {
      expect(matches(deployment.spec.selector.matchLabels, template.metadata.labels)).toBe(true);
    });

    it(`listens on the port it declares (${expected.port}), and PORT says so`, () => {
      expect(declaredPort(container, expected.port)).toBe(expected.port);
      expect(envValue(container, 'PORT', base.configMaps)).toBe(String(expected.port));
    });

    it('probes liveness on /health, readiness on /ready and start-up on /health, on its declared port', () => {
      const probes = { livenessProbe: '/health', readinessProbe: '/ready', startupProbe: '/health' } as const;
      for (const [probe, path] of Object.entries(probes) as [keyof typeof probes, string][]) {
        const httpGet = container[probe]?.httpGet;
        expect(httpGet?.path, probe).toBe(path);
        expect(declaredPort(container, httpGet?.port), `${probe} port`).toBe(expected.port);
      }
    });

    it('gives start-up more time than liveness, so a slow boot is not restarted', () => {
      const budget = (p: HttpProbe | undefined) => (p?.periodSeconds ?? 10) * (p?.failureThreshold ?? 3);
      expect(budget(container.startupProbe)).toBeGreaterThanOrEqual(budget(container.livenessProbe));
    });

    it('outlasts its own drain before SIGKILL', () => {
      const graceMs = Number(envValue(container, 'SHUTDOWN_GRACE_MS', base.configMaps) ?? DEFAULT_SHUTDOWN_GRACE_MS);
      const drainDelayMs = Number(envValue(container, 'SHUTDOWN_DRAIN_DELAY_MS', base.configMaps) ?? 0);
      // The process itself keeps serving (/ready 503, `Connection: close`) while endpoint removal
      // propagates, so no preStop sleep is needed (lib/http.ts `drain`).
      if (expected.servesClients) expect(drainDelayMs, 'SHUTDOWN_DRAIN_DELAY_MS while endpoints are removed').toBeGreaterThan(0);
      expect(template.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThan((drainDelayMs + graceMs) / 1000);
    });

    it('has CPU and memory requests and limits, and a V8 heap below the memory limit', () => {
      for (const kind of ['requests', 'limits'] as const) {
        expect(container.resources?.[kind]?.cpu, `${kind}.cpu`).toBeTruthy();
        expect(container.resources?.[kind]?.memory, `${kind}.memory`).toBeTruthy();
      }
      const heap = /--max-old-space-size=(\d+)/.exec(envValue(container, 'NODE_OPTIONS', base.configMaps) ?? '');
      if (heap) expect(Number(heap[1])).toBeLessThan(mebibytes(container.resources!.limits!.memory!));
    });

    it(`is scraped by Prometheus on its metrics port (${expected.metricsPort}), not its GraphQL port, and METRICS_PORT says so`, () => {
      const annotations = template.metadata.annotations ?? {};
      expect(annotations['prometheus.io/scrape']).toBe('true');
      expect(annotations['prometheus.io/path']).toBe('/metrics');
      expect(declaredPort(container, 'metrics')).toBe(expected.metricsPort);
      expect(declaredPort(container, Number(annotations['prometheus.io/port']))).toBe(expected.metricsPort);
      expect(envValue(container, 'METRICS_PORT', base.configMaps)).toBe(String(expected.metricsPort));
    });

    it('gets no service-link variables, which would clash with its settings', () => {
      expect(template.spec.enableServiceLinks).toBe(false);
    });
  });

  describe.each(podTemplates(base).map((p) => [p.owner, p.template] as const))('%s pod security', (_owner, template) => {
    it('runs as a non-root user, with a read-only root filesystem, no privilege escalation and no capabilities', () => {
      expect(template.spec.securityContext?.runAsNonRoot).toBe(true);
      expect(template.spec.securityContext?.runAsUser).toBeGreaterThan(0);
      for (const container of allContainers(template)) {
        expect(container.securityContext?.allowPrivilegeEscalation, container.name).toBe(false);
        expect(container.securityContext?.readOnlyRootFilesystem, container.name).toBe(true);
        expect(container.securityContext?.capabilities?.drop, container.name).toContain('ALL');
      }
    });

    it('mounts an emptyDir at /tmp, the only writable path (Node’s temporary files)', () => {
      for (const container of allContainers(template)) {
        const mount = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(mount, container.name).toBeDefined();
        expect(template.spec.volumes?.find((v) => v.name === mount?.name)?.emptyDir, container.name).toBeDefined();
      }
    });
  });

  describe.each(services.map((s) => [s.metadata.name, s] as const))('Service %s', (_name, service) => {
    it('is a ClusterIP Service whose selector matches exactly one Deployment, on ports its container declares', () => {
      expect(service.spec.type ?? 'ClusterIP').toBe('ClusterIP');
      const selected = deployments.filter((d) => matches(service.spec.selector, d.spec.template.metadata.labels));
      expect(selected.map((d) => d.metadata.name)).toHaveLength(1);
      const container = onlyContainer(selected[0]!);
      for (const port of service.spec.ports) {
        expect(port.name, 'named port').toBeTruthy();
        expect(declaredPort(container, port.targetPort ?? port.port), `port ${port.port}`).toBeDefined();
      }
    });
  });

  it('has a Service for every Deployment, named after it, on its port', () => {
    for (const [name, expected] of Object.entries(PROCESSES)) {
      const service = services.find((s) => s.metadata.name === name);
      expect(service?.spec.ports.map((p) => p.port), name).toContain(expected.port);
    }
  });

  it('refers only to the ConfigMaps it defines, to keys they hold, and to the platform Secret', () => {
    for (const { owner, template } of podTemplates(base)) {
      for (const container of allContainers(template)) {
        const where = `${owner} ${container.name}`;
        const names = (container.env ?? []).map((e) => e.name);
        expect(new Set(names).size, `${where}: no variable set twice`).toBe(names.length);
        for (const source of container.envFrom ?? []) {
          if (source.configMapRef) expect([...base.configMaps.keys()], where).toContain(source.configMapRef.name);
          if (source.secretRef) expect(source.secretRef.name, where).toBe(SECRET_NAME);
        }
        for (const variable of container.env ?? []) {
          const configMapRef = variable.valueFrom?.configMapKeyRef;
          if (configMapRef) {
            expect([...base.configMaps.keys()], `${where} ${variable.name}`).toContain(configMapRef.name);
            expect(Object.keys(base.configMaps.get(configMapRef.name) ?? {}), `${where} ${variable.name}`).toContain(configMapRef.key);
          }
          const secretRef = variable.valueFrom?.secretKeyRef;
          if (secretRef) {
            expect(secretRef.name, `${where} ${variable.name}`).toBe(SECRET_NAME);
            // secret.example.yaml documents every key an operator must create.
            expect([...exampleSecretKeys], `${where} ${variable.name}`).toContain(secretRef.key);
          }
        }
      }
    }
  });

  it('documents in secret.example.yaml exactly the Secret keys the pods use', () => {
    const used = new Set<string>();
    for (const { template } of podTemplates(base)) {
      for (const container of allContainers(template)) {
        for (const variable of container.env ?? []) if (variable.valueFrom?.secretKeyRef) used.add(variable.valueFrom.secretKeyRef.key);
      }
    }
    expect([...exampleSecretKeys].sort()).toEqual([...used].sort());
  });

  it('commits no credential: the example Secret holds placeholders and is applied by no kustomization', () => {
    expect(secretExample?.kind).toBe('Secret');
    expect(secretExample?.metadata.name).toBe(SECRET_NAME);
    expect(secretExample?.data, 'placeholders go in stringData').toBeUndefined();
    for (const [key, value] of Object.entries(secretExample?.stringData ?? {})) {
      expect(value, key).toMatch(/REPLACE_WITH_|PASSWORD/);
    }
    for (const dir of kustomizationDirs) {
      expect(readFileSync(new URL('kustomization.yaml', dir), 'utf8')).not.toMatch(/^\s*-\s*secret\.example\.yaml/m);
    }
  });

  it('reads database and Redis settings from the Secret, never from a literal value', () => {
    for (const { owner, template } of podTemplates(base)) {
      for (const container of allContainers(template)) {
        for (const variable of container.env ?? []) {
          if (/^(DATABASE_URL|REDIS_URL|JWT_.*|.*SECRET.*)$/.test(variable.name)) {
            expect(variable.valueFrom?.secretKeyRef, `${owner} ${variable.name}`).toBeDefined();
          }
        }
      }
    }
    for (const [name, data] of base.configMaps) {
      for (const value of Object.values(data)) expect(value, `ConfigMap ${name}`).not.toMatch(/^(postgres(ql)?|rediss?):\/\//);
    }
  });

  it('gives every process tracing settings its config accepts: off until a collector is named, then whole traces sampled', () => {
    for (const deployment of deployments) {
      const container = onlyContainer(deployment);
      const settings = z.object(tracingEnv).parse(Object.fromEntries(Object.keys(tracingEnv).map((name) => [name, envValue(container, name, base.configMaps)])));
      expect(tracesUrlOf(settings), `${deployment.metadata.name}: no endpoint committed`).toBeNull();
      // Parent-based: a trace the gateway keeps is kept by every process it reaches.
      expect(settings.OTEL_TRACES_SAMPLER, deployment.metadata.name).toBe('parentbased_traceidratio');
      expect(settings.OTEL_TRACES_SAMPLER_ARG).toBeLessThan(1);
    }
    expect(tracesUrlOf(z.object(tracingEnv).parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318' }))).toBe(
      'http://otel-collector.observability:4318/v1/traces',
    );
  });

  describe('gateway', () => {
    const container = () => onlyContainer(deploymentNamed('gateway'));

    it('composes from a supergraph config that ships in the image', () => {
      const file = envValue(container(), 'SUPERGRAPH_CONFIG', base.configMaps);
      expect(file).toBeTruthy();
      expect(existsSync(new URL(file!, repoRoot)), `${file} exists`).toBe(true);
    });

    it('routes each subgraph of the supergraph config to its Service', () => {
      const overrides = envValue(container(), 'SUBGRAPH_URLS', base.configMaps) ?? '';
      const routes = new Map(overrides.split(',').map((pair) => pair.split(/=(.*)/s, 2) as [string, string]));
      const config = parseYaml(readFileSync(new URL(envValue(container(), 'SUPERGRAPH_CONFIG', base.configMaps) ?? 'supergraph.yaml', repoRoot), 'utf8')) as {
        subgraphs: Record<string, unknown>;
      };
      expect([...routes.keys()].sort()).toEqual(Object.keys(config.subgraphs).sort());
      for (const [subgraph, url] of routes) {
        const { hostname, port, pathname } = new URL(url);
        const service = services.find((s) => s.metadata.name === hostname);
        expect(service, `${subgraph}: Service ${hostname}`).toBeDefined();
        expect(service!.spec.ports.map((p) => String(p.port)), `${subgraph}: port`).toContain(port);
        expect(pathname).toBe('/graphql');
        const target = deployments.find((d) => matches(service!.spec.selector, d.spec.template.metadata.labels));
        expect(entryFileOf(onlyContainer(target!)), `${subgraph} routes to its own process`).toBe(`subgraphs/${subgraph}/main.ts`);
      }
    });

    it('is autoscaled on CPU, and so sets no replicas of its own', () => {
      const autoscalers = ofKind<HorizontalPodAutoscaler>(base, 'HorizontalPodAutoscaler');
      const hpa = autoscalers.find((h) => h.spec.scaleTargetRef.name === 'gateway');
      expect(hpa?.spec.scaleTargetRef.kind).toBe('Deployment');
      expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa?.spec.metrics?.[0]?.resource?.target.averageUtilization).toBe(70);
      expect(deploymentNamed('gateway').spec.replicas).toBeUndefined();
      for (const autoscaler of autoscalers) expect(deployments.map((d) => d.metadata.name)).toContain(autoscaler.spec.scaleTargetRef.name);
    });

    it('has a PodDisruptionBudget, and every budget covers exactly one Deployment', () => {
      const budgets = ofKind<PodDisruptionBudget>(base, 'PodDisruptionBudget');
      expect(budgets.map((b) => b.metadata.name)).toContain('gateway');
      for (const budget of budgets) {
        const covered = deployments.filter((d) => matches(budget.spec.selector.matchLabels, d.spec.template.metadata.labels));
        expect(covered.map((d) => d.metadata.name), budget.metadata.name).toEqual([budget.metadata.name]);
      }
    });
  });

  describe('migration Job', () => {
    it('runs the compiled scripts/migrate.ts, whose source exists in the repository, with the database URL from the Secret', () => {
      const job = jobs.find((j) => j.metadata.name === 'db-migrate');
      expect(job).toBeDefined();
      const [container] = job!.spec.template.spec.containers;
      expect(commandLine(container!)).toEqual(['node', 'dist/scripts/migrate.js']);
      expect(entryFileOf(container!)).toBe('scripts/migrate.ts');
      expect(existsSync(new URL('scripts/migrate.ts', repoRoot)), 'scripts/migrate.ts exists').toBe(true);
      expect(container!.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: SECRET_NAME, key: 'database-url' });
    });

    it('retries a few times, is cleaned up after it finishes, and never restarts in place', () => {
      const job = jobs.find((j) => j.metadata.name === 'db-migrate')!;
      expect(job.spec.backoffLimit).toBe(3);
      expect(job.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
      expect(job.spec.template.spec.restartPolicy).toBe('Never');
    });
  });
});

// ---- NetworkPolicies: who may reach whom (networking.k8s.io/v1 semantics, one namespace) ------

interface PolicyPeer {
  podSelector?: { matchLabels?: Labels };
  namespaceSelector?: { matchLabels?: Labels };
  ipBlock?: unknown;
}
interface PolicyPort {
  protocol?: string;
  port?: number | string;
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}
interface NetworkPolicy extends K8sObject {
  spec: { podSelector: { matchLabels?: Labels }; policyTypes: ('Ingress' | 'Egress')[]; ingress?: PolicyRule[]; egress?: PolicyRule[] };
}

/** A pod as the policies see it: labels, namespace (ours or another), named container ports. */
interface Endpoint {
  labels: Labels;
  inOurNamespace: boolean;
  ports: Record<string, number>;
}

/** An empty selector selects everything; otherwise every label must match. */
const selectsLabels = (selector: { matchLabels?: Labels } | undefined, labels: Labels) =>
  Object.entries(selector?.matchLabels ?? {}).every(([key, value]) => labels[key] === value);

function peerMatches(peer: PolicyPeer, endpoint: Endpoint | 'outside'): boolean {
  if (endpoint === 'outside') return peer.ipBlock !== undefined;
  if (peer.ipBlock) return false;
  const namespaceOk = peer.namespaceSelector ? true : endpoint.inOurNamespace; // no namespaceSelector: this namespace only
  return namespaceOk && selectsLabels(peer.podSelector, endpoint.labels);
}

function portMatches(ports: PolicyPort[] | undefined, port: number, target: Endpoint | 'outside'): boolean {
  if (!ports) return true;
  return ports.some((p) => p.port === undefined || p.port === port || (typeof p.port === 'string' && target !== 'outside' && target.ports[p.port] === port));
}

/** Whether traffic from `source` to `target`:`port` passes both the egress and the ingress side. */
function allowed(policies: NetworkPolicy[], source: Endpoint, target: Endpoint | 'outside', port: number): boolean {
  const side = (type: 'Ingress' | 'Egress', subject: Endpoint, other: Endpoint | 'outside') => {
    const applying = policies.filter((p) => p.spec.policyTypes.includes(type) && subject.inOurNamespace && selectsLabels(p.spec.podSelector, subject.labels));
    if (applying.length === 0) return true;
    const destination = type === 'Egress' ? other : subject;
    return applying.some((policy) =>
      (type === 'Egress' ? policy.spec.egress : policy.spec.ingress)?.some((rule) => {
        const peers = type === 'Egress' ? rule.to : rule.from;
        return (!peers || peers.some((peer) => peerMatches(peer, other))) && portMatches(rule.ports, port, destination);
      }),
    );
  };
  return side('Egress', source, target) && (target === 'outside' || side('Ingress', target, source));
}

describe('network policies', () => {
  const policies = ofKind<NetworkPolicy>(base, 'NetworkPolicy');
  const podOf = (template: PodTemplate): Endpoint => ({
    labels: template.metadata.labels ?? {},
    inOurNamespace: true,
    ports: Object.fromEntries((template.spec.containers[0]!.ports ?? []).map((p) => [p.name ?? '', p.containerPort])),
  });
  const pods = Object.fromEntries(podTemplates(base).map(({ owner, template }) => [owner.split('/')[1]!, podOf(template)]));
  const subgraphs = Object.keys(PROCESSES).filter((name) => pods[name]?.labels['app.kubernetes.io/component'] === 'subgraph');
  const prometheus: Endpoint = { labels: { 'app.kubernetes.io/name': 'prometheus' }, inOurNamespace: false, ports: {} };
  const stranger: Endpoint = { labels: { app: 'something-else' }, inOurNamespace: true, ports: {} };
  const kubeDns: Endpoint = { labels: { 'k8s-app': 'kube-dns' }, inOurNamespace: false, ports: {} };
  const POSTGRES = 5432;
  const REDIS = 6379;
  const OTLP_HTTP = 4318;

  it('are listed in the base and deny every platform pod all traffic by default', () => {
    expect(baseKustomization.resources).toContain('network-policies.yaml');
    const defaultDeny = policies.find((p) => !p.spec.ingress && !p.spec.egress && p.spec.policyTypes.includes('Ingress') && p.spec.policyTypes.includes('Egress'));
    expect(defaultDeny).toBeDefined();
    for (const [name, pod] of Object.entries(pods)) expect(selectsLabels(defaultDeny!.spec.podSelector, pod.labels), name).toBe(true);
  });

  it('regression: only the gateway reaches the subgraphs, and the inference subgraph the autonomy subgraph (its autonomy check)', () => {
    expect(subgraphs).toHaveLength(4);
    const mayCall = (caller: string, subgraph: string) => caller === 'gateway' || (caller === 'inference' && subgraph === 'autonomy');
    for (const subgraph of subgraphs) {
      const port = PROCESSES[subgraph as keyof typeof PROCESSES].port;
      expect(allowed(policies, pods.gateway!, pods[subgraph]!, port), `gateway → ${subgraph}`).toBe(true);
      for (const [name, pod] of Object.entries(pods)) {
        expect(allowed(policies, pod, pods[subgraph]!, port), `${name} → ${subgraph}`).toBe(mayCall(name, subgraph));
      }
      expect(allowed(policies, stranger, pods[subgraph]!, port), `another pod → ${subgraph}`).toBe(false);
    }
  });

  it('regression: only the subgraphs and the migration Job reach PostgreSQL; the gateway, subgraphs and worker reach Redis', () => {
    for (const [name, pod] of Object.entries(pods)) {
      expect(allowed(policies, pod, 'outside', POSTGRES), `${name} → PostgreSQL`).toBe(subgraphs.includes(name) || name === 'db-migrate');
      expect(allowed(policies, pod, 'outside', REDIS), `${name} → Redis`).toBe(name !== 'db-migrate');
    }
  });

  it('let clients reach the gateway, and Prometheus every metrics port but no other port', () => {
    expect(allowed(policies, stranger, pods.gateway!, PROCESSES.gateway.port)).toBe(true);
    for (const [name, expected] of Object.entries(PROCESSES)) {
      expect(allowed(policies, prometheus, pods[name]!, expected.metricsPort), `Prometheus → ${name} metrics`).toBe(true);
      expect(allowed(policies, stranger, pods[name]!, expected.metricsPort), `another pod → ${name} metrics`).toBe(false);
      if (name !== 'gateway') expect(allowed(policies, prometheus, pods[name]!, expected.port), `Prometheus → ${name} GraphQL`).toBe(false);
    }
  });

  it('let every pod resolve names through the cluster DNS', () => {
    for (const [name, pod] of Object.entries(pods)) expect(allowed(policies, pod, kubeDns, 53), name).toBe(true);
  });

  it('let every pod send spans to the OpenTelemetry Collector on its OTLP/HTTP port, and only there', () => {
    const collector: Endpoint = { labels: { 'app.kubernetes.io/name': 'opentelemetry-collector' }, inOurNamespace: false, ports: {} };
    for (const [name, pod] of Object.entries(pods)) {
      expect(allowed(policies, pod, collector, OTLP_HTTP), `${name} → collector`).toBe(true);
      expect(allowed(policies, pod, collector, 4317), `${name} → collector gRPC`).toBe(false);
      expect(allowed(policies, pod, stranger, OTLP_HTTP), `${name} → another pod`).toBe(false);
    }
  });
});

// ---- The GPU overlay: workers talking to a vLLM Deployment through its Service -------------------

describe('gpu overlay', () => {
  const gpuDir = new URL('overlays/gpu/', k8sRoot);
  const gpu = build(gpuDir);
  const vllm = ofKind<Deployment>(gpu, 'Deployment').find((d) => d.metadata.name === 'vllm');
  const workerEnv = gpu.configMaps.get('worker-gpu-config') ?? {};
  const podOf = (deployment: Deployment): Endpoint => ({
    labels: deployment.spec.template.metadata.labels ?? {},
    inOurNamespace: true,
    ports: Object.fromEntries((deployment.spec.template.spec.containers[0]!.ports ?? []).map((p) => [p.name ?? '', p.containerPort])),
  });

  it('points the workers at a Service that selects the vLLM pods, on a port vLLM listens on', () => {
    expect(vllm, 'a vllm Deployment').toBeDefined();
    const url = new URL(workerEnv.OPENAI_BASE_URL!);
    expect(workerEnv.WORKER_BACKEND).toBe('openai');
    const service = ofKind<Service>(gpu, 'Service').find((candidate) => candidate.metadata.name === url.hostname);
    expect(service, `a Service named ${url.hostname}`).toBeDefined();
    expect(matches(service!.spec.selector, vllm!.spec.template.metadata.labels)).toBe(true);
    const port = service!.spec.ports.find((candidate) => candidate.port === Number(url.port));
    expect(port, `the Service exposes ${url.port}`).toBeDefined();
    expect(declaredPort(onlyContainer(vllm!), port!.targetPort ?? port!.port)).toBeDefined();
  });

  it('runs vLLM on a GPU node, ready only once /health answers, serving the models the workers map to', () => {
    const container = onlyContainer(vllm!);
    expect(container.resources?.limits?.['nvidia.com/gpu']).toBe('1');
    const spec = vllm!.spec.template.spec as PodTemplate['spec'] & { nodeSelector?: Labels; tolerations?: Array<{ key: string }> };
    expect(Object.keys(spec.nodeSelector ?? {})).not.toHaveLength(0);
    expect(spec.tolerations?.map((toleration) => toleration.key)).toContain('nvidia.com/gpu');
    expect(container.readinessProbe?.httpGet?.path).toBe('/health');
    expect(declaredPort(container, container.readinessProbe?.httpGet?.port)).toBeDefined();
    const served = container.args?.find((arg) => arg.startsWith('--served-model-name='))?.split('=')[1];
    expect(Object.values(JSON.parse(workerEnv.OPENAI_MODEL_MAP ?? '{}') as Record<string, string>)).toEqual([served]);
  });

  it('scales the workers and vLLM on the inference queue depth', () => {
    const autoscalers = ofKind<HorizontalPodAutoscaler>(gpu, 'HorizontalPodAutoscaler');
    for (const name of ['worker', 'vllm']) {
      const hpa = autoscalers.find((candidate) => candidate.spec.scaleTargetRef.name === name);
      expect((hpa?.spec.metrics as Array<{ external?: { metric: { name: string } } }> | undefined)?.map((m) => m.external?.metric.name), name).toContain(
        'lotabots_inference_queue_depth',
      );
    }
  });

  it('lets the workers, and only them, reach vLLM; no other platform pod', () => {
    const policies = ofKind<NetworkPolicy>(gpu, 'NetworkPolicy');
    const deployments = ofKind<Deployment>(gpu, 'Deployment');
    const target = podOf(vllm!);
    for (const deployment of deployments) {
      if (deployment === vllm) continue;
      expect(allowed(policies, podOf(deployment), target, 8000), `${deployment.metadata.name} → vllm`).toBe(deployment.metadata.name === 'worker');
    }
  });
});

// ---- The documented key commands make keys the processes accept ------------------------------

describe('secret.example.yaml key commands', () => {
  /** The `openssl …` lines of the commented example, as an operator would paste them. */
  const commands = readFileSync(secretExampleUrl, 'utf8')
    .split('\n')
    .map((line) => line.replace(/^#\s*/, ''))
    .filter((line) => line.startsWith('openssl '));

  it('regression: make an access-token key pair and identity secret that production start-up accepts (not ed25519)', async () => {
    expect(commands.length).toBeGreaterThanOrEqual(2);
    const dir = mkdtempSync(path.join(tmpdir(), 'lotabots-k8s-keys-'));
    try {
      for (const command of commands.filter((c) => !c.includes('rand'))) execSync(command, { cwd: dir, stdio: 'pipe' });
      const keys = await loadSigningKeys(
        {
          privateKeyPem: readFileSync(path.join(dir, 'jwt-private.pem'), 'utf8'),
          publicKeyPem: readFileSync(path.join(dir, 'jwt-public.pem'), 'utf8'),
          devKeyDir: dir,
          production: true,
        },
        true,
      );
      const issued = await createAccessTokenIssuer(keys, 900, () => new Date()).issue({ userId: 'u', roles: ['user'], scopes: [], plan: 'free', sessionId: 's' });
      expect(issued.token.split('.')).toHaveLength(3);
      // The identity secret comes from the `--from-literal=…="$(openssl rand …)"` line.
      const rand = /\$\((openssl rand [^)]+)\)/.exec(readFileSync(secretExampleUrl, 'utf8'))?.[1];
      expect(rand).toBeDefined();
      const secret = execSync(rand!, { encoding: 'utf8' }).trim();
      await expect(loadIdentitySecret({ secret, devKeyDir: dir, production: true })).resolves.toHaveLength(secret.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('image', () => {
  const dockerfile = readFileSync(new URL('Dockerfile', repoRoot), 'utf8');
  const dockerignore = readFileSync(new URL('.dockerignore', repoRoot), 'utf8').split('\n').map((l) => l.trim());

  it('runs as the same non-root user the pods require', () => {
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    const uid = Number(users.at(-1)?.split(':')[0]);
    expect(uid).toBeGreaterThan(0);
    for (const { owner, template } of podTemplates(base)) expect(template.spec.securityContext?.runAsUser, owner).toBe(uid);
  });

  it('installs production dependencies from the lockfile', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\}|^FROM node:20-bookworm-slim/m);
  });

  it('keeps local state, keys and host node_modules out of the build context', () => {
    for (const path of ['node_modules', '.data', '.keys', '.git']) expect(dockerignore).toContain(path);
    expect(dockerignore.some((l) => l === 'bench' || l === 'bench/results')).toBe(true);
  });
});
