import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { AuditLog, AuditRecord } from '../audit/audit-log.js';
import { hashKey, roles, type ApiKeyEntry, type Role } from '../config/api-keys.js';
import { counter } from '../shared/metrics.js';
import { ApiError } from './errors.js';

const refused = counter({ name: 'surgewatch_api_refused_total', help: 'Requests refused by access control, by reason (no_key, unknown_key, role).', labelNames: ['reason'] });

/** Who may call a route: anyone ("public") or a key of at least this role. */
export type Access = 'public' | Role;

export interface Principal {
  name: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every route states who may call it; a route without it is refused at registration. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The key the request was made with, once authenticated. */
    principal: Principal | undefined;
  }
}

/**
 * Open routes: probes, metrics, the API's own description and the dashboard's page and assets
 * (which hold no data: the page asks for a key and sends it with each API call). Everything
 * else needs a key.
 */
const PUBLIC_PATHS = [/^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/openapi\.json$/, /^\/docs(\/.*)?$/, /^\/$/, /^\/ui\/.+$/];

export function atLeast(role: Role, wanted: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(wanted);
}

/** Verifies keys against their SHA-256 hashes; every stored hash is compared (constant time). */
export class ApiKeyring {
  private readonly entries: ApiKeyEntry[];

  constructor(entries: readonly ApiKeyEntry[]) {
    this.entries = [...entries];
  }

  add(entry: ApiKeyEntry): void {
    this.entries.push(entry);
  }

  get size(): number {
    return this.entries.length;
  }

  verify(key: string): Principal | undefined {
    const digest = hashKey(key);
    let found: ApiKeyEntry | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.sha256, digest) && !found) found = e;
    return found && { name: found.name, role: found.role };
  }
}

/** A route as registered, with who may call it (for docs and for the route walk in tests). */
export interface RouteAccess {
  method: string;
  url: string;
  access: Access;
}

const registered = new WeakMap<FastifyInstance, RouteAccess[]>();

/** Every route of an app with its access, once the app is ready. */
export function routeAccess(app: FastifyInstance): readonly RouteAccess[] {
  return registered.get(app) ?? [];
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer +([^\s]{1,512})\s*$/i.exec(header);
  return m?.[1];
}

/**
 * Access control: each route must declare `config.access`; public ones must be on the open
 * list. Requests to other routes need `Authorization: Bearer <key>` of a sufficient role.
 * Keys never reach a log or a response.
 */
export function installAuth(app: FastifyInstance, keyring: ApiKeyring): void {
  const routes: RouteAccess[] = [];
  registered.set(app, routes);
  app.decorateRequest('principal', undefined);

  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // CORS preflights carry no credentials by design.
    const open = PUBLIC_PATHS.some((p) => p.test(route.url)) || methods.every((m) => m === 'OPTIONS');
    // Routes added by the documentation plugin are public by their path.
    const access = route.config?.access ?? (open ? 'public' : undefined);
    if (access === undefined) throw new Error(`route ${methods.join(',')} ${route.url} declares no config.access`);
    if (access === 'public' && !open) throw new Error(`route ${route.url} cannot be public: only ${PUBLIC_PATHS.map(String).join(' ')} are`);
    route.config = { ...route.config, access };
    for (const method of methods) routes.push({ method, url: route.url, access });
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public') return; // unknown routes get their 404
    const key = bearer(request);
    if (key === undefined) {
      refused.inc({ reason: 'no_key' });
      throw new ApiError('UNAUTHORIZED', 'send an API key: Authorization: Bearer <key>');
    }
    const principal = keyring.verify(key);
    if (!principal) {
      refused.inc({ reason: 'unknown_key' });
      // Who tried, never what they sent.
      request.log.warn({ ip: request.ip, route: request.routeOptions.url }, 'refused an unknown API key');
      throw new ApiError('UNAUTHORIZED', 'unknown API key');
    }
    request.principal = principal;
    if (!atLeast(principal.role, access)) {
      refused.inc({ reason: 'role' });
      throw new ApiError('FORBIDDEN', `this route needs the ${access} role or above; key "${principal.name}" is ${principal.role}`);
    }
  });
}

/** Writes an audit entry for what the request's key did (write routes call this before answering). */
export async function audit(log: AuditLog, request: FastifyRequest, record: Omit<AuditRecord, 'actor'>): Promise<void> {
  const p = request.principal;
  await log.append({ ...record, actor: p ? { name: p.name, role: p.role } : { name: `address:${request.ip}`, role: null } });
}
