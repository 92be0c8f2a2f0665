// The alerts check of an analysis (config `analysis.alerts`, docs/analysis.md): a firing alert whose labels
// match the matchers fails the measurement, as a query out of its bounds does.
import { z } from 'zod';
import { isLabelName, parseMatcher } from './alert-matchers.js';
import { doc, envVar, parsed } from './schema-parts.js';

const labelName = z.string().refine(isLabelName, 'a label name: letters, digits and "_", not starting with a digit');

export const alertsSchema = z
  .strictObject({
    source: doc(
      z.enum(['alertmanager', 'prometheus']).default('alertmanager'),
      "Where the firing alerts are read: Alertmanager's API v2 (`/api/v2/alerts`: active alerts, neither " +
        "silenced nor inhibited), or Prometheus' own alerts API (`/api/v1/alerts`: alerts in state firing; " +
        'silences do not apply there).',
      'prometheus',
    ),
    url: doc(
      z.url({ protocol: /^https?$/ }).optional(),
      "The source's base URL, asked from the deploy machine; HTTPS certificates are verified. Default: with " +
        "`source: 'prometheus'`, `analysis.prometheus.url`; required for Alertmanager.",
      'https://alertmanager.example.com',
    ),
    tokenEnv: doc(
      envVar.optional(),
      'Environment variable holding a bearer token sent with every request (never logged). Default: with ' +
        "`source: 'prometheus'` and no `url`, `analysis.prometheus.tokenEnv`; else none.",
      'ALERTMANAGER_TOKEN',
    ),
    matchers: doc(
      z.union([
        z.array(parsed(parseMatcher)).min(1).max(20),
        z
          .record(labelName, z.string())
          .refine((labels) => Object.keys(labels).length > 0, 'at least one label')
          .refine((labels) => Object.keys(labels).length <= 20, 'at most 20 labels'),
      ]),
      'Which alerts fail the analysis: an object of labels an alert must have (`{ severity: "critical" }`), ' +
        'or a list of label matchers (`label="value"`, `!=`, `=~` and `!~` with a regular expression matched ' +
        'against the whole value; a label the alert lacks is the empty value). Values take the template ' +
        'variables of the queries for the canary: `node=~"{{ nodes.names }}"` matches alerts about its nodes.',
      { severity: 'critical' },
      ['severity="critical"', 'service=~"shop|checkout"', 'env="{{ env }}"'],
    ),
    timeoutMs: doc(z.number().int().positive().default(10_000), 'Time limit of one request in ms.', 5000),
  })
  .refine((a) => a.url !== undefined || a.source === 'prometheus', {
    message: "set \"url\" (Alertmanager's base URL), or source: 'prometheus'",
    path: ['url'],
  });
