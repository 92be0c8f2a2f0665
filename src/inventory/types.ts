/** One node of an environment, as written in hosts/<env>.yaml. */
export interface NodeSpec {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly roles: readonly string[];
  readonly vars: Readonly<Record<string, string | number | boolean>>;
}

/** The load balancer of an environment; its drivers come with the drain feature. */
export interface LbSpec {
  readonly driver: 'haproxy' | 'nginx' | 'command' | 'none';
  readonly [key: string]: unknown;
}

export interface Inventory {
  readonly env: string;
  readonly file: string;
  readonly pre?: string;
  readonly groupSize: number | string;
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  readonly lb?: LbSpec;
  readonly hosts: readonly NodeSpec[];
}
