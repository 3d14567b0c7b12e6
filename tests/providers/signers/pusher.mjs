// Pusher Channels webhooks: X-Pusher-Signature = hex HMAC-SHA256(app secret, body); X-Pusher-Key names the key.
import { hmac, sdkVersion, secretsOf } from "./lib.mjs";

const APP_KEY = "278d425bdf160c739803";

export const preset = {
  name: "pusher",
  docs: "https://pusher.com/docs/channels/server_api/webhooks/",
  version: "Channels webhooks (X-Pusher-Signature)",
  key: "secret",
  secret: "7ad3773142a6692b25b8",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "X-Pusher-Signature",
    split: { kind: "plain" },
    signed: "{body}",
    algorithm: "sha256",
    encoding: "hex",
  },
  proof: "sdk",
  proofSource: `${sdkVersion("pusher")} Pusher.webhook(request).isValid`,
  notes: "The key is the app secret. X-Pusher-Key names the app key whose secret signed (the oldest active one); " +
    "the preset checks the signature only, not that header. The SDK also wants Content-Type exactly " +
    "application/json. No timestamp: nothing against replays (Pusher retries for 5 minutes).",
};

export async function sign(req) {
  return {
    headers: {
      "X-Pusher-Key": APP_KEY,
      "X-Pusher-Signature": hmac("sha256", secretsOf(req)[0], req.body ?? "", "hex"),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { default: Pusher } = await import("pusher");
  const pusher = new Pusher({ appId: "1", key: APP_KEY, secret: req.secret, cluster: "mt1" });
  const headers = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return pusher.webhook({ headers, rawBody: out.body ?? req.body }).isValid() === true;
}
