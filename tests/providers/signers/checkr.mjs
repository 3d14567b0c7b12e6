// Checkr webhooks: X-Checkr-Signature = hex HMAC-SHA256(API key, raw body).
import { hmac, secretsOf } from "./lib.mjs";

export const preset = {
  name: "checkr",
  docs: "https://docs.checkr.com/apis/webhooks",
  version: "X-Checkr-Signature (HMAC-SHA256)",
  key: "secret",
  secret: "83ebeabdec09f6670863766f792ead24d61fe3f9",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "X-Checkr-Signature",
    split: { kind: "plain" },
    signed: "{body}",
    algorithm: "sha256",
    encoding: "hex",
  },
  proof: "docs-example",
  proofSource: "https://github.com/checkr/webhook-verification-examples/blob/089eea159680b7f48e99219826b1e6e3826026b6/verify_signature.js",
  notes: "The key is the account's API key, not a per-webhook secret. No timestamp: the signature does not cover " +
    "replays. No Checkr SDK verifies; the proof is the example in Checkr's own webhook-verification-examples " +
    "repository (tests/unit/data/provider-examples.json). Basic Auth in the webhook URL is optional.",
};

export async function sign(req) {
  return {
    headers: {
      "X-Checkr-Signature": hmac("sha256", secretsOf(req)[0], req.body ?? "", "hex"),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}
