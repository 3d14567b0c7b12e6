// Nylas v3 webhooks: x-nylas-signature = hex HMAC-SHA256(the webhook's webhook_secret, raw body).
import { hmac, require, sdkVersion, secretsOf } from "./lib.mjs";

// nylas@6 (the last SDK with a verifier) is installed under the alias nylas-v6; sdkVersion names the alias
const nylasV6 = `nylas@${sdkVersion("nylas-v6").split("@").pop()}`;

export const preset = {
  name: "nylas",
  docs: "https://developer.nylas.com/docs/developer-guide/v3-webhooks",
  version: "v3 webhooks (x-nylas-signature, keyed with the webhook_secret)",
  key: "secret",
  secret: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
  contentType: "application/json",
  form: false,
  scheme: {
    handshake: "nylas",
    signatureHeader: "x-nylas-signature",
    split: { kind: "plain" },
    signed: "{body}",
    algorithm: "sha256",
    encoding: "hex",
  },
  proof: "sdk",
  proofSource: `${nylasV6} WebhookNotification.verifyWebhookSignature (installed as nylas-v6)`,
  notes: "v3 keys the HMAC with the webhook_secret returned once when the webhook is created (v2 used the app's client " +
    "secret, same HMAC). The current SDK (nylas@8) has no verifier; nylas@6's takes the key as an argument. No " +
    "timestamp and no delivery-id header. Handshake nylas: at creation Nylas sends " +
    "GET <url>?challenge=<value>, unsigned, and wants 200 with exactly <value> as the body within 10 s. Compressed " +
    "delivery (gzip bodies) is not covered.",
};

export async function sign(req) {
  return {
    headers: {
      "x-nylas-signature": hmac("sha256", secretsOf(req)[0], req.body ?? "", "hex"),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const WebhookNotification = require("nylas-v6/lib/models/webhook-notification").default;
  return WebhookNotification.verifyWebhookSignature(out.headers["x-nylas-signature"], out.body ?? req.body, req.secret) === true;
}
