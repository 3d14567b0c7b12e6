// HubSpot request signature v3: x-hubspot-signature-v3 = base64 HMAC-SHA256(client secret,
// method + URI + body + timestamp), the timestamp (unix ms) in x-hubspot-request-timestamp.
import { hmac, require, sdkVersion, secretsOf, tsOf } from "./lib.mjs";

export const preset = {
  name: "hubspot",
  docs: "https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation",
  version: "v3 (x-hubspot-signature-v3, x-hubspot-request-timestamp)",
  key: "secret",
  secret: "5f0c2b7e-8d41-4a39-9e6b-1c7a3d2f4e58",
  contentType: "application/json",
  form: false,
  scheme: {
    signatureHeader: "x-hubspot-signature-v3",
    split: { kind: "plain" },
    signed: "{method}{url}{body}{timestamp}",
    algorithm: "sha256",
    encoding: "base64",
    timestampHeader: "x-hubspot-request-timestamp",
    timestampUnit: "milliseconds",
    timestamped: true,
  },
  proof: "sdk",
  proofSource: `${sdkVersion("@hubspot/api-client")} Signature.isValid (signatureVersion v3)`,
  notes: "The key is the app's client secret. The URI is the full URL HubSpot called (scheme, host, path, query), so " +
    "server.publicUrl is needed. The docs also ask receivers to decode some percent-escapes of the URI before signing; " +
    "the SDK does not, nor does this preset: a URL holding those escapes is not covered. The docs' window is 5 minutes; " +
    "the SDK refuses older timestamps (by throwing) but not future ones. HubSpot also sends the older " +
    "X-HubSpot-Signature (v1/v2); this preset reads only v3.",
};

export async function sign(req) {
  if (!req.url) throw new Error("hubspot signs the URL: url required");
  const ms = String(tsOf(req) * 1000);
  const method = "POST";
  return {
    headers: {
      "x-hubspot-signature-v3": hmac("sha256", secretsOf(req)[0], `${method}${req.url}${req.body ?? ""}${ms}`, "base64"),
      "x-hubspot-request-timestamp": ms,
      "content-type": preset.contentType,
    },
    url: req.url,
    sdk: `node:crypto per ${preset.docs}`,
  };
}

export async function verify(out, req) {
  const { Signature } = require("@hubspot/api-client");
  return Signature.isValid({
    signatureVersion: "v3",
    method: "POST",
    signature: out.headers["x-hubspot-signature-v3"],
    clientSecret: req.secret,
    requestBody: out.body ?? req.body,
    url: out.url,
    timestamp: Number(out.headers["x-hubspot-request-timestamp"]),
  }) === true;
}
