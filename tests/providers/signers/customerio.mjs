// Customer.io reporting webhooks: x-cio-signature = hex HMAC-SHA256(signing key, "v0:{timestamp}:{body}").
import { hmac, require, sdkVersion, secretsOf, tsOf } from "./lib.mjs";

export const preset = {
  name: "customerio",
  docs: "https://docs.customer.io/api/webhooks/",
  version: "reporting webhooks v0 (x-cio-signature, x-cio-timestamp)",
  key: "secret",
  secret: "7b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80912",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "x-cio-signature",
    split: { kind: "plain" },
    signed: "v0:{timestamp}:{body}",
    algorithm: "sha256",
    encoding: "hex",
    timestampHeader: "x-cio-timestamp",
  },
  proof: "sdk",
  proofSource: `${sdkVersion("customerio-node")} verifyRequestSignature`,
  notes: "Slack's v0 construction, but the header holds the bare hex digest (no 'v0=' before it). The key is the " +
    "webhook signing key of the reporting-webhook settings. Not timestamped: the SDK does not look at the timestamp's " +
    "age and the docs give no window, so an old request with a good signature is accepted (as by the SDK).",
};

export async function sign(req) {
  const t = String(tsOf(req));
  return {
    headers: {
      "x-cio-signature": hmac("sha256", secretsOf(req)[0], `v0:${t}:${req.body ?? ""}`, "hex"),
      "x-cio-timestamp": t,
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { verifyRequestSignature } = require("customerio-node");
  return verifyRequestSignature({
    signingSecret: req.secret,
    timestamp: out.headers["x-cio-timestamp"],
    signature: out.headers["x-cio-signature"],
    body: out.body ?? req.body,
  }) === true;
}
