// Telnyx API v2 webhooks: Ed25519 over "{timestamp}|{body}", the signature base64 in telnyx-signature-ed25519.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign } from "node:crypto";
import { require, sdkVersion, tsOf } from "./lib.mjs";

export const preset = {
  name: "telnyx",
  docs: "https://developers.telnyx.com/docs/development/sdk/node/webhooks",
  version: "API v2 webhooks (telnyx-signature-ed25519)",
  key: "ed25519",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "telnyx-signature-ed25519",
    split: { kind: "plain" },
    signed: "{timestamp}|{body}",
    algorithm: "ed25519",
    encoding: "base64",
    publicKeyForm: "base64",
    timestampHeader: "telnyx-timestamp",
    timestamped: true,
  },
  proof: "sdk",
  proofSource: `${sdkVersion("telnyx")} TelnyxWebhook.verify`,
  notes: "The signed message is the timestamp header's text, '|', then the raw body. The public key (Mission Control, " +
    "per account) is the base64 of its 32 bytes. The SDK refuses timestamps more than 300 s from now either way.",
};

// privateKey: a PKCS#8 PEM
const publicKeyBase64 = (pem) => {
  const spki = createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
  return spki.subarray(spki.length - 32).toString("base64");
};

export function keypair() {
  const { privateKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" });
  return { privateKey: pem, publicKey: publicKeyBase64(pem) };
}

export async function sign(req) {
  const t = String(tsOf(req));
  const sig = edSign(null, Buffer.from(`${t}|${req.body ?? ""}`, "utf8"), createPrivateKey(req.privateKey)).toString("base64");
  return {
    headers: { "telnyx-signature-ed25519": sig, "telnyx-timestamp": t, "content-type": preset.contentType },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { TelnyxWebhook } = require("telnyx/lib/webhooks");
  await new TelnyxWebhook(req.publicKey).verify(out.body ?? req.body, out.headers);
  return true;
}
