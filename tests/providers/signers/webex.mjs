// Webex Webhooks API: x-spark-signature = hex HMAC-SHA1(the webhook's secret, raw body).
import { hmac, require, sdkVersion, secretsOf } from "./lib.mjs";

export const preset = {
  name: "webex",
  docs: "https://developer.webex.com/docs/receive-and-verify-webhooks",
  version: "Webhooks API (x-spark-signature, HMAC-SHA1)",
  key: "secret",
  secret: "somesupersecretphrase",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "x-spark-signature",
    split: { kind: "plain" },
    signed: "{body}",
    algorithm: "sha1",
    encoding: "hex",
  },
  proof: "sdk",
  proofSource: `${sdkVersion("webex-node-bot-framework")} lib/webhook.js (github.com/webex/webex-node-bot-framework)`,
  notes: "Signed only when the webhook was registered with a secret. No timestamp and no delivery-id header. The " +
    "official 'webex' JS SDK has no verifier; the Webex organisation's bot framework checks the signature in its " +
    "webhook handler, over JSON.stringify of the parsed body rather than the raw bytes, so it agrees with the raw-body " +
    "HMAC (what the docs prescribe and hookbridge does) only for compact JSON; the bodies signed here are compact.",
};

export async function sign(req) {
  return {
    headers: {
      "x-spark-signature": hmac("sha1", secretsOf(req)[0], req.body ?? "", "hex"),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

// The framework's handler with a stub framework: it reads framework.active (processEvent) only when the signature
// matched; a mismatch returns before that.
export async function verify(out, req) {
  const Webhook = require("webex-node-bot-framework/lib/webhook.js");
  let accepted = false;
  const framework = {
    options: { webhookSecret: req.secret, webhookRequestJSONLocation: "body" },
    emit() {},
    debug() {},
    get active() {
      accepted = true;
      return false;
    },
  };
  const headers = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
  await Webhook(framework)({ headers, body: JSON.parse(out.body ?? req.body) });
  return accepted;
}
