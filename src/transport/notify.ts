/** POSTs a JSON body; throws on a non-2xx answer or after the timeout. */
export async function postJson(url: string, body: object, timeoutMs: number): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`answered ${response.status}`);
}

export interface Mail {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly user?: string;
  readonly password?: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly timeoutMs: number;
}

/** Sends one email over SMTP with nodemailer. */
export async function sendMail(mail: Mail): Promise<void> {
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: mail.host,
    port: mail.port,
    secure: mail.secure,
    auth: mail.user ? { user: mail.user, pass: mail.password ?? '' } : undefined,
    connectionTimeout: mail.timeoutMs,
    greetingTimeout: mail.timeoutMs,
    socketTimeout: mail.timeoutMs,
    tls: { rejectUnauthorized: mail.secure },
  });
  try {
    await transport.sendMail({ from: mail.from, to: [...mail.to], subject: mail.subject, text: mail.text });
  } finally {
    transport.close();
  }
}
