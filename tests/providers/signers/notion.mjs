// Notion integration webhooks: x-notion-signature = "sha256=" + hex HMAC-SHA256(verification_token, raw body).
import { hmac, require, sdkVersion, secretsOf } from "./lib.mjs";

export const preset = {
  name: "notion",
  docs: "https://developers.notion.com/reference/webhooks#step-3-validating-event-payloads-recommended",
  version: "integration webhooks (x-notion-signature)",
  key: "secret",
  secret: "secret_q8ZtR3vLw2NpK7yBd5HsF1mXc9GjA4eU6oVi0TbWnYr",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "x-notion-signature",
    split: { kind: "plain", requiredPrefix: "sha256=" },
    signed: "{body}",
    algorithm: "sha256",
    encoding: "hex",
  },
  proof: "sdk",
  proofSource: `${sdkVersion("@notionhq/client")} verifyWebhookSignature`,
  notes: "The key is the subscription's verification_token ('secret_...', used as text). No timestamp, so no replay " +
    "window, and no delivery-id header. Handshake still to come (handshake none here): when a subscription is " +
    "created Notion POSTs one unsigned {\"verification_token\":\"secret_...\"}; the user pastes that token into " +
    "Notion's Verify dialog and configures it as the secret, so the bridge must take (and show) that one unsigned " +
    "request while no secret is set.",
};

export async function sign(req) {
  return {
    headers: {
      "x-notion-signature": "sha256=" + hmac("sha256", secretsOf(req)[0], req.body ?? "", "hex"),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { verifyWebhookSignature } = require("@notionhq/client");
  return (await verifyWebhookSignature({
    body: out.body ?? req.body,
    signature: out.headers["x-notion-signature"],
    verificationToken: req.secret,
  })) === true;
}
