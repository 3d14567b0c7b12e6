#!/usr/bin/env node
// Produces the headers a webhook provider would send for a body, with the provider's own SDK
// from npm where it has a signing function, else with node:crypto following the provider's
// documentation (named in "sdk"). These signatures come from outside hookbridge's C code, so
// hookbridge's verification tests can use them as independent inputs.
//
//   echo '{"provider":"stripe","secret":"whsec_x","body":"{}"}' | node sign.mjs
//   -> {"headers":{"Stripe-Signature":"t=...,v1=...","content-type":"application/json"},"sdk":"stripe@23.1.0"}
//
// Input (one JSON object on stdin):
//   provider    github | stripe | slack | shopify | standard-webhooks | svix | twilio | zoom | meta |
//               discord | sendgrid | linear | intercom | paddle | gitlab | mailgun | dropbox
//   secret      the shared secret (svix / standard-webhooks: whsec_<base64 key bytes>);
//   secrets     [s1, s2, ...] instead of secret: one signature per secret where the scheme carries
//               several (stripe v1=, svix / standard-webhooks v1,, paddle h1=), else the first
//   body | bodyBase64   the raw body (text, or base64 for bytes that are not UTF-8)
//   timestamp   unix seconds (default: now)
//   id          delivery / message id (default: a random one in the provider's style)
//   url         twilio: the public URL Twilio calls (with query)
//   form        twilio: the form parameters {name: value | [values]} (the body is built from them)
//   privateKey  discord: hex (32-byte seed or 64-byte tweetnacl secret key);
//               standard-webhooks / svix v1a: whsk_<base64 of seed+public (64 bytes, svix-server's
//               layout) or of the 32-byte seed alone>;
//               sendgrid: PKCS#8 PEM or base64 DER (P-256)
//   event       optional event/topic name for the provider's event header
//   contentType optional content type (default per provider)
// Output: {"headers": {...}, "sdk": "...", ["body": "..."], ["url": "..."], ["publicKey": "..."],
//          ["expectedResponse": {...}]}
//
// Key generation: {"keygen": "ed25519"} or {"keygen": "p256"}.
import { createHmac, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes,
  randomUUID, sign as cryptoSign } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

export function sdkVersion(name) {
  const pkg = JSON.parse(readFileSync(path.join(here, "node_modules", name, "package.json"), "utf8"));
  return `${name}@${pkg.version}`;
}

export const DOCS = {
  slack: "https://api.slack.com/authentication/verifying-requests-from-slack",
  shopify: "https://shopify.dev/docs/apps/build/webhooks/subscribe/https",
  zoom: "https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events",
  meta: "https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads",
  discord: "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers",
  sendgrid: "https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features",
  linear: "https://linear.app/developers/webhooks#securing-webhooks",
  intercom: "https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications",
  paddle: "https://developer.paddle.com/webhooks/signature-verification",
  gitlab: "https://docs.gitlab.com/user/project/integrations/webhooks/#validate-requests-with-a-secret-token",
  mailgun: "https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks",
  dropbox: "https://www.dropbox.com/developers/reference/webhooks#notifications",
  standardWebhooksV1a: "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
  svixV1a: "https://github.com/svix/svix-webhooks#configuring-the-keys",
};

const hmacHex = (alg, key, data) => createHmac(alg, key).update(data).digest("hex");
const hmacB64 = (alg, key, data) => createHmac(alg, key).update(data).digest("base64");
const concat = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(String(p), "utf8"))));

function bodyOf(req) {
  if (req.bodyBase64 !== undefined) return Buffer.from(req.bodyBase64, "base64");
  return Buffer.from(req.body ?? "", "utf8");
}

// true when the bytes round-trip through a JS string unchanged (what string-only SDKs need)
function isUtf8(buf) {
  return Buffer.from(buf.toString("utf8"), "utf8").equals(buf);
}

function secretsOf(req) {
  const list = req.secrets ?? (req.secret !== undefined ? [req.secret] : []);
  if (!list.length || list.some((s) => typeof s !== "string" || s === "")) throw new Error("secret (or secrets) required");
  return list;
}

const tsOf = (req) => (req.timestamp !== undefined ? Math.floor(Number(req.timestamp)) : Math.floor(Date.now() / 1000));

// ---- key formats ----------------------------------------------------------------------------
function nacl() {
  return require("tweetnacl");
}

// Ed25519 secret key (64 bytes, tweetnacl/libsodium layout seed||public) from a 32-byte seed or
// from the 64-byte form itself.
function ed25519SecretKey(bytes) {
  if (bytes.length === 32) return nacl().sign.keyPair.fromSeed(new Uint8Array(bytes)).secretKey;
  if (bytes.length === 64) return new Uint8Array(bytes);
  throw new Error(`an Ed25519 private key has 32 (seed) or 64 bytes, got ${bytes.length}`);
}

export function parseWhsk(key) {
  return ed25519SecretKey(Buffer.from(key.replace(/^whsk_/, ""), "base64"));
}

function parseDiscordKey(hex) {
  if (!/^[0-9a-fA-F]+$/.test(hex)) throw new Error("discord privateKey must be hex");
  return ed25519SecretKey(Buffer.from(hex, "hex"));
}

function p256PrivateKey(key) {
  if (key.includes("BEGIN")) return createPrivateKey(key);
  return createPrivateKey({ key: Buffer.from(key, "base64"), format: "der", type: "pkcs8" });
}

export function keygen(kind) {
  if (kind === "ed25519") {
    const kp = nacl().sign.keyPair();
    const seed = Buffer.from(kp.secretKey.slice(0, 32));
    const pub = Buffer.from(kp.publicKey);
    return {
      keygen: "ed25519",
      sdk: sdkVersion("tweetnacl"),
      // Discord: the application's public key, hex (Developer Portal format)
      publicKeyHex: pub.toString("hex"),
      // the private key for sign.mjs's discord provider: hex seed (the 64-byte secret key works too)
      privateKeyHex: seed.toString("hex"),
      secretKeyHex: Buffer.from(kp.secretKey).toString("hex"),
      // Standard Webhooks / Svix v1a: whpk_ = base64(32-byte public key);
      // whsk_ = base64(private seed + public key, 64 bytes), the layout svix-server documents
      // (README "Configuring the keys": whsk_${base64(private_key + public_key)}).
      // whskSeed: base64 of the 32-byte seed alone, the layout of standard-webhooks PR #253 (Go,
      // unmerged); sign.mjs accepts both.
      whpk: "whpk_" + pub.toString("base64"),
      whsk: "whsk_" + Buffer.from(kp.secretKey).toString("base64"),
      whskSeed: "whsk_" + seed.toString("base64"),
    };
  }
  if (kind === "p256") {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    return {
      keygen: "p256",
      sdk: "node:crypto",
      // SendGrid: "Verification Key" = base64 of the DER SubjectPublicKeyInfo (no PEM armour)
      publicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }),
      privateKey: privateKey.export({ type: "pkcs8", format: "pem" }),
      privateKeyBase64: privateKey.export({ type: "pkcs8", format: "der" }).toString("base64"),
    };
  }
  throw new Error(`unknown keygen ${kind}: ed25519 | p256`);
}

// ---- providers -----------------------------------------------------------------------------
const JSON_CT = "application/json";
const FORM_CT = "application/x-www-form-urlencoded";

async function github(req) {
  const body = bodyOf(req);
  const [secret] = secretsOf(req);
  const headers = {
    "X-GitHub-Delivery": req.id ?? randomUUID(),
    "X-GitHub-Event": req.event ?? "ping",
    "content-type": req.contentType ?? JSON_CT,
  };
  let sdk;
  if (isUtf8(body)) {
    const { sign } = await import("@octokit/webhooks-methods");
    headers["X-Hub-Signature-256"] = await sign(secret, body.toString("utf8"));
    sdk = sdkVersion("@octokit/webhooks-methods");
  } else {
    headers["X-Hub-Signature-256"] = "sha256=" + hmacHex("sha256", secret, body);
    sdk = "node:crypto (body is not UTF-8: @octokit/webhooks-methods signs strings only) per https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries";
  }
  return { headers, sdk };
}

async function stripe(req) {
  const body = bodyOf(req);
  const t = tsOf(req);
  const secrets = secretsOf(req);
  const Stripe = (await import("stripe")).default;
  let sdk = sdkVersion("stripe");
  const sigs = [];
  for (const secret of secrets) {
    if (isUtf8(body)) {
      const h = Stripe.webhooks.generateTestHeaderString({ payload: body.toString("utf8"), secret, timestamp: t });
      sigs.push(h.split(",").slice(1).join(","));
    } else {
      sigs.push("v1=" + hmacHex("sha256", secret, concat(`${t}.`, body)));
      sdk = "node:crypto (body is not UTF-8: stripe's generateTestHeaderString signs strings) per https://docs.stripe.com/webhooks#verify-manually";
    }
  }
  return { headers: { "Stripe-Signature": `t=${t},${sigs.join(",")}`, "content-type": req.contentType ?? "application/json; charset=utf-8" }, sdk };
}

async function slack(req) {
  const body = bodyOf(req);
  const t = tsOf(req);
  const [secret] = secretsOf(req);
  return {
    headers: {
      "X-Slack-Request-Timestamp": String(t),
      "X-Slack-Signature": "v0=" + hmacHex("sha256", secret, concat(`v0:${t}:`, body)),
      "content-type": req.contentType ?? JSON_CT,
    },
    sdk: `node:crypto per ${DOCS.slack}`,
  };
}

async function shopify(req) {
  const body = bodyOf(req);
  const [secret] = secretsOf(req);
  return {
    headers: {
      "X-Shopify-Hmac-Sha256": hmacB64("sha256", secret, body),
      "X-Shopify-Webhook-Id": req.id ?? randomUUID(),
      "X-Shopify-Topic": req.event ?? "orders/create",
      "X-Shopify-Shop-Domain": "example.myshopify.com",
      "content-type": req.contentType ?? JSON_CT,
    },
    sdk: `node:crypto per ${DOCS.shopify}`,
  };
}

// svix and standard-webhooks: same scheme, different header prefixes. v1 (HMAC) with the SDK's
// own Webhook.sign; v1a (Ed25519) with tweetnacl because neither SDK signs v1a.
async function swh(req, prefix, pkg) {
  const body = bodyOf(req);
  const t = tsOf(req);
  const id = req.id ?? "msg_" + randomBytes(16).toString("hex");
  const sigs = [];
  const sdks = [];
  const haveSecret = req.secrets !== undefined || req.secret !== undefined;
  if (haveSecret) {
    const mod = await import(pkg);
    const Webhook = mod.Webhook ?? mod.default?.Webhook;
    for (const secret of secretsOf(req)) {
      if (isUtf8(body)) {
        sigs.push(new Webhook(secret).sign(id, new Date(t * 1000), body.toString("utf8")));
        sdks.push(sdkVersion(pkg));
      } else {
        const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
        sigs.push("v1," + hmacB64("sha256", key, concat(`${id}.${t}.`, body)));
        sdks.push(`node:crypto (body is not UTF-8: ${pkg} signs strings) per ${DOCS.standardWebhooksV1a}`);
      }
    }
  }
  let publicKey;
  if (req.privateKey !== undefined) {
    const sk = parseWhsk(req.privateKey);
    const sig = nacl().sign.detached(new Uint8Array(concat(`${id}.${t}.`, body)), sk);
    sigs.push("v1a," + Buffer.from(sig).toString("base64"));
    publicKey = "whpk_" + Buffer.from(sk.slice(32)).toString("base64");
    sdks.push(`${sdkVersion("tweetnacl")} sign.detached (v1a per ${DOCS.standardWebhooksV1a})`);
  }
  if (!sigs.length) throw new Error("secret (whsec_...) or privateKey (whsk_...) required");
  const out = {
    headers: {
      [`${prefix}-id`]: id,
      [`${prefix}-timestamp`]: String(t),
      [`${prefix}-signature`]: sigs.join(" "),
      "content-type": req.contentType ?? JSON_CT,
    },
    sdk: [...new Set(sdks)].join(" + "),
  };
  if (publicKey) out.publicKey = publicKey;
  return out;
}

async function twilio(req) {
  if (!req.url) throw new Error("twilio needs url (the public URL Twilio calls, with its query)");
  const [secret] = secretsOf(req);
  const { default: tw } = await import("twilio");
  const sdk = sdkVersion("twilio") + " getExpectedTwilioSignature";
  if (req.form !== undefined) {
    const params = req.form;
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of [].concat(v)) sp.append(k, String(x));
    return {
      headers: { "X-Twilio-Signature": tw.getExpectedTwilioSignature(secret, req.url, params), "content-type": FORM_CT },
      body: sp.toString(),
      url: req.url,
      sdk,
    };
  }
  // a JSON (or other non-form) body: Twilio adds bodySHA256=<hex sha256 of the body> to the query
  // and signs the URL alone (see twilio validateRequestWithBody)
  const body = bodyOf(req);
  // (kept as given when the URL already carries it; appended verbatim otherwise, never re-encoded)
  const url = /[?&]bodySHA256=/.test(req.url) ? req.url
    : req.url + (req.url.includes("?") ? "&" : "?") + "bodySHA256=" + createHash("sha256").update(body).digest("hex");
  return {
    headers: { "X-Twilio-Signature": tw.getExpectedTwilioSignature(secret, url, {}), "content-type": req.contentType ?? JSON_CT },
    url,
    sdk: sdk + " (JSON body: bodySHA256 query parameter)",
  };
}

async function zoom(req) {
  const body = bodyOf(req);
  const t = tsOf(req);
  const [secret] = secretsOf(req);
  const out = {
    headers: {
      "x-zm-request-timestamp": String(t),
      "x-zm-signature": "v0=" + hmacHex("sha256", secret, concat(`v0:${t}:`, body)),
      "content-type": req.contentType ?? JSON_CT,
    },
    sdk: `node:crypto per ${DOCS.zoom}`,
  };
  // the endpoint.url_validation handshake: the answer Zoom's own SDK (@zoom/rivet) gives
  let parsed;
  try { parsed = JSON.parse(body.toString("utf8")); } catch { /* not JSON */ }
  if (parsed?.event === "endpoint.url_validation") {
    out.expectedResponse = await zoomRivetAnswer(body.toString("utf8"), out.headers, secret);
    out.sdk += `; expectedResponse from ${sdkVersion("@zoom/rivet")} AwsLambdaReceiver`;
  }
  return out;
}

// Runs @zoom/rivet's receiver on the request; returns its JSON answer (it verifies the signature
// first: over JSON.stringify(JSON.parse(body)), so only compact JSON bodies verify there).
export async function zoomRivetAnswer(body, headers, secret) {
  const { AwsLambdaReceiver } = await import("@zoom/rivet/users");
  const receiver = new AwsLambdaReceiver({ webhooksSecretToken: secret });
  receiver.init({ eventEmitter: { emit: async () => {} } });
  const debug = console.debug;
  console.debug = () => {};
  try {
    const res = await receiver.start()({ body, headers, isBase64Encoded: false }, {});
    return { status: res.statusCode, body: JSON.parse(res.body) };
  } finally {
    console.debug = debug;
  }
}

async function meta(req) {
  const body = bodyOf(req);
  const [secret] = secretsOf(req);
  return {
    headers: { "X-Hub-Signature-256": "sha256=" + hmacHex("sha256", secret, body), "content-type": req.contentType ?? JSON_CT },
    sdk: `node:crypto per ${DOCS.meta}`,
  };
}

async function discord(req) {
  const body = bodyOf(req);
  const t = tsOf(req);
  if (!req.privateKey) throw new Error("discord needs privateKey (hex); {\"keygen\":\"ed25519\"} makes one");
  const sk = parseDiscordKey(req.privateKey);
  const sig = nacl().sign.detached(new Uint8Array(concat(String(t), body)), sk);
  return {
    headers: {
      "X-Signature-Ed25519": Buffer.from(sig).toString("hex"),
      "X-Signature-Timestamp": String(t),
      "content-type": req.contentType ?? JSON_CT,
    },
    publicKey: Buffer.from(sk.slice(32)).toString("hex"),
    sdk: `${sdkVersion("tweetnacl")} sign.detached per ${DOCS.discord}`,
  };
}

async function sendgrid(req) {
  const body = bodyOf(req);
  const t = tsOf(req);
  if (!req.privateKey) throw new Error("sendgrid needs privateKey (P-256 PKCS#8 PEM or base64 DER); {\"keygen\":\"p256\"} makes one");
  const key = p256PrivateKey(req.privateKey);
  // ECDSA P-256 with SHA-256 over timestamp + payload, DER-encoded signature, base64
  const sig = cryptoSign("sha256", concat(String(t), body), { key, dsaEncoding: "der" });
  return {
    headers: {
      "X-Twilio-Email-Event-Webhook-Signature": sig.toString("base64"),
      "X-Twilio-Email-Event-Webhook-Timestamp": String(t),
      "content-type": req.contentType ?? JSON_CT,
    },
    publicKey: createPublicKey(key).export({ type: "spki", format: "der" }).toString("base64"),
    sdk: `node:crypto per ${DOCS.sendgrid} (no SendGrid SDK signs; ${sdkVersion("@sendgrid/eventwebhook")} verifies)`,
  };
}

async function linear(req) {
  const body = bodyOf(req);
  const [secret] = secretsOf(req);
  let type;
  try { type = JSON.parse(body.toString("utf8")).type; } catch { /* not JSON */ }
  return {
    headers: {
      "Linear-Signature": hmacHex("sha256", secret, body),
      "Linear-Delivery": req.id ?? randomUUID(),
      "Linear-Event": req.event ?? type ?? "Issue",
      "content-type": req.contentType ?? "application/json; charset=utf-8",
    },
    sdk: `node:crypto per ${DOCS.linear} (${sdkVersion("@linear/sdk")} verifies only)`,
  };
}

async function intercom(req) {
  const body = bodyOf(req);
  const [secret] = secretsOf(req);
  return {
    headers: { "X-Hub-Signature": "sha1=" + hmacHex("sha1", secret, body), "content-type": req.contentType ?? JSON_CT },
    sdk: `node:crypto per ${DOCS.intercom}`,
  };
}

async function paddle(req) {
  const body = bodyOf(req);
  const t = tsOf(req);
  const h1 = secretsOf(req).map((s) => "h1=" + hmacHex("sha256", s, concat(`${t}:`, body)));
  return {
    headers: { "Paddle-Signature": `ts=${t};${h1.join(";")}`, "content-type": req.contentType ?? JSON_CT },
    sdk: `node:crypto per ${DOCS.paddle} (${sdkVersion("@paddle/paddle-node-sdk")} verifies only)`,
  };
}

async function gitlab(req) {
  const [secret] = secretsOf(req);
  return {
    headers: {
      "X-Gitlab-Token": secret,
      "X-Gitlab-Event": req.event ?? "Push Hook",
      "X-Gitlab-Event-UUID": req.id ?? randomUUID(),
      "content-type": req.contentType ?? JSON_CT,
    },
    sdk: `none: a shared token, per ${DOCS.gitlab}`,
  };
}

// Mailgun puts the signature in the body: signature = {timestamp, token, signature}, with
// signature = hex HMAC-SHA256(signing key, timestamp + token). JSON body (current webhooks):
// the given JSON object with "signature" filled in ({"event-data": {}} when no body is given).
// With "form": the legacy form-encoded fields timestamp, token, signature (+ the form's).
async function mailgun(req) {
  const [secret] = secretsOf(req);
  const timestamp = String(tsOf(req));
  const token = req.id ?? randomBytes(25).toString("hex");
  const signature = hmacHex("sha256", secret, timestamp + token);
  if (req.form !== undefined) {
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(req.form)) for (const x of [].concat(v)) sp.append(k, String(x));
    sp.set("timestamp", timestamp); sp.set("token", token); sp.set("signature", signature);
    return { headers: { "content-type": FORM_CT }, body: sp.toString(), contentType: FORM_CT, sdk: `node:crypto per ${DOCS.mailgun}` };
  }
  const text = req.body ?? (req.bodyBase64 !== undefined ? bodyOf(req).toString("utf8") : "");
  const obj = text.trim() ? JSON.parse(text) : { "event-data": {} };
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw new Error("mailgun body must be a JSON object");
  obj.signature = { timestamp, token, signature };
  return { headers: { "content-type": JSON_CT }, body: JSON.stringify(obj), contentType: JSON_CT, sdk: `node:crypto per ${DOCS.mailgun}` };
}

async function dropbox(req) {
  const body = bodyOf(req);
  const [secret] = secretsOf(req);
  return {
    headers: { "X-Dropbox-Signature": hmacHex("sha256", secret, body), "content-type": req.contentType ?? JSON_CT },
    sdk: `node:crypto per ${DOCS.dropbox}`,
  };
}

export const PROVIDERS = {
  github, stripe, slack, shopify,
  "standard-webhooks": (r) => swh(r, "webhook", "standardwebhooks"),
  svix: (r) => swh(r, "svix", "svix"),
  twilio, zoom, meta, discord, sendgrid, linear, intercom, paddle, gitlab, mailgun, dropbox,
};

// The other presets: one module each in signers/ (signers/lib.mjs says what a module exports).
export const MODULES = {};
for (const file of readdirSync(path.join(here, "signers")).filter((f) => f.endsWith(".mjs") && f !== "lib.mjs").sort()) {
  const mod = await import(`./signers/${file}`);
  const name = mod.preset?.name;
  if (`${name}.mjs` !== file) throw new Error(`signers/${file}: preset.name is ${JSON.stringify(name)}`);
  if (PROVIDERS[name]) throw new Error(`signers/${file}: ${name} is signed twice`);
  MODULES[name] = mod;
  PROVIDERS[name] = (req) => mod.sign(req);
}

/** What the tests need of each module's preset (sign.mjs --list): one JSON object per line. */
function list() {
  for (const mod of Object.values(MODULES)) {
    const { preset } = mod;
    process.stdout.write(JSON.stringify({ ...preset, sdkVerifies: typeof mod.verify === "function" }) + "\n");
  }
}

export async function handle(req) {
  if (req === null || typeof req !== "object") throw new Error("the request must be a JSON object");
  if (req.keygen !== undefined) {
    const mod = MODULES[req.keygen];
    return mod?.keypair ? { keygen: req.keygen, ...(await mod.keypair()) } : keygen(req.keygen);
  }
  const fn = PROVIDERS[req.provider];
  if (!fn) throw new Error(`unknown provider ${JSON.stringify(req.provider)}: ${Object.keys(PROVIDERS).join(" | ")}`);
  return fn(req);
}

async function main() {
  if (process.argv[2] === "--list") return list();
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  try {
    const out = await handle(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    process.stdout.write(JSON.stringify(out) + "\n");
  } catch (e) {
    process.stderr.write(`sign.mjs: ${e.message}\n`);
    process.stdout.write(JSON.stringify({ error: e.message }) + "\n");
    process.exit(2);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
