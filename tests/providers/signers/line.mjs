// LINE Messaging API: x-line-signature = base64 HMAC-SHA256(channel secret, raw body).
import { hmac, sdkVersion, secretsOf } from "./lib.mjs";

export const preset = {
  name: "line",
  docs: "https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/",
  version: "Messaging API webhook (x-line-signature)",
  key: "secret",
  secret: "8c570fa6dd201bb328f1c1eac23a96d8",
  contentType: "application/json; charset=utf-8",
  form: false,
  scheme: {
    signatureHeader: "x-line-signature",
    split: { kind: "plain" },
    signed: "{body}",
    algorithm: "sha256",
    encoding: "base64",
  },
  proof: "sdk",
  proofSource: `${sdkVersion("@line/bot-sdk")} validateSignature`,
  notes: "The key is the channel secret (32 hex characters, used as text). No timestamp header: each event carries its " +
    "own timestamp (ms) and webhookEventId in the body. The console's Verify button sends an ordinary signed POST " +
    "with \"events\": [] that must get a 200: no separate handshake.",
};

export async function sign(req) {
  return {
    headers: {
      "x-line-signature": hmac("sha256", secretsOf(req)[0], req.body ?? "", "base64"),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { validateSignature } = await import("@line/bot-sdk");
  return validateSignature(out.body ?? req.body, req.secret, out.headers["x-line-signature"]) === true;
}
