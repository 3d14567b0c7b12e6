// Supabase Auth HTTP hooks: Standard Webhooks headers; the secret is written "v1,whsec_<base64>".
import { idOf, sdkVersion, secretsOf, swhScheme, swhSignatures, tsOf, whsecKey } from "./lib.mjs";

export const preset = {
  name: "supabase",
  docs: "https://supabase.com/docs/guides/auth/auth-hooks",
  version: "Auth Hooks of type HTTP (Standard Webhooks v1); Database Webhooks are not signed",
  key: "secret",
  secret: "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  otherSecret: "v1,whsec_" + Buffer.from("another-32-byte-signing-key-here").toString("base64"),
  contentType: "application/json",
  form: false,
  scheme: swhScheme("webhook"),
  proof: "sdk",
  proofSource: `${sdkVersion("standardwebhooks")} Webhook.verify (the scheme of https://supabase.com/docs/guides/auth/auth-hooks)`,
  notes: "The docs say HTTP hooks follow the Standard Webhooks specification; the dashboard's secret is " +
    "'v1,whsec_<base64>' (the receiver drops 'v1,'). webhook-id is a UUID. With several secrets supabase/auth joins " +
    "the entries with ', ', so each one but the last ends in ',' and hookbridge reads only the last: with several " +
    "secrets in Supabase, the one hookbridge holds must be the last. Auth hooks are synchronous (5 s, 3 tries, " +
    "200/202/204; some hooks use the JSON answer): a receiver that only forwards fits send-email and send-sms.",
};

const keyOf = (s) => whsecKey(s.replace(/^v1,/, ""));

export async function sign(req) {
  const t = tsOf(req);
  const id = idOf(req);
  return {
    headers: {
      "webhook-id": id,
      "webhook-timestamp": String(t),
      "webhook-signature": swhSignatures(secretsOf(req), id, t, req.body ?? "", ", ", keyOf),
      "content-type": preset.contentType,
    },
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { Webhook } = await import("standardwebhooks");
  new Webhook(req.secret.replace(/^v1,/, "")).verify(out.body ?? req.body, out.headers);
  return true;
}
