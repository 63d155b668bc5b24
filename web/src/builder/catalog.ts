// The catalog the builder offers: connectors with their operations (input and
// output JSON Schemas), connections, deployed flows (usecatalog.ts loads it),
// shared by the palette, the settings and completion.
export type JSONSchema = {
  type?: string | string[];
  properties?: Record<string, JSONSchema>;
  required?: string[];
  items?: JSONSchema;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JSONSchema;
  oneOf?: JSONSchema[];
  anyOf?: JSONSchema[];
  $ref?: string;
  [k: string]: unknown;
};

export interface Operation {
  name: string;
  title?: string;
  description?: string;
  input_schema?: JSONSchema;
  output_schema?: JSONSchema;
  hints?: Record<string, boolean>;
}

export interface Connector {
  name: string;
  title?: string;
  description?: string;
  operations: Operation[];
}

export interface Connection {
  name: string;
  connector: string;
  base_url?: string;
}

export interface Catalog {
  connectors: Connector[];
  connections: Connection[];
  flows: string[];
  loading: boolean;
  error: string;
}

/** findOp finds "connector.operation" in the catalog. */
export function findOp(cat: Catalog, op: string | undefined): { connector: Connector; op: Operation } | undefined {
  if (!op) return undefined;
  const i = op.indexOf(".");
  if (i < 0) return undefined;
  const c = cat.connectors.find((x) => x.name === op.slice(0, i));
  const o = c?.operations.find((x) => x.name === op.slice(i + 1));
  return c && o ? { connector: c, op: o } : undefined;
}

/**
 * callOutput is what steps.<id> holds after a call: imported (OpenAPI)
 * connectors answer like http.request, {status, headers, body} with the
 * operation's output as body; others give their output as is.
 */
export function callOutput(cat: Catalog, op: string | undefined): JSONSchema | undefined {
  const f = findOp(cat, op);
  if (!f) return undefined;
  const out = f.op.output_schema;
  if (out?.properties?.status && out.properties.body) return out;
  const httpBased = cat.connections.some((c) => c.connector === f.connector.name && c.base_url);
  if (!httpBased) return out;
  return { type: "object", properties: { status: { type: "integer" }, headers: { type: "object" }, body: out ?? {} } };
}

/** sampleInput is a call's `with` for a new step: its required fields. */
export function sampleInput(schema: JSONSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of schema?.required ?? []) {
    const p = schema?.properties?.[k] ?? {};
    out[k] = p.default !== undefined ? p.default : p.enum?.length ? p.enum[0] : zero(p);
  }
  return out;
}

function zero(p: JSONSchema): unknown {
  const t = Array.isArray(p.type) ? p.type[0] : p.type;
  switch (t) {
    case "integer":
    case "number":
      return 0;
    case "boolean":
      return false;
    case "object":
      return {};
    case "array":
      return [];
  }
  return "";
}
