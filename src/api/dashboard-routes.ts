import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The web dashboard: plain ES modules and CSS from src/dashboard/ (copied next to the compiled
 * code by the build), and uPlot's own dist files from its package. Nothing is fetched from
 * elsewhere, so it works offline. The page and its assets are open: they hold no data, and every
 * API call the page makes carries the key the user gives it.
 */
const DASHBOARD_DIR = dirname(fileURLToPath(new URL('../dashboard/index.html', import.meta.url)));
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'));

/** Same origin only; no inline script, so an alert text that slipped through cannot run. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function secure(reply: { header(name: string, value: string): unknown }): void {
  reply.header('content-security-policy', CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
}

export function registerDashboard(app: FastifyInstance): void {
  void app.register(async (scope) => {
    await scope.register(fastifyStatic, {
      root: DASHBOARD_DIR,
      prefix: '/ui/',
      index: false,
      // A new release must not run yesterday's modules against today's API.
      cacheControl: true,
      maxAge: 0,
      setHeaders: (res) => {
        res.setHeader('content-security-policy', CSP);
        res.setHeader('x-content-type-options', 'nosniff');
      },
    });
    const page = { config: { access: 'public' as const }, schema: { hide: true } };
    scope.get('/', page, (_request, reply: FastifyReply) => {
      secure(reply);
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    });
    for (const file of ['uPlot.esm.js', 'uPlot.min.css']) {
      scope.get(`/ui/vendor/${file}`, page, (_request, reply: FastifyReply) => {
        secure(reply);
        return reply.header('cache-control', 'public, max-age=86400').sendFile(file, UPLOT_DIR);
      });
    }
  });
}
