// Loops: Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>").
import { sdkVersion, swhScheme, swhSign } from "./lib.mjs";

export const preset = {
  name: "loops",
  docs: "https://loops.so/docs/webhooks",
  version: "Standard Webhooks v1",
  key: "secret",
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  otherSecret: "whsec_" + Buffer.from("another-32-byte-signing-key-here").toString("base64"),
  contentType: "application/json",
  form: false,
  scheme: swhScheme("webhook"),
  proof: "sdk",
  proofSource: `${sdkVersion("standardwebhooks")} Webhook.verify (the scheme of https://loops.so/docs/webhooks)`,
  notes: "Loops' API reference lists webhook-id, webhook-timestamp and webhook-signature (HMAC with the endpoint's " +
    "signing secret, whsec_<base64>). Loops' npm SDK has no verifier; its Go SDK checks no timestamp by default, " +
    "so timestamped (300 s) is the Standard Webhooks default, a receiver's choice. One endpoint per account.",
};

export const sign = async (req) => swhSign(req, "webhook", preset);

export async function verify(out, req) {
  const { Webhook } = await import("standardwebhooks");
  new Webhook(req.secret).verify(out.body ?? req.body, out.headers);
  return true;
}
