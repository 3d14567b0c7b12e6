// Mux webhooks: Mux-Signature "t=<s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=...]".
import { hmac, sdkVersion, secretsOf, tsOf } from "./lib.mjs";

export const preset = {
  name: "mux",
  docs: "https://www.mux.com/docs/core/verify-webhook-signatures",
  version: "Mux-Signature v1",
  key: "secret",
  secret: "ndf8k2v0r8rmq5e1c7jq3h0a6l2tzu4b",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "Mux-Signature",
    split: { kind: "pairs", separator: ",", timestampKey: "t", signatureKey: "v1" },
    signed: "{timestamp}.{body}",
    algorithm: "sha256",
    encoding: "hex",
    timestamped: true,
  },
  proof: "sdk",
  proofSource: `${sdkVersion("@mux/mux-node")} webhooks.verifySignature`,
  notes: "The SDK accepts a header whose any v1= matches, so with several secrets sign() writes one v1= per secret. " +
    "Its window is a fixed 300 s, checked against the past only. The secret is the webhook's signing secret from " +
    "the Mux dashboard, used as text.",
};

export async function sign(req) {
  const t = tsOf(req);
  const sigs = secretsOf(req).map((s) => "v1=" + hmac("sha256", s, `${t}.${req.body ?? ""}`, "hex"));
  return {
    headers: { "Mux-Signature": [`t=${t}`, ...sigs].join(","), "content-type": preset.contentType },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const Mux = (await import("@mux/mux-node")).default;
  const mux = new Mux({ tokenId: "not-used-offline", tokenSecret: "not-used-offline" });
  await mux.webhooks.verifySignature(out.body ?? req.body, out.headers, req.secret);
  return true;
}
