// Onfido (Entrust Identity) webhooks: X-SHA2-Signature = hex HMAC-SHA256(webhook token, raw body).
import { hmac, require, sdkVersion, secretsOf } from "./lib.mjs";

export const preset = {
  name: "onfido",
  docs: "https://documentation.identity.entrust.com/api/manual-webhook-signature-verification/",
  version: "X-SHA2-Signature (HMAC-SHA256)",
  key: "secret",
  secret: "Fq3bUe8kW2nRzT6yH9pLcX4vJ7mA1sD5",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "X-SHA2-Signature",
    split: { kind: "plain" },
    signed: "{body}",
    algorithm: "sha256",
    encoding: "hex",
  },
  proof: "sdk",
  proofSource: `${sdkVersion("@onfido/api")} WebhookEventVerifier.readPayload`,
  notes: "The key is the webhook's token, returned when the webhook is created. No timestamp: the signature does not " +
    "cover replays. The legacy X-Signature (HMAC-SHA1) header is not used. The SDK's ESM build calls " +
    "require('crypto'), so verify() loads its CommonJS build.",
};

export async function sign(req) {
  return {
    headers: {
      "X-SHA2-Signature": hmac("sha256", secretsOf(req)[0], req.body ?? "", "hex"),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { WebhookEventVerifier } = require("@onfido/api");
  // throws OnfidoInvalidSignatureError, or a RangeError when the lengths differ
  new WebhookEventVerifier(req.secret).readPayload(out.body ?? req.body, out.headers["X-SHA2-Signature"]);
  return true;
}
