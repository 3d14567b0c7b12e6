// Render: Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>").
import { sdkVersion, swhScheme, swhSign } from "./lib.mjs";

export const preset = {
  name: "render",
  docs: "https://render.com/docs/webhooks",
  version: "Standard Webhooks v1",
  key: "secret",
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  otherSecret: "whsec_" + Buffer.from("another-32-byte-signing-key-here").toString("base64"),
  contentType: "application/json",
  form: false,
  scheme: swhScheme("webhook"),
  proof: "sdk",
  proofSource: `${sdkVersion("standardwebhooks")} Webhook.verify (the scheme of https://render.com/docs/webhooks)`,
  notes: "Render's docs link its example receiver (github.com/render-examples/webhook-receiver), which verifies " +
    "webhook-id, webhook-timestamp and webhook-signature with standardwebhooks and RENDER_WEBHOOK_SECRET. The " +
    "secret's prefix and the id's shape were not seen; whsec_<base64> assumed. Render wants a 2xx within 15 s.",
};

export const sign = async (req) => swhSign(req, "webhook", preset);

export async function verify(out, req) {
  const { Webhook } = await import("standardwebhooks");
  new Webhook(req.secret).verify(out.body ?? req.body, out.headers);
  return true;
}
