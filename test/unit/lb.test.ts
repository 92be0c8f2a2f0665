import { describe, expect, it } from 'vitest';
import { parseShowStat, toServerState } from '../../src/lb/haproxy.js';
import { serversIn, setDown } from '../../src/lb/nginx.js';
import { render } from '../../src/remote/tokens.js';
import { haproxyApi, nginxReload, nginxWorkers, userCommand, writeFile } from '../../src/remote/lb-commands.js';

describe('haproxy runtime API', () => {
  const csv = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight\n' +
    'www,FRONTEND,,,3,10,,,,,,,,,,,,OPEN,\napp,node1,0,0,2,5,,,,,,,,,,,,UP,1\napp,node2,0,0,0,1,,,,,,,,,,,,DRAIN,0\napp,node3,0,0,0,0,,,,,,,,,,,,MAINT,1\napp,node4,0,0,0,0,,,,,,,,,,,,DOWN,1\n';

  it('parses show stat by column name', () => {
    const rows = parseShowStat(csv);
    expect(rows.get('app/node1')).toEqual({ status: 'UP', scur: 2 });
    expect(rows.get('app/node2')).toEqual({ status: 'DRAIN', scur: 0 });
  });

  it('maps status to admin state and health', () => {
    expect(toServerState({ status: 'UP', scur: 2 })).toEqual({ admin: 'ready', up: true, sessions: 2 });
    expect(toServerState({ status: 'DRAIN', scur: 0 })).toEqual({ admin: 'drain', up: true, sessions: 0 });
    expect(toServerState({ status: 'MAINT', scur: 0 })).toMatchObject({ admin: 'maint', up: false });
    expect(toServerState({ status: 'DOWN', scur: 0 })).toMatchObject({ admin: 'ready', up: false });
  });

  it('reaches the socket through socat, unix or TCP', () => {
    expect(render(haproxyApi('/run/haproxy/admin.sock'))).toBe('socat -t 5 stdio unix-connect:/run/haproxy/admin.sock');
    expect(render(haproxyApi('10.0.0.5:9999'))).toBe('socat -t 5 stdio tcp:10.0.0.5:9999');
  });
});

describe('nginx upstream file', () => {
  const text = 'upstream app {\n    server 127.0.0.1:8101;\n    server 127.0.0.1:8102 weight=2;\n    server 127.0.0.1:81020;\n}\n';

  it('marks exactly one server down and back, keeping its parameters', () => {
    const down = setDown(text, '127.0.0.1:8102', true)!;
    expect(down).toContain('server 127.0.0.1:8102 weight=2 down;');
    expect(down).toContain('server 127.0.0.1:81020;');
    expect(serversIn(down).get('127.0.0.1:8102')).toBe(true);
    expect(setDown(down, '127.0.0.1:8102', false)).toBe(text);
    expect(setDown(text, '127.0.0.1:9999', true)).toBeUndefined();
  });

  it('reloads only after nginx -t passed, and writes files atomically', () => {
    expect(render(nginxReload('/p', '/p/nginx.conf'))).toBe('nginx -p /p -c /p/nginx.conf -t -q && nginx -p /p -c /p/nginx.conf -s reload');
    expect(render(nginxReload(undefined, undefined))).toBe('nginx -t -q && nginx -s reload');
    expect(render(writeFile('/etc/nginx/up.conf'))).toBe('cat > /etc/nginx/.up.conf.relink-tmp && mv -f /etc/nginx/.up.conf.relink-tmp /etc/nginx/up.conf');
    expect(render(nginxWorkers(42))).toBe('pgrep -P 42 || true');
  });
});

describe('command driver', () => {
  it('passes node facts as quoted environment values', () => {
    expect(render(userCommand('aws elbv2 deregister-targets --targets Id=$RELINK_NODE', { RELINK_NODE: "web'1" }))).toBe(
      "env 'RELINK_NODE=web'\\''1' sh -c 'aws elbv2 deregister-targets --targets Id=$RELINK_NODE'",
    );
  });
});
