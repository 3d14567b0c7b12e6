// Resend: webhooks delivered by Svix (svix-id, svix-timestamp, svix-signature "v1,<base64 HMAC-SHA256>").
import { sdkVersion, swhScheme, swhSign } from "./lib.mjs";

export const preset = {
  name: "resend",
  docs: "https://resend.com/docs/webhooks/verify-webhooks-requests",
  version: "Svix v1 (svix-signature: v1,<base64 HMAC-SHA256>)",
  key: "secret",
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  otherSecret: "whsec_" + Buffer.from("another-32-byte-signing-key-here").toString("base64"),
  contentType: "application/json",
  form: false,
  scheme: swhScheme("svix"),
  proof: "sdk",
  proofSource: `${sdkVersion("resend")} Resend.webhooks.verify`,
  notes: "The docs read svix-id, svix-timestamp and svix-signature and pass them to resend.webhooks.verify (which " +
    "calls standardwebhooks; 5 minutes either way). The secret (whsec_<base64>) is on the webhook's page. After a " +
    "rotation both secrets sign for 24 hours: two v1, entries.",
};

export const sign = async (req) => swhSign(req, "svix", preset);

export async function verify(out, req) {
  const { Resend } = await import("resend");
  const h = out.headers;
  new Resend("re_not_used").webhooks.verify({
    payload: out.body ?? req.body,
    headers: { id: h["svix-id"], timestamp: h["svix-timestamp"], signature: h["svix-signature"] },
    webhookSecret: req.secret,
  });
  return true;
}
