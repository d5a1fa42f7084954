#!/usr/bin/env node
// Starts and stops the real services the test suite needs: Redis and a
// single-node Kafka broker (KRaft, combined broker+controller).
//
//   node scripts/services.mjs up            start whatever is not answering yet (idempotent)
//   node scripts/services.mjs down [--clean] stop what this script started (--clean: wipe Kafka data)
//   node scripts/services.mjs status        print whether each service answers (exit 1 if one does not)
//
// Kafka comes from the Apache Kafka jars on Maven Central, fetched with mvn into
// $SURGEWATCH_SERVICES_DIR/kafka/libs (git-ignored) on first use.
//
// Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), REDIS_PORT (6379),
// SURGEWATCH_SERVICES_DIR (.services, relative to the repo root), KAFKA_VERSION (3.9.1),
// KAFKA_HEAP_OPTS ("-Xmx1g -Xms256m"), KAFKA_JVM_OPTS (extra JVM flags), KAFKA_START_TIMEOUT_S (120).
//
// Only Node builtins are used. Progress goes to stderr; `status` writes its table to stdout.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function intEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || n > 65535 * 1000) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return n;
}

const KAFKA_PORT = intEnv('KAFKA_PORT', 9092);
const KAFKA_CONTROLLER_PORT = intEnv('KAFKA_CONTROLLER_PORT', KAFKA_PORT + 1);
const REDIS_PORT = intEnv('REDIS_PORT', 6379);
const KAFKA_VERSION = process.env.KAFKA_VERSION || '3.9.1';
const SCALA_VERSION = '2.13';
const START_TIMEOUT_MS = intEnv('KAFKA_START_TIMEOUT_S', 120) * 1000;
const STOP_TIMEOUT_MS = 30_000;

const SERVICES_DIR = path.resolve(REPO_ROOT, process.env.SURGEWATCH_SERVICES_DIR || '.services');
const STATE_FILE = path.join(SERVICES_DIR, 'state.json');
const LOCK_FILE = path.join(SERVICES_DIR, '.lock');
const REDIS_DIR = path.join(SERVICES_DIR, 'redis');
const REDIS_PID_FILE = path.join(REDIS_DIR, 'redis.pid');
const REDIS_LOG_FILE = path.join(REDIS_DIR, 'redis.log');
const KAFKA_DIR = path.join(SERVICES_DIR, 'kafka');
const KAFKA_LIBS = path.join(KAFKA_DIR, 'libs');
const KAFKA_LIBS_MARKER = path.join(KAFKA_LIBS, '.complete');
const KAFKA_DATA = path.join(KAFKA_DIR, 'data');
const KAFKA_PROPS = path.join(KAFKA_DIR, 'server.properties');
const KAFKA_LOG4J = path.join(KAFKA_DIR, 'log4j.properties');
const KAFKA_LOG = path.join(KAFKA_DIR, 'kafka.log');
const KAFKA_PREV_LOG = path.join(KAFKA_DIR, 'kafka.prev.log');
const KAFKA_PID_FILE = path.join(KAFKA_DIR, 'kafka.pid');

// The logging binding is not a dependency of kafka_2.13 (its pom excludes log4j);
// without it the broker runs but logs nothing. These are the versions the 3.9
// binary distribution ships in its libs/.
const LOG_DEPS = [
  ['org.slf4j', 'slf4j-reload4j', '1.7.36'],
  ['ch.qos.reload4j', 'reload4j', '1.2.25'],
];
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

const log = (msg) => process.stderr.write(`[services] ${msg}\n`);
const shown = (p) => (p.startsWith(REPO_ROOT + path.sep) ? path.relative(REPO_ROOT, p) : p);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kafkaAddr = `${HOST}:${KAFKA_PORT}`;
const redisAddr = `${HOST}:${REDIS_PORT}`;

class ServiceError extends Error {}

// ---------------------------------------------------------------- small helpers

function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return {};
  }
}

function writeState(state) {
  fs.mkdirSync(SERVICES_DIR, { recursive: true });
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(tmp, STATE_FILE);
}

function readPid(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  // A zombie still answers kill(0); /proc tells them apart.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

/** True when pid is alive and its command line contains `needle` (guards against pid reuse). */
function pidRuns(pid, needle) {
  if (!pid || !isAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return true; // no /proc: trust the pid
  }
}

function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function waitForExit(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

async function stopPid(pid, name) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    if (err.code === 'ESRCH') return;
    throw err;
  }
  if (await waitForExit(pid, STOP_TIMEOUT_MS)) return;
  log(`${name} (pid ${pid}) still running after ${STOP_TIMEOUT_MS / 1000}s; sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if (err.code !== 'ESRCH') throw err;
  }
  await waitForExit(pid, 5000);
}

// A lock so that two concurrent `up`/`down` runs (e.g. two test runs started at
// once) don't both fetch, format or start.
async function withLock(fn) {
  fs.mkdirSync(SERVICES_DIR, { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = readPid(LOCK_FILE);
      if (!holder || !isAlive(holder)) {
        fs.rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new ServiceError(`lock ${LOCK_FILE} held by pid ${holder} for too long`);
      if (!announced) log(`waiting for another services.mjs (pid ${holder}) to finish`);
      announced = true;
      await sleep(250);
    }
  }
  const release = () => {
    if (readPid(LOCK_FILE) === process.pid) fs.rmSync(LOCK_FILE, { force: true });
  };
  process.on('exit', release);
  try {
    return await fn();
  } finally {
    release();
    process.off('exit', release);
  }
}

// ---------------------------------------------------------------- wire probes

/** Sends `payload` to host:port and resolves with the bytes received once `isComplete(buf)` says so. */
function exchange(port, payload, isComplete, timeoutMs) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    let buf = Buffer.alloc(0);
    const done = (err, value) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    sock.on('connect', () => sock.write(payload));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (isComplete(buf)) done(null, buf);
    });
    sock.on('error', (err) => done(err));
    sock.on('close', () => done(new Error('connection closed')));
  });
}

/** 'pong' | 'auth' (a Redis that wants a password) | null (nothing answers like Redis). */
async function redisPing(timeoutMs = 1000) {
  try {
    const reply = await exchange(REDIS_PORT, Buffer.from('PING\r\n'), (b) => b.includes('\r\n'), timeoutMs);
    const text = reply.toString('latin1');
    if (text.startsWith('+PONG')) return 'pong';
    if (text.startsWith('-NOAUTH') || text.startsWith('-ERR')) return 'auth';
    return null;
  } catch {
    return null;
  }
}

/**
 * Sends a Kafka Metadata v1 request for no topics and returns the number of
 * brokers in the answer, or null when nothing answers like a Kafka broker.
 * A KRaft broker lists itself only once it is unfenced, i.e. really ready.
 */
async function kafkaBrokerCount(timeoutMs = 2000) {
  const clientId = Buffer.from('surgewatch-services');
  const correlationId = 0x5357;
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4);
  let o = 0;
  o = body.writeInt16BE(3, o); // api_key: Metadata
  o = body.writeInt16BE(1, o); // api_version: 1
  o = body.writeInt32BE(correlationId, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  body.writeInt32BE(0, o); // topics: [] (none; null would mean all)
  const frame = Buffer.concat([Buffer.alloc(4), body]);
  frame.writeInt32BE(body.length, 0);
  try {
    const res = await exchange(
      KAFKA_PORT,
      frame,
      (b) => b.length >= 4 && b.length >= 4 + b.readInt32BE(0),
      timeoutMs,
    );
    if (res.readInt32BE(4) !== correlationId) return null;
    return res.readInt32BE(8); // brokers array length
  } catch {
    return null;
  }
}

function tcpOpen(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    const done = (v) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}

const kafkaReady = async () => ((await kafkaBrokerCount()) ?? 0) >= 1;

// ---------------------------------------------------------------- Redis

async function redisUp() {
  const state = readState();
  const answer = await redisPing();
  if (answer) {
    const ours = state.redis?.startedByUs && pidRuns(readPid(REDIS_PID_FILE), 'redis-server');
    if (!ours) {
      state.redis = { startedByUs: false, port: REDIS_PORT };
      writeState(state);
    }
    log(`redis: already answering at ${redisAddr}${ours ? ' (started by services.mjs)' : ''}` +
      (answer === 'auth' ? ' (it asks for a password)' : ''));
    return;
  }
  if (await tcpOpen(REDIS_PORT)) {
    throw new ServiceError(`redis: port ${REDIS_PORT} is open but does not answer PING like Redis`);
  }
  if (!which('redis-server')) {
    throw new ServiceError('redis: nothing answers at ' + redisAddr +
      ' and redis-server is not installed (Debian: apt-get install -y redis-server)');
  }
  fs.mkdirSync(REDIS_DIR, { recursive: true });
  log(`redis: starting redis-server on ${redisAddr}`);
  const r = spawnSync('redis-server', [
    '--daemonize', 'yes',
    '--port', String(REDIS_PORT),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--dir', REDIS_DIR,
    '--pidfile', REDIS_PID_FILE,
    '--logfile', REDIS_LOG_FILE,
  ], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new ServiceError(`redis: redis-server exited with ${r.status}: ${r.stderr || r.stdout}`);
  }
  state.redis = { startedByUs: true, port: REDIS_PORT };
  writeState(state);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await redisPing()) {
      log(`redis: ready at ${redisAddr}`);
      return;
    }
    await sleep(100);
  }
  throw new ServiceError(`redis: started but not answering PING after 20s\n${tail(REDIS_LOG_FILE)}`);
}

async function redisDown() {
  const state = readState();
  if (!state.redis?.startedByUs) {
    log('redis: not started by services.mjs; leaving it alone');
    return;
  }
  const pid = readPid(REDIS_PID_FILE);
  if (pidRuns(pid, 'redis-server')) {
    log(`redis: stopping pid ${pid}`);
    await stopPid(pid, 'redis');
  } else {
    log('redis: the redis-server started by services.mjs is no longer running');
  }
  fs.rmSync(REDIS_PID_FILE, { force: true });
  delete state.redis;
  writeState(state);
}

// ---------------------------------------------------------------- Kafka

function kafkaPom() {
  const dep = ([g, a, v]) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/services.mjs: the runtime classpath of a Kafka ${KAFKA_VERSION} broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.surgewatch.services</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${[['org.apache.kafka', `kafka_${SCALA_VERSION}`, KAFKA_VERSION], ...LOG_DEPS].map(dep).join('\n')}
  </dependencies>
</project>
`;
}

function kafkaJar() {
  return `kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar`;
}

function libsReady() {
  try {
    return fs.readFileSync(KAFKA_LIBS_MARKER, 'utf8').trim() === KAFKA_VERSION &&
      fs.existsSync(path.join(KAFKA_LIBS, kafkaJar()));
  } catch {
    return false;
  }
}

function fetchKafka() {
  if (libsReady()) return;
  if (!which('mvn')) throw new ServiceError('kafka: mvn is not installed; it is needed once to fetch the Kafka jars');
  fs.mkdirSync(KAFKA_DIR, { recursive: true });
  fs.writeFileSync(path.join(KAFKA_DIR, 'pom.xml'), kafkaPom());
  const tmp = path.join(KAFKA_DIR, 'libs.tmp');
  fs.rmSync(tmp, { recursive: true, force: true });
  log(`kafka: fetching Apache Kafka ${KAFKA_VERSION} jars with mvn into ${shown(KAFKA_LIBS)}/`);
  const t0 = Date.now();
  const r = spawnSync('mvn', [
    '-B', '-q', '-Dstyle.color=never', '-f', path.join(KAFKA_DIR, 'pom.xml'),
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    `-DoutputDirectory=${tmp}`,
    '-DincludeScope=runtime',
  ], { cwd: KAFKA_DIR, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  // With -q, mvn prints nothing useful on success (Maven 3.8 still emits bare
  // ANSI resets even with -B), so its output is only shown when it fails.
  const mvnOut = `${r.stdout ?? ''}${r.stderr ?? ''}`
    .split(String.fromCharCode(27)).join('').replace(/\[[0-9;]*m/g, '').trim();
  if (r.status !== 0 || !fs.existsSync(path.join(tmp, kafkaJar()))) {
    throw new ServiceError(`kafka: mvn could not fetch org.apache.kafka:kafka_${SCALA_VERSION}:${KAFKA_VERSION} ` +
      `(exit ${r.status ?? r.error?.message})${mvnOut ? `:\n${mvnOut}` : ''}`);
  }
  fs.writeFileSync(path.join(tmp, '.complete'), KAFKA_VERSION + '\n');
  fs.rmSync(KAFKA_LIBS, { recursive: true, force: true });
  fs.renameSync(tmp, KAFKA_LIBS);
  const count = fs.readdirSync(KAFKA_LIBS).filter((f) => f.endsWith('.jar')).length;
  log(`kafka: fetched ${count} jars in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

function writeKafkaConfig() {
  fs.mkdirSync(KAFKA_DIR, { recursive: true });
  const props = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${HOST}:${KAFKA_CONTROLLER_PORT}`,
    'listeners': `PLAINTEXT://${HOST}:${KAFKA_PORT},CONTROLLER://${HOST}:${KAFKA_CONTROLLER_PORT}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${KAFKA_PORT}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': KAFKA_DATA,
    'num.partitions': '4',
    'default.replication.factor': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '4',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '4',
    'group.initial.rebalance.delay.ms': '0',
    'group.min.session.timeout.ms': '1000',
    'auto.create.topics.enable': 'true',
    'delete.topic.enable': 'true',
    'log.retention.hours': '24',
    'num.network.threads': '2',
    'num.io.threads': '4',
  };
  const text = '# Generated by scripts/services.mjs on every `up`; edits are overwritten.\n' +
    Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
  fs.writeFileSync(KAFKA_PROPS, text);
  fs.writeFileSync(KAFKA_LOG4J, [
    '# Generated by scripts/services.mjs: everything to stdout, which goes to kafka.log.',
    'log4j.rootLogger=INFO, stdout',
    'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.request.logger=WARN',
    'log4j.logger.state.change.logger=WARN',
    'log4j.logger.kafka.authorizer.logger=WARN',
    '',
  ].join('\n'));
}

function javaArgs(mainClass, args) {
  const heap = (process.env.KAFKA_HEAP_OPTS || '-Xmx1g -Xms256m').split(/\s+/).filter(Boolean);
  const extra = (process.env.KAFKA_JVM_OPTS || '').split(/\s+/).filter(Boolean);
  return [
    ...heap,
    '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent', '-XX:-UsePerfData', '-Xshare:auto',
    '-Djava.awt.headless=true', '-Djava.net.preferIPv4Stack=true',
    `-Dlog4j.configuration=file:${KAFKA_LOG4J}`,
    ...extra,
    '-cp', `${KAFKA_LIBS}/*`,
    mainClass, ...args,
  ];
}

/** A Kafka UUID as the storage tool wants it: 16 random bytes, URL-safe base64, not starting with '-'. */
function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function isFormatted() {
  return fs.existsSync(path.join(KAFKA_DATA, 'meta.properties'));
}

function formatKafka() {
  fs.mkdirSync(KAFKA_DATA, { recursive: true });
  const clusterId = newClusterId();
  log(`kafka: formatting ${shown(KAFKA_DATA)} (cluster id ${clusterId})`);
  const r = spawnSync('java', javaArgs('kafka.tools.StorageTool', [
    'format', '-t', clusterId, '-c', KAFKA_PROPS,
  ]).filter((a) => !a.startsWith('-Xms')), { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new ServiceError(`kafka: formatting the log dir failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
}

function wipeKafkaData() {
  fs.rmSync(KAFKA_DATA, { recursive: true, force: true });
}

function launchKafka() {
  if (fs.existsSync(KAFKA_LOG)) fs.renameSync(KAFKA_LOG, KAFKA_PREV_LOG);
  const out = fs.openSync(KAFKA_LOG, 'w');
  const child = spawn('java', javaArgs('kafka.Kafka', [KAFKA_PROPS]), {
    cwd: KAFKA_DIR,
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const info = { pid: child.pid, exited: null };
  child.on('exit', (code, signal) => {
    info.exited = signal ? `signal ${signal}` : `code ${code}`;
  });
  child.on('error', (err) => {
    info.exited = `spawn error: ${err.message}`;
  });
  child.unref();
  if (child.pid) fs.writeFileSync(KAFKA_PID_FILE, `${child.pid}\n`);
  return info;
}

/** Waits until the broker lists itself in Metadata. Resolves 'ready' | 'exited' | 'timeout'. */
async function waitKafkaReady(info, deadline) {
  while (Date.now() < deadline) {
    if (info && (info.exited || !isAlive(info.pid))) return 'exited';
    if (await kafkaReady()) return 'ready';
    await sleep(250);
  }
  return (await kafkaReady()) ? 'ready' : 'timeout';
}

function startFailure(what) {
  return new ServiceError(`kafka: ${what}. Last lines of ${KAFKA_LOG}:\n${tail(KAFKA_LOG)}`);
}

async function kafkaUp() {
  if (await kafkaReady()) {
    const pid = readPid(KAFKA_PID_FILE);
    const ours = pidRuns(pid, 'kafka.Kafka');
    log(`kafka: already answering at ${kafkaAddr}${ours ? ` (started by services.mjs, pid ${pid})` : ''}`);
    return;
  }

  const t0 = Date.now();
  const oldPid = readPid(KAFKA_PID_FILE);
  if (pidRuns(oldPid, 'kafka.Kafka')) {
    // Ours, still starting (or hung): give it the usual time.
    log(`kafka: pid ${oldPid} is running but not ready yet; waiting`);
    const res = await waitKafkaReady({ pid: oldPid, exited: null }, t0 + START_TIMEOUT_MS);
    if (res === 'ready') {
      log(`kafka: ready at ${kafkaAddr} (pid ${oldPid})`);
      return;
    }
    if (res === 'timeout') {
      throw startFailure(`pid ${oldPid} not ready after ${START_TIMEOUT_MS / 1000}s (still running; \`node scripts/services.mjs down\` stops it)`);
    }
    log(`kafka: pid ${oldPid} exited while starting; starting afresh`);
  }
  fs.rmSync(KAFKA_PID_FILE, { force: true });

  if (await tcpOpen(KAFKA_PORT)) {
    // Something else holds the port: maybe a broker still starting that we don't own.
    const res = await waitKafkaReady(null, Date.now() + 15_000);
    if (res === 'ready') {
      log(`kafka: already answering at ${kafkaAddr}`);
      return;
    }
    throw new ServiceError(`kafka: port ${KAFKA_PORT} is taken by something that does not answer as a Kafka broker`);
  }
  if (!which('java')) throw new ServiceError('kafka: java is not installed (Java 17 is needed)');

  fetchKafka();
  writeKafkaConfig();

  let reused = isFormatted();
  if (reused) log(`kafka: reusing the existing log dir ${shown(KAFKA_DATA)}`);
  else formatKafka();

  for (let attempt = 1; ; attempt++) {
    log(`kafka: starting broker on ${kafkaAddr} (controller ${HOST}:${KAFKA_CONTROLLER_PORT})`);
    const tStart = Date.now();
    const info = launchKafka();
    const res = await waitKafkaReady(info, tStart + START_TIMEOUT_MS);
    if (res === 'ready') {
      log(`kafka: ready at ${kafkaAddr} (pid ${info.pid}, broker up in ${((Date.now() - tStart) / 1000).toFixed(1)}s, ` +
        `${((Date.now() - t0) / 1000).toFixed(1)}s in all)`);
      return;
    }
    if (res === 'timeout') {
      throw startFailure(`broker not ready after ${START_TIMEOUT_MS / 1000}s ` +
        `(pid ${info.pid} still running; \`node scripts/services.mjs down\` stops it)`);
    }
    fs.rmSync(KAFKA_PID_FILE, { force: true });
    const logText = tail(KAFKA_LOG, 200);
    const portClash = /Address already in use|BindException/.test(logText);
    if (attempt === 1 && reused && !portClash) {
      // Typically stale state from an earlier run (meta.properties / cluster id
      // mismatch, a corrupt metadata log after a kill). Test data is disposable.
      log(`kafka: broker exited (${info.exited ?? 'unknown'}) on the existing log dir; wiping it and reformatting once`);
      wipeKafkaData();
      formatKafka();
      reused = false;
      continue;
    }
    throw startFailure(`broker exited while starting (${info.exited ?? 'unknown'})`);
  }
}

async function kafkaDown({ clean }) {
  const pid = readPid(KAFKA_PID_FILE);
  if (pidRuns(pid, 'kafka.Kafka')) {
    log(`kafka: stopping pid ${pid}`);
    const t0 = Date.now();
    await stopPid(pid, 'kafka');
    log(`kafka: stopped in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  } else if (await tcpOpen(KAFKA_PORT)) {
    log(`kafka: something answers at ${kafkaAddr} but was not started by services.mjs; leaving it alone`);
  } else {
    log('kafka: not running');
  }
  fs.rmSync(KAFKA_PID_FILE, { force: true });
  if (clean) {
    log(`kafka: deleting ${shown(KAFKA_DATA)}`);
    wipeKafkaData();
  }
}

// ---------------------------------------------------------------- commands

async function status() {
  const state = readState();
  const redis = await redisPing();
  const redisOurs = state.redis?.startedByUs && pidRuns(readPid(REDIS_PID_FILE), 'redis-server');
  const brokers = await kafkaBrokerCount();
  const kafkaPid = readPid(KAFKA_PID_FILE);
  const kafkaOurs = pidRuns(kafkaPid, 'kafka.Kafka');
  const kafkaUpNow = (brokers ?? 0) >= 1;
  const lines = [
    `redis  ${redis ? 'up  ' : 'down'}  ${redisAddr}` +
      (redis ? (redisOurs ? '  (started by services.mjs)' : '  (external)') : '') +
      (redis === 'auth' ? '  (asks for a password)' : ''),
    `kafka  ${kafkaUpNow ? 'up  ' : 'down'}  ${kafkaAddr}` +
      (kafkaOurs ? `  (started by services.mjs, pid ${kafkaPid}${kafkaUpNow ? '' : ', not ready'})` : kafkaUpNow ? '  (external)' : '') +
      (libsReady() ? '' : `  (Kafka ${KAFKA_VERSION} jars not fetched yet)`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return redis && kafkaUpNow ? 0 : 1;
}

async function main(argv) {
  const [cmd, ...rest] = argv;
  const flags = new Set(rest);
  switch (cmd) {
    case 'up':
      await withLock(async () => {
        await redisUp();
        await kafkaUp();
      });
      return 0;
    case 'down':
      await withLock(async () => {
        await kafkaDown({ clean: flags.has('--clean') });
        await redisDown();
      });
      return 0;
    case 'status':
      return status();
    default:
      process.stderr.write('usage: node scripts/services.mjs up|down [--clean]|status\n');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    log(err instanceof ServiceError ? err.message : `error: ${err.stack || err}`);
    process.exitCode = 1;
  },
);
