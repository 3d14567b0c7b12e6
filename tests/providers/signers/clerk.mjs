// Clerk: webhooks delivered by Svix (svix-id, svix-timestamp, svix-signature "v1,<base64 HMAC-SHA256>").
import { sdkVersion, swhScheme, swhSign } from "./lib.mjs";

export const preset = {
  name: "clerk",
  docs: "https://clerk.com/docs/reference/backend/verify-webhook",
  version: "Svix v1 (svix-signature: v1,<base64 HMAC-SHA256>)",
  key: "secret",
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  otherSecret: "whsec_" + Buffer.from("another-32-byte-signing-key-here").toString("base64"),
  contentType: "application/json",
  form: false,
  scheme: swhScheme("svix"),
  proof: "sdk",
  proofSource: `${sdkVersion("@clerk/backend")} verifyWebhook (@clerk/backend/webhooks)`,
  notes: "The Dashboard's signing secret is whsec_<base64>. verifyWebhook reads only the svix-* headers (webhook-* " +
    "alone is refused), hands them to standardwebhooks and allows 5 minutes either way. Several secrets (rotation): " +
    "space-separated v1,<sig> entries.",
};

export const sign = async (req) => swhSign(req, "svix", preset);

export async function verify(out, req) {
  const { verifyWebhook } = await import("@clerk/backend/webhooks");
  const request = new Request("https://hooks.example.com/webhooks/clerk", { method: "POST", headers: out.headers, body: out.body ?? req.body });
  await verifyWebhook(request, { signingSecret: req.secret });
  return true;
}
