import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { RelinkError } from '../errors.js';
import https from 'node:https';
import { createAdaptorServer } from '@hono/node-server';

/** What a request handler learns of the connection besides the request itself. */
export interface ConnInfo {
  /** The peer's address (the proxy's, behind a reverse proxy). */
  readonly remote: string;
  /** Whether this connection is TLS (served by relink itself). */
  readonly tls: boolean;
}

export type WebHandler = (request: Request, conn: ConnInfo) => Promise<Response>;

export interface WebServerOptions {
  readonly host: string;
  readonly port: number;
  /** PEM files: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export interface WebServer {
  /** The address actually bound (port 0 picks a free one). */
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The dashboard's listening socket: node:http (or node:https with a cert and key) through
 * @hono/node-server, which turns each request into a web `Request` and streams the `Response`
 * back (server-sent events included). The only place the web dashboard opens a socket.
 */
export async function listen(handler: WebHandler, options: WebServerOptions): Promise<WebServer> {
  const tls = options.tls;
  const server = createAdaptorServer({
    fetch: (request, env) => {
      const socket = env.incoming.socket;
      return handler(request, { remote: socket.remoteAddress ?? '', tls: Boolean(tls) });
    },
    hostname: options.host,
    port: options.port,
    ...(https && tls
      ? {
          createServer: https.createServer,
          serverOptions: { cert: readPem(tls.cert), key: readPem(tls.key) },
        }
      : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, options)));
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket: import('node:net').Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    host: address.address,
    port: address.port,
    url: `${tls ? 'https' : 'http'}://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Server-sent event streams stay open until the client goes: end them with the server.
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function readPem(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new RelinkError(`cannot read ${file}: ${(error as Error).message}`, {
      hint: 'give --tls-cert and --tls-key as PEM files readable by this user',
    });
  }
}

function listenError(error: NodeJS.ErrnoException, options: WebServerOptions): Error {
  const where = `${options.host}:${options.port}`;
  if (error.code === 'EADDRINUSE')
    return new RelinkError(`${where} is already in use`, { hint: 'stop what listens there, or pick --port' });
  if (error.code === 'EACCES')
    return new RelinkError(`not allowed to listen on ${where}`, { hint: 'pick a --port above 1023' });
  if (error.code === 'EADDRNOTAVAIL')
    return new RelinkError(`${options.host} is not an address of this machine`, { hint: 'pick another --host' });
  return error;
}
