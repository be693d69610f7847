// Processes of the end-to-end test: gnomon itself, a scrape target, a closed port; all are
// killed or closed when the test exits.

import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The run's temporary directory, removed at exit. */
export const tmp = mkdtempSync(join(tmpdir(), 'gnomon-ui-e2e-'));
const children = [];
/** HTTP servers started here (closed by the caller). */
export const servers = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

/** An HTTP server on 127.0.0.1:0 answering /metrics like an exporter; resolves to its port. */
export function startTarget() {
  const srv = createServer((req, res) => {
    res.writeHead(req.url === '/metrics' ? 200 : 404, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(req.url === '/metrics' ? '# TYPE ui_target_up gauge\nui_target_up 1\n' : 'not found\n');
  });
  servers.push(srv);
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(srv.address().port)));
}

/** A port nothing listens on (bound, then closed). */
export function closedPort() {
  const srv = createServer();
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => ok(port));
  }));
}

/** Whether `binary -help` lists `-flag`. */
export function supportsFlag(binary, flag) {
  const r = spawnSync(binary, ['-help'], { encoding: 'utf8', timeout: 30_000 });
  return `${r.stdout}${r.stderr}`.includes(`-${flag}`);
}

/**
 * Starts `binary` on 127.0.0.1:0 with its data in the temporary directory; resolves to
 * `{base: 'http://127.0.0.1:PORT', log}` once it logs its address.
 */
export function startGnomon(binary, extra) {
  const child = spawn(binary, [`-storageDataPath=${join(tmp, 'data')}`, '-httpListenAddr=127.0.0.1:0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let log = '';
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`gnomon did not start in 60 s; log:\n${log}`)), 60_000);
    const onData = (buf) => {
      log += buf;
      const m = /listening on (http:\/\/[0-9.:]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        ok({ base: m[1], log: () => log });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => fail(new Error(`gnomon exited with ${code}; log:\n${log}`)));
  });
}
