/** What happened, for every channel: a one-line title and a short text. */
export interface Notice {
  readonly event: 'start' | 'success' | 'failure' | 'rollback';
  readonly title: string;
  readonly text: string;
  readonly env: string;
  readonly runId: string;
  readonly version?: string;
  readonly release?: string;
  readonly user: string;
  readonly result?: string;
}

/** The body each webhook kind expects. */
export function webhookBody(kind: 'json' | 'slack' | 'dingtalk' | 'feishu', notice: Notice): object {
  switch (kind) {
    case 'slack':
      return { text: `*${notice.title}*\n${notice.text}` };
    case 'dingtalk':
      return { msgtype: 'markdown', markdown: { title: notice.title, text: `### ${notice.title}\n\n${notice.text}` } };
    case 'feishu':
      return { msg_type: 'text', content: { text: `${notice.title}\n${notice.text}` } };
    case 'json':
      return { ...notice, source: 'relink' };
  }
}
