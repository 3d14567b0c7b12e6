// WorkOS webhooks: WorkOS-Signature "t=<ms>, v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
import { hmac, sdkVersion, secretsOf, tsOf } from "./lib.mjs";

export const preset = {
  name: "workos",
  docs: "https://workos.com/docs/events/data-syncing/webhooks",
  version: "WorkOS-Signature v1",
  key: "secret",
  secret: "wh_sec_Qm9ndXNTZWNyZXRGb3JUZXN0cw",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "WorkOS-Signature",
    split: { kind: "pairs", separator: ",", timestampKey: "t", signatureKey: "v1" },
    signed: "{timestamp}.{body}",
    algorithm: "sha256",
    encoding: "hex",
    timestampUnit: "milliseconds",
    timestamped: true,
  },
  proof: "sdk",
  proofSource: `${sdkVersion("@workos-inc/node")} webhooks.constructEvent`,
  notes: "t is the issued time in milliseconds; the pairs are written \", \" (comma and space), as the SDK's tests write " +
    "them. The SDK's window is 180 s (tolerance 180000 ms), checked against the past only. The SDK signs " +
    "JSON.stringify of the parsed payload, which equals the raw body only for compact JSON (what WorkOS sends): " +
    "hookbridge HMACs the raw bytes. One signature per header: with several secrets the first signs. " +
    "@workos-inc/node 9+ needs Node >= 22.11, so 8.8.0 is pinned.",
};

export async function sign(req) {
  const t = String(tsOf(req) * 1000);
  const sig = hmac("sha256", secretsOf(req)[0], `${t}.${req.body ?? ""}`, "hex");
  return {
    headers: { "WorkOS-Signature": `t=${t}, v1=${sig}`, "content-type": preset.contentType },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { WorkOS } = await import("@workos-inc/node");
  const workos = new WorkOS("sk_test_not_used_offline");
  // constructEvent takes the parsed payload and re-serialises it
  await workos.webhooks.constructEvent({
    payload: JSON.parse(out.body ?? req.body),
    sigHeader: out.headers["WorkOS-Signature"],
    secret: req.secret,
  });
  return true;
}
