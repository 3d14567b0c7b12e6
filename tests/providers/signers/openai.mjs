// OpenAI: Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>").
import { idOf, randomHex, sdkVersion, secretsOf, swhScheme, swhSignatures, tsOf } from "./lib.mjs";

export const preset = {
  name: "openai",
  docs: "https://platform.openai.com/docs/guides/webhooks",
  version: "Standard Webhooks v1 (webhook-signature: v1,<base64 HMAC-SHA256>)",
  key: "secret",
  secret: "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=",
  otherSecret: "whsec_" + Buffer.from("another-32-byte-signing-key-here").toString("base64"),
  contentType: "application/json",
  form: false,
  scheme: swhScheme("webhook"),
  proof: "sdk",
  proofSource: `${sdkVersion("openai")} OpenAI.webhooks.verifySignature`,
  notes: "OpenAI issues whsec_ secrets; webhook-id values look like wh_<hex>. verifySignature allows 300 s either " +
    "way and takes any space-separated v1, entry.",
};

export async function sign(req) {
  const t = tsOf(req);
  const id = idOf(req, () => "wh_" + randomHex(16));
  return {
    headers: {
      "webhook-id": id,
      "webhook-timestamp": String(t),
      "webhook-signature": swhSignatures(secretsOf(req), id, t, req.body ?? ""),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { default: OpenAI } = await import("openai");
  await new OpenAI({ apiKey: "sk-not-used" }).webhooks.verifySignature(out.body ?? req.body, out.headers, req.secret);
  return true;
}
