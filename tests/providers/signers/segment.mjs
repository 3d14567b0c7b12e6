// Segment Webhooks (Actions) destination: X-Signature = hex HMAC-SHA1(shared secret, body).
import { hmac, require, sdkVersion, secretsOf } from "./lib.mjs";

export const preset = {
  name: "segment",
  docs: "https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook",
  version: "Webhooks (Actions) destination, Shared Secret",
  key: "secret",
  secret: "8c1f5e0a2b7d4c9e",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "X-Signature",
    split: { kind: "plain" },
    signed: "{body}",
    algorithm: "sha1",
    encoding: "hex",
  },
  proof: "sdk",
  proofSource: `${sdkVersion("@segment/action-destinations")} webhook extendRequest (Segment's own sender)`,
  notes: "Segment's sender signs JSON.stringify(payload.data), which is the body of a single event. With batching " +
    "on, the body is an array but only the first event's data is signed, so this preset assumes batching off. No " +
    "timestamp, no id: nothing against replays. 3.387.0 because the newest release does not install (it pins a " +
    "@aws-sdk/client-kinesis version npm does not have); its extendRequest matches the current source.",
};

export async function sign(req) {
  return {
    headers: { "X-Signature": hmac("sha1", secretsOf(req)[0], req.body ?? "", "hex"), "content-type": preset.contentType },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

// Segment's own signer run on the same event: its header must be ours.
export async function verify(out, req) {
  const dest = require("@segment/action-destinations/dist/destinations/webhook/index.js").default;
  const r = dest.extendRequest({ settings: { sharedSecret: req.secret }, payload: { data: JSON.parse(out.body ?? req.body) } });
  return r.headers?.["X-Signature"] === out.headers["X-Signature"];
}
