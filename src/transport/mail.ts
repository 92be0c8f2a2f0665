/** Email over SMTP, the only place relink opens a mail connection. */

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
  /** Accept a certificate that does not verify (a relay with a self-signed certificate). Default: false. */
  readonly insecureTls?: boolean;
  /** PEM of a CA to trust besides the system's, for a relay with a private certificate. */
  readonly ca?: string;
}

/**
 * Sends one email over SMTP with nodemailer. The relay's certificate is
 * verified, on implicit TLS and on STARTTLS alike, unless `insecureTls`; with
 * a password, STARTTLS is required, so the password never crosses the
 * network in clear.
 */
export async function sendMail(mail: Mail): Promise<void> {
  // Loaded here, not at the top: it costs ~160 ms, and only a run that sends an email needs it.
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: mail.host,
    port: mail.port,
    secure: mail.secure,
    auth: mail.user ? { user: mail.user, pass: mail.password ?? '' } : undefined,
    connectionTimeout: mail.timeoutMs,
    greetingTimeout: mail.timeoutMs,
    socketTimeout: mail.timeoutMs,
    requireTLS: Boolean(mail.user) && !mail.secure,
    tls: { rejectUnauthorized: !mail.insecureTls, ...(mail.ca ? { ca: mail.ca } : {}) },
  });
  try {
    await transport.sendMail({ from: mail.from, to: [...mail.to], subject: mail.subject, text: mail.text });
  } finally {
    transport.close();
  }
}
