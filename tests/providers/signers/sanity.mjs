// Sanity GROQ webhooks: sanity-webhook-signature "t=<ms>,v1=<base64url, unpadded, HMAC-SHA256(secret, "<t>.<body>")>".
import { hmac, sdkVersion, secretsOf, tsOf } from "./lib.mjs";

export const preset = {
  name: "sanity",
  docs: "https://www.sanity.io/docs/webhooks",
  version: "sanity-webhook-signature v1",
  key: "secret",
  secret: "hookbridge-sanity-webhook-secret-2f9c",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "sanity-webhook-signature",
    split: { kind: "pairs", separator: ",", timestampKey: "t", signatureKey: "v1" },
    signed: "{timestamp}.{body}",
    algorithm: "sha256",
    encoding: "base64url",
    timestampUnit: "milliseconds",
  },
  proof: "sdk",
  proofSource: `${sdkVersion("@sanity/webhook")} isValidSignature`,
  notes: "t is in milliseconds; the signature is base64url without padding. The SDK never checks the timestamp's " +
    "age, so the row is not timestamped (no window). The SDK re-encodes the header and compares strings: exactly " +
    "\"t=<ms>,v1=<sig>\", one v1. The secret is what the user typed in Sanity's webhook settings.",
};

export async function sign(req) {
  const t = String(tsOf(req) * 1000);
  const sig = hmac("sha256", secretsOf(req)[0], `${t}.${req.body ?? ""}`, "base64url");
  return {
    headers: { "sanity-webhook-signature": `t=${t},v1=${sig}`, "content-type": preset.contentType },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { isValidSignature } = await import("@sanity/webhook");
  return (await isValidSignature(out.body ?? req.body, out.headers["sanity-webhook-signature"], req.secret)) === true;
}
