// ElevenLabs: ElevenLabs-Signature "t=<unix s>,v0=<hex HMAC-SHA256(secret, "<t>.<body>")>".
import { hmac, sdkVersion, secretsOf, tsOf } from "./lib.mjs";

export const preset = {
  name: "elevenlabs",
  docs: "https://elevenlabs.io/docs/product-guides/administration/webhooks",
  version: "HMAC (ElevenLabs-Signature t=,v0=)",
  key: "secret",
  secret: "wsec_6a1f0c9d3e5b7a2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "ElevenLabs-Signature",
    split: { kind: "pairs", separator: ",", timestampKey: "t", signatureKey: "v0" },
    signed: "{timestamp}.{body}",
    algorithm: "sha256",
    encoding: "hex",
    timestamped: true,
  },
  proof: "sdk",
  proofSource: `${sdkVersion("@elevenlabs/elevenlabs-js")} ElevenLabsClient.webhooks.constructEvent`,
  notes: "The whole secret string is the key. The SDK refuses timestamps older than 30 minutes and takes any future " +
    "one; the row's tolerance is 1800 s (hookbridge applies it both ways). The SDK reads only the first v0= entry, " +
    "so one signature per request. The wsec_<64 hex> shape of the sample is from users' code, not the docs.",
};

export async function sign(req) {
  const t = tsOf(req);
  const v0 = hmac("sha256", secretsOf(req)[0], `${t}.${req.body ?? ""}`, "hex");
  return {
    headers: { "ElevenLabs-Signature": `t=${t},v0=${v0}`, "content-type": preset.contentType },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { ElevenLabsClient } = await import("@elevenlabs/elevenlabs-js");
  await new ElevenLabsClient({ apiKey: "not-used" }).webhooks.constructEvent(out.body ?? req.body, out.headers["ElevenLabs-Signature"], req.secret);
  return true;
}
