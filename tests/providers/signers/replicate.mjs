// Replicate: Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>").
import { sdkVersion, swhScheme, swhSign } from "./lib.mjs";

export const preset = {
  name: "replicate",
  docs: "https://replicate.com/docs/topics/webhooks/verify-webhook",
  version: "Standard Webhooks v1 (webhook-signature: v1,<base64 HMAC-SHA256>)",
  key: "secret",
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  otherSecret: "whsec_" + Buffer.from("another-32-byte-signing-key-here").toString("base64"),
  contentType: "application/json",
  form: false,
  scheme: swhScheme("webhook"),
  proof: "sdk",
  proofSource: `${sdkVersion("replicate")} validateWebhook`,
  notes: "The secret (whsec_<base64>, one per account) comes from GET /v1/webhooks/default/secret. validateWebhook " +
    "checks no timestamp at all; timestamped (300 s) follows the docs' advice against replays, not the SDK.",
};

export const sign = async (req) => swhSign(req, "webhook", preset);

export async function verify(out, req) {
  const { validateWebhook } = await import("replicate");
  const h = out.headers;
  return (await validateWebhook({
    id: h["webhook-id"],
    timestamp: h["webhook-timestamp"],
    signature: h["webhook-signature"],
    body: out.body ?? req.body,
    secret: req.secret,
  })) === true;
}
