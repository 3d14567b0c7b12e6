// X (Twitter) webhooks: x-twitter-webhooks-signature = "sha256=" + base64 HMAC-SHA256(consumer secret, raw body).
import { hmac, require, sdkVersion, secretsOf } from "./lib.mjs";

export const preset = {
  name: "x",
  docs: "https://docs.x.com/x-api/webhooks/quickstart",
  version: "Account Activity API / v2 webhooks (x-twitter-webhooks-signature)",
  key: "secret",
  secret: "z9Qk3LmT7pXw2vRb8NcY4sHd6FgJ1aKe0uIoPqWsErTyUiOpLk",
  contentType: "application/json",
  form: false,
  scheme: {
    handshake: "x-crc",
    signatureHeader: "x-twitter-webhooks-signature",
    split: { kind: "plain", requiredPrefix: "sha256=" },
    signed: "{body}",
    algorithm: "sha256",
    encoding: "base64",
  },
  proof: "sdk",
  proofSource: `${sdkVersion("twitter-autohook")} validateSignature (github.com/twitterdev/autohook)`,
  notes: "The key is the app's consumer secret (API key secret). No timestamp and no delivery-id header. The official " +
    "TypeScript SDK has no webhook helper; twitter-autohook (published by Twitter) checks the signature. Its ngrok " +
    "dependency's install script is denied (allowScripts): it downloads a binary nothing here uses. Handshake x-crc: " +
    "the CRC, GET <url>?crc_token=<T> at registration, hourly and on PUT /2/webhooks/:id, " +
    "answered 200 application/json {\"response_token\":\"sha256=<base64 HMAC-SHA256(consumer secret, T)>\"}.",
};

export async function sign(req) {
  return {
    headers: {
      "x-twitter-webhooks-signature": "sha256=" + hmac("sha256", secretsOf(req)[0], req.body ?? "", "base64"),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { validateSignature } = require("twitter-autohook");
  const headers = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return validateSignature(headers, { consumer_secret: req.secret }, out.body ?? req.body) === true;
}
