/**
 * Replaces every known secret value with [REDACTED]. Every line that leaves
 * the process (console, run log, error text) goes through one instance.
 */
export class Redactor {
  private readonly values = new Set<string>();

  add(value: string | undefined): void {
    // Very short values would blank out ordinary words; refusing them is the safer failure.
    if (value && value.length >= 3) this.values.add(value);
  }

  apply(text: string): string {
    let out = text;
    for (const value of [...this.values].sort((a, b) => b.length - a.length)) out = out.split(value).join('[REDACTED]');
    return out;
  }
}
