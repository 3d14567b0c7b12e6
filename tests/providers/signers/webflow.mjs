// Webflow webhooks: x-webflow-signature = hex HMAC-SHA256(secret, "{x-webflow-timestamp}:{body}"), timestamp in ms.
import { hmac, require, sdkVersion, secretsOf, tsOf } from "./lib.mjs";

export const preset = {
  name: "webflow",
  docs: "https://developers.webflow.com/data/docs/working-with-webhooks#validating-request-signatures",
  version: "Data API v2 webhooks (x-webflow-signature, x-webflow-timestamp)",
  key: "secret",
  secret: "3f9a1c7e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "x-webflow-signature",
    split: { kind: "plain" },
    signed: "{timestamp}:{body}",
    algorithm: "sha256",
    encoding: "hex",
    timestampHeader: "x-webflow-timestamp",
    timestampUnit: "milliseconds",
    timestamped: true,
  },
  proof: "sdk",
  proofSource: `${sdkVersion("webflow-api")} WebflowClient webhooks.verifySignature`,
  notes: "The key is the OAuth app's client secret for webhooks an app created, or the secret returned when a webhook " +
    "is created with a site token; either is used as text. The 5-minute window is the docs'; the SDK compares only " +
    "the HMAC. Webhooks created before Webflow signed requests carry no signature headers.",
};

export async function sign(req) {
  const ms = String(tsOf(req) * 1000);
  return {
    headers: {
      "x-webflow-signature": hmac("sha256", secretsOf(req)[0], `${ms}:${req.body ?? ""}`, "hex"),
      "x-webflow-timestamp": ms,
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { WebflowClient } = require("webflow-api");
  const headers = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const client = new WebflowClient({ accessToken: "not-used-by-verifySignature" });
  return (await client.webhooks.verifySignature({ headers, body: out.body ?? req.body, secret: req.secret })) === true;
}
