// Judge documents the way an upstream in JavaScript would: Ajv's JSON Schema
// 2020-12 validator, strict mode, no plugins (no ajv-formats).
//
// stdin:  {"schema": {...}, "documents": [...], "strict": "default" | "all"}
//   "default" is `new Ajv2020()` as its README shows it; "all" is
//   `strict: true`, which also turns strictTypes, strictTuples and
//   strictRequired into errors.
// stdout: {"compiled": bool, "error": string|null, "warnings": [string],
//          "verdicts": [{"valid": bool, "errors": [string]}]}
import Ajv2020 from "ajv/dist/2020.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { schema, documents = [], strict = "default" } = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const warnings = [];
const logger = { log() {}, warn: (...a) => warnings.push(a.join(" ")), error: (...a) => warnings.push(a.join(" ")) };
const ajv = new Ajv2020({ allErrors: true, logger, ...(strict === "all" ? { strict: true } : {}) });

let validate;
try {
  validate = ajv.compile(schema);
} catch (e) {
  process.stdout.write(JSON.stringify({ compiled: false, error: String(e.message), warnings, verdicts: [] }));
  process.exit(0);
}
const verdicts = documents.map((doc) => {
  const valid = validate(doc);
  const errors = (validate.errors || []).map((e) => `${e.instancePath || "/"} ${e.message}`);
  return { valid, errors };
});
process.stdout.write(JSON.stringify({ compiled: true, error: null, warnings, verdicts }));
