// What the signers of tests/providers/signers/*.mjs share (our own code). A signer module exports:
//
//   preset   { name, docs, version, key: "secret" | "ed25519" | "p256", secret (a sample in the provider's shape),
//              contentType, form, proof: "sdk" | "docs-example", proofSource, notes }
//   sign(req)          -> { headers, body?, url?, sdk }   req: { secret | secrets | privateKey, body, timestamp (unix
//                         seconds), id, url (the public URL called, with its query), form }
//   verify(out, req)   -> boolean: the provider's own SDK verifying what sign() made (omitted where none exists:
//                         then a published example proves sign(), in tests/unit/data/provider-examples.json)
//   keypair()          -> { privateKey, publicKey } (key pairs only: publicKey written as the preset's publicKeyForm)
//
// sign.mjs loads every module here next to its own 17 providers; selfcheck.mjs holds each against its SDK.
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const require = createRequire(path.join(root, "package.json"));

/** "name@version" of a package installed in tests/providers/node_modules. */
export function sdkVersion(name) {
  const pkg = JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8"));
  return `${name}@${pkg.version}`;
}

export const hmac = (alg, key, data, enc) => createHmac(alg, key).update(data).digest(enc);

/** The secrets to sign with: req.secrets, or [req.secret]. */
export function secretsOf(req) {
  const list = req.secrets ?? (req.secret !== undefined ? [req.secret] : []);
  if (!list.length || list.some((s) => typeof s !== "string" || s === "")) throw new Error("secret (or secrets) required");
  return list;
}

/** req.timestamp (unix seconds), or now. */
export const tsOf = (req) => (req.timestamp !== undefined ? Math.floor(Number(req.timestamp)) : Math.floor(Date.now() / 1000));
export const bodyOf = (req) => Buffer.from(req.body ?? "", "utf8");
export const idOf = (req, make = randomUUID) => req.id ?? make();
export const randomHex = (n) => randomBytes(n).toString("hex");

/** A header's value by name, in any case. */
export function header(headers, name) {
  const k = Object.keys(headers).find((h) => h.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : headers[k];
}

/** whsec_<base64> (Standard Webhooks, Svix) -> the key bytes. */
export function whsecKey(secret) {
  if (!secret.startsWith("whsec_")) throw new Error("expected a whsec_<base64> secret");
  return Buffer.from(secret.slice("whsec_".length), "base64");
}

/** A message id in Svix's style ("msg_" and 27 letters or digits), for the Standard Webhooks / Svix senders. */
export const msgId = () => "msg_" + randomBytes(20).toString("base64url").replace(/[-_]/g, "").slice(0, 27);

/** Standard Webhooks / Svix v1 signatures, one per secret: "v1,<b64> v1,<b64>". */
export function swhSignatures(secrets, id, t, body, join = " ", keyOf = whsecKey) {
  return secrets.map((s) => "v1," + hmac("sha256", keyOf(s), `${id}.${t}.${body}`, "base64")).join(join);
}

/** The body of a form post from {name: value | [values]}. */
export function formBody(form) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const x of [].concat(v)) sp.append(k, String(x));
  return sp.toString();
}

/** The result of fn (sync or async), false when it throws. */
export async function accepts(fn) {
  try {
    const r = await fn();
    return r !== false;
  } catch {
    return false;
  }
}

/** The Standard Webhooks scheme (prefix "webhook") or Svix's ("svix"), in the words of a preset row. */
export const swhScheme = (prefix) => ({
  signatureHeader: `${prefix}-signature`,
  idHeader: `${prefix}-id`,
  split: { kind: "list", separator: " ", signatureKey: "v1" },
  signed: "{id}.{timestamp}.{body}",
  algorithm: "sha256",
  encoding: "base64",
  secretForm: "whsec",
  timestampHeader: `${prefix}-timestamp`,
  timestamped: true,
});

/** sign() of that scheme for a preset: its three headers, one v1 per secret, a Svix-style message id. */
export function swhSign(req, prefix, preset) {
  const t = tsOf(req);
  const id = idOf(req, msgId);
  return {
    headers: {
      [`${prefix}-id`]: id,
      [`${prefix}-timestamp`]: String(t),
      [`${prefix}-signature`]: swhSignatures(secretsOf(req), id, t, req.body ?? ""),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}
