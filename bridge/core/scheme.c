/* bridge/core/scheme.c: the provider presets as a table of schemes, their vocabulary, and the template parser. */
#include "scheme.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define S HB_PRESET_SECRET
#define P HB_PRESET_PUBLIC_KEY
#define E HB_PRESET_KEY_EITHER
#define U HB_PRESET_PUBLIC_URL
#define T HB_PRESET_VERIFY_TOKEN
/* One preset per line reads as a table; a member left out is its zero: no prefix, hex, raw secret, no public key,
   no timestamp header, seconds, not timestamped, no handshake, no checks. */
/* clang-format off */
static const hb_scheme_t hb_schemes[] = {
    {.name = "github",            .id_header = "x-github-delivery",          .needs = S,     .signature_header = "X-Hub-Signature-256",                    .split = {.kind = HB_SPLIT_PLAIN, .prefix = "sha256=", .sign_prefix = 1},                          .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX, .docs = "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries", .proof = "sdk: @octokit/webhooks-methods@6.0.0 sign; docs example (GitHub's test values)"},
    {.name = "stripe",            .id_header = NULL,                         .needs = S,     .signature_header = "Stripe-Signature",                       .split = {.kind = HB_SPLIT_PAIRS, .separator = ',', .timestamp_key = "t", .signature_key = "v1"},  .signed_content = "{timestamp}.{body}",      .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,                                                                  .timestamped = 1, .docs = "https://docs.stripe.com/webhooks#verify-manually", .proof = "sdk: stripe@23.1.0 webhooks.generateTestHeaderString, constructEvent"},
    {.name = "slack",             .id_header = NULL,                         .needs = S,     .signature_header = "X-Slack-Signature",                      .split = {.kind = HB_SPLIT_PLAIN, .required_prefix = "v0="},                                       .signed_content = "v0:{timestamp}:{body}",   .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,    .timestamp_header = "x-slack-request-timestamp",              .timestamped = 1,                                                                    .handshake = HB_HANDSHAKE_SLACK, .docs = "https://api.slack.com/authentication/verifying-requests-from-slack", .proof = "docs example: Slack's, as python-slack-sdk's tests hold it"},
    {.name = "shopify",           .id_header = "x-shopify-webhook-id",       .needs = S,     .signature_header = "X-Shopify-Hmac-Sha256",                  .split = {.kind = HB_SPLIT_PLAIN, .prefix = "sha256="},                                            .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .docs = "https://shopify.dev/docs/apps/build/webhooks/subscribe/https", .proof = "docs: the algorithm on the provider's page, recomputed (no SDK here verifies)"},
    {.name = "standard-webhooks", .id_header = "webhook-id",                 .needs = E,     .signature_header = "Webhook-Signature",                      .split = {.kind = HB_SPLIT_LIST, .separator = ' ', .signature_key = "v1", .ed25519_key = "v1a"},   .signed_content = "{id}.{timestamp}.{body}", .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .timestamp_header = "webhook-timestamp",                      .timestamped = 1, .secret_form = HB_SECRET_WHSEC, .public_key_form = HB_PUBKEY_WHPK, .docs = "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md", .proof = "sdk: standardwebhooks@1.1.1 Webhook.verify; docs example (the spec's libraries)"},
    {.name = "svix",              .id_header = "svix-id",                    .needs = E,     .signature_header = "Svix-Signature",                         .split = {.kind = HB_SPLIT_LIST, .separator = ' ', .signature_key = "v1", .ed25519_key = "v1a"},   .signed_content = "{id}.{timestamp}.{body}", .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .timestamp_header = "svix-timestamp",                         .timestamped = 1, .secret_form = HB_SECRET_WHSEC, .public_key_form = HB_PUBKEY_WHPK, .docs = "https://docs.svix.com/receiving/verifying-payloads/how-manual", .proof = "sdk: svix@1.99.1 Webhook.verify; docs example (svix-webhooks tests)"},
    {.name = "twilio",            .id_header = "i-twilio-idempotency-token", .needs = S | U, .signature_header = "X-Twilio-Signature",                     .split = {.kind = HB_SPLIT_PLAIN, .prefix = "sha1="},                                              .signed_content = "{url}{form:sorted}",      .algorithm = HB_ALG_SHA1,       .encoding = HB_ENCODING_BASE64,                                                                                                                                                                                       .checks = HB_CHECK_BODY_SHA256, .docs = "https://www.twilio.com/docs/usage/webhooks/webhooks-security", .proof = "sdk: twilio@6.3.1 getExpectedTwilioSignature, validateRequest; docs example (twilio-python tests)"},
    {.name = "zoom",              .id_header = NULL,                         .needs = S,     .signature_header = "X-Zm-Signature",                         .split = {.kind = HB_SPLIT_PLAIN, .required_prefix = "v0="},                                       .signed_content = "v0:{timestamp}:{body}",   .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,    .timestamp_header = "x-zm-request-timestamp",                 .timestamped = 1,                                                                    .handshake = HB_HANDSHAKE_ZOOM, .docs = "https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events", .proof = "sdk: @zoom/rivet@0.4.0 (verifies the events and the url_validation answer)"},
    {.name = "meta",              .id_header = NULL,                         .needs = S | T, .signature_header = "X-Hub-Signature-256",                    .split = {.kind = HB_SPLIT_PLAIN, .prefix = "sha256=", .sign_prefix = 1},                          .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,                                                                                                                                                       .handshake = HB_HANDSHAKE_META, .docs = "https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads", .proof = "docs: the algorithm on the provider's page, recomputed (no SDK here verifies)"},
    {.name = "discord",           .id_header = NULL,                         .needs = P,     .signature_header = "X-Signature-Ed25519",                    .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{timestamp}{body}",       .algorithm = HB_ALG_ED25519,    .encoding = HB_ENCODING_HEX,    .timestamp_header = "x-signature-timestamp",                  .timestamped = 1,                                 .public_key_form = HB_PUBKEY_HEX,  .handshake = HB_HANDSHAKE_DISCORD, .docs = "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers", .proof = "sdk: discord-interactions@4.4.0 verifyKey"},
    {.name = "sendgrid",          .id_header = NULL,                         .needs = P,     .signature_header = "X-Twilio-Email-Event-Webhook-Signature", .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{timestamp}{body}",       .algorithm = HB_ALG_ECDSA_P256, .encoding = HB_ENCODING_BASE64, .timestamp_header = "x-twilio-email-event-webhook-timestamp", .timestamped = 1,                                 .public_key_form = HB_PUBKEY_SPKI, .docs = "https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features", .proof = "sdk: @sendgrid/eventwebhook@8.0.0 verifySignature; docs example (its tests)"},
    {.name = "linear",            .id_header = "linear-delivery",            .needs = S,     .signature_header = "Linear-Signature",                       .split = {.kind = HB_SPLIT_PLAIN, .prefix = "sha256="},                                            .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX, .docs = "https://linear.app/developers/webhooks#securing-webhooks", .proof = "sdk: @linear/sdk@98.0.0 LinearWebhookClient.verify"},
    {.name = "intercom",          .id_header = NULL,                         .needs = S,     .signature_header = "X-Hub-Signature",                        .split = {.kind = HB_SPLIT_PLAIN, .prefix = "sha1=", .sign_prefix = 1},                            .signed_content = "{body}",                  .algorithm = HB_ALG_SHA1,       .encoding = HB_ENCODING_HEX, .docs = "https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications", .proof = "docs: the algorithm on the provider's page, recomputed (no SDK here verifies)"},
    {.name = "paddle",            .id_header = NULL,                         .needs = S,     .signature_header = "Paddle-Signature",                       .split = {.kind = HB_SPLIT_PAIRS, .separator = ';', .timestamp_key = "ts", .signature_key = "h1"}, .signed_content = "{timestamp}:{body}",      .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,                                                                  .timestamped = 1, .docs = "https://developer.paddle.com/webhooks/signature-verification", .proof = "sdk: @paddle/paddle-node-sdk@3.10.0 webhooks.isSignatureValid; docs example (its tests)"},
    {.name = "gitlab",            .id_header = "idempotency-key",            .needs = S,     .signature_header = "X-Gitlab-Token",                         .split = {.kind = HB_SPLIT_TOKEN},                                                                 .signed_content = NULL,                      .algorithm = HB_ALG_NONE, .docs = "https://docs.gitlab.com/user/project/integrations/webhooks/#validate-requests-with-a-secret-token", .proof = "docs: a shared token compared as it is (nothing is signed)"},
    {.name = "mailgun",           .id_header = NULL,                         .needs = S,     .signature_header = NULL,                                     .split = {.kind = HB_SPLIT_BODY},                                                                  .signed_content = "{timestamp}{token}",      .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,                                                                  .timestamped = 1,                                                                                                       .checks = HB_CHECK_TOKEN_REPLAY, .docs = "https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks", .proof = "docs: the algorithm on the provider's page, recomputed (no SDK here verifies)"},
    {.name = "dropbox",           .id_header = NULL,                         .needs = S,     .signature_header = "X-Dropbox-Signature",                    .split = {.kind = HB_SPLIT_PLAIN, .prefix = "sha256="},                                            .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,                                                                                                                                                       .handshake = HB_HANDSHAKE_DROPBOX, .docs = "https://www.dropbox.com/developers/reference/webhooks#notifications", .proof = "docs: the algorithm on the provider's page, recomputed (no SDK here verifies)"},
    /* ---- the presets beyond the first 17: each proven in tests/providers/signers/NAME.mjs ---- */
    {.name = "line",              .id_header = NULL,                         .needs = S,     .signature_header = "X-Line-Signature",                       .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .docs = "https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/", .proof = "sdk: @line/bot-sdk@11.2.0 validateSignature"},
    {.name = "telnyx",            .id_header = NULL,                         .needs = P,     .signature_header = "Telnyx-Signature-Ed25519",               .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{timestamp}|{body}",      .algorithm = HB_ALG_ED25519,    .encoding = HB_ENCODING_BASE64, .timestamp_header = "telnyx-timestamp",                       .timestamped = 1,                                 .public_key_form = HB_PUBKEY_BASE64, .docs = "https://developers.telnyx.com/docs/development/sdk/node/webhooks", .proof = "sdk: telnyx@7.24.0 TelnyxWebhook.verify"},
    /* ---- batch a ---- */
    /* ---- batch b ---- */
    {.name = "hubspot",           .id_header = NULL,                         .needs = S | U, .signature_header = "X-HubSpot-Signature-v3",                 .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{method}{url}{body}{timestamp}", .algorithm = HB_ALG_SHA256, .encoding = HB_ENCODING_BASE64, .timestamp_header = "x-hubspot-request-timestamp", .timestamp_unit = HB_TS_MILLISECONDS, .timestamped = 1, .docs = "https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation", .proof = "sdk: @hubspot/api-client@14.0.1 Signature.isValid (v3)"},
    {.name = "customerio",        .id_header = NULL,                         .needs = S,     .signature_header = "X-CIO-Signature",                        .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "v0:{timestamp}:{body}",   .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,    .timestamp_header = "x-cio-timestamp", .docs = "https://docs.customer.io/api/webhooks/", .proof = "sdk: customerio-node@5.2.0 verifyRequestSignature"},
    {.name = "webex",             .id_header = NULL,                         .needs = S,     .signature_header = "X-Spark-Signature",                      .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{body}",                  .algorithm = HB_ALG_SHA1,       .encoding = HB_ENCODING_HEX, .docs = "https://developer.webex.com/docs/receive-and-verify-webhooks", .proof = "sdk: webex-node-bot-framework@2.3.14 lib/webhook.js"},
    {.name = "nylas",             .id_header = NULL,                         .needs = S,     .signature_header = "x-nylas-signature",                      .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX, .handshake = HB_HANDSHAKE_NYLAS, .docs = "https://developer.nylas.com/docs/developer-guide/v3-webhooks", .proof = "sdk: nylas@6.11.1 WebhookNotification.verifyWebhookSignature"},
    {.name = "x",                 .id_header = NULL,                         .needs = S,     .signature_header = "x-twitter-webhooks-signature",           .split = {.kind = HB_SPLIT_PLAIN, .required_prefix = "sha256="},                                   .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .handshake = HB_HANDSHAKE_X_CRC, .docs = "https://docs.x.com/x-api/webhooks/quickstart", .proof = "sdk: twitter-autohook@1.7.2 validateSignature"},
    {.name = "webflow",           .id_header = NULL,                         .needs = S,     .signature_header = "x-webflow-signature",                    .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{timestamp}:{body}",      .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,    .timestamp_header = "x-webflow-timestamp", .timestamp_unit = HB_TS_MILLISECONDS, .timestamped = 1, .docs = "https://developers.webflow.com/data/docs/working-with-webhooks#validating-request-signatures", .proof = "sdk: webflow-api@3.3.4 WebflowClient webhooks.verifySignature"},
    {.name = "notion",            .id_header = NULL,                         .needs = S,     .signature_header = "X-Notion-Signature",                     .split = {.kind = HB_SPLIT_PLAIN, .required_prefix = "sha256="},                                   .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX, .docs = "https://developers.notion.com/reference/webhooks#step-3-validating-event-payloads-recommended", .proof = "sdk: @notionhq/client@5.26.0 verifyWebhookSignature"},
    /* ---- batch c ---- */
    /* ---- batch d ---- */
    /* ---- batch e ---- */
    {.name = "workos",            .id_header = NULL,                         .needs = S,     .signature_header = "WorkOS-Signature",                       .split = {.kind = HB_SPLIT_PAIRS, .separator = ',', .timestamp_key = "t", .signature_key = "v1"},  .signed_content = "{timestamp}.{body}",      .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,       .timestamp_unit = HB_TS_MILLISECONDS, .timestamped = 1, .tolerance_s = 180, .docs = "https://workos.com/docs/events/data-syncing/webhooks", .proof = "sdk: @workos-inc/node@8.8.0 webhooks.constructEvent"},
    {.name = "onfido",            .id_header = NULL,                         .needs = S,     .signature_header = "X-SHA2-Signature",                       .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX, .docs = "https://documentation.identity.entrust.com/api/manual-webhook-signature-verification/", .proof = "sdk: @onfido/api@6.2.0 WebhookEventVerifier.readPayload"},
    {.name = "checkr",            .id_header = NULL,                         .needs = S,     .signature_header = "X-Checkr-Signature",                     .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX, .docs = "https://docs.checkr.com/apis/webhooks", .proof = "docs example: https://github.com/checkr/webhook-verification-examples/blob/089eea159680b7f48e99219826b1e6e3826026b6/verify_signature.js"},
    {.name = "sanity",            .id_header = NULL,                         .needs = S,     .signature_header = "sanity-webhook-signature",               .split = {.kind = HB_SPLIT_PAIRS, .separator = ',', .timestamp_key = "t", .signature_key = "v1"},  .signed_content = "{timestamp}.{body}",      .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64URL, .timestamp_unit = HB_TS_MILLISECONDS, .docs = "https://www.sanity.io/docs/webhooks", .proof = "sdk: @sanity/webhook@4.0.4 isValidSignature"},
    {.name = "mux",               .id_header = NULL,                         .needs = S,     .signature_header = "Mux-Signature",                          .split = {.kind = HB_SPLIT_PAIRS, .separator = ',', .timestamp_key = "t", .signature_key = "v1"},  .signed_content = "{timestamp}.{body}",      .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,                                                                  .timestamped = 1, .docs = "https://www.mux.com/docs/core/verify-webhook-signatures", .proof = "sdk: @mux/mux-node@15.3.0 webhooks.verifySignature"},
    /* ---- batch f ---- */
    {.name = "clerk",             .id_header = "svix-id",                    .needs = S,     .signature_header = "svix-signature",                         .split = {.kind = HB_SPLIT_LIST, .separator = ' ', .signature_key = "v1"},                         .signed_content = "{id}.{timestamp}.{body}", .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .timestamp_header = "svix-timestamp",                         .timestamped = 1, .secret_form = HB_SECRET_WHSEC, .docs = "https://clerk.com/docs/reference/backend/verify-webhook", .proof = "sdk: @clerk/backend@3.25.0 verifyWebhook"},
    {.name = "resend",            .id_header = "svix-id",                    .needs = S,     .signature_header = "svix-signature",                         .split = {.kind = HB_SPLIT_LIST, .separator = ' ', .signature_key = "v1"},                         .signed_content = "{id}.{timestamp}.{body}", .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .timestamp_header = "svix-timestamp",                         .timestamped = 1, .secret_form = HB_SECRET_WHSEC, .docs = "https://resend.com/docs/webhooks/verify-webhooks-requests", .proof = "sdk: resend@6.38.0 webhooks.verify"},
    {.name = "replicate",         .id_header = "webhook-id",                 .needs = S,     .signature_header = "webhook-signature",                      .split = {.kind = HB_SPLIT_LIST, .separator = ' ', .signature_key = "v1"},                         .signed_content = "{id}.{timestamp}.{body}", .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .timestamp_header = "webhook-timestamp",                      .timestamped = 1, .secret_form = HB_SECRET_WHSEC, .docs = "https://replicate.com/docs/topics/webhooks/verify-webhook", .proof = "sdk: replicate@1.4.0 validateWebhook"},
    {.name = "openai",            .id_header = "webhook-id",                 .needs = S,     .signature_header = "webhook-signature",                      .split = {.kind = HB_SPLIT_LIST, .separator = ' ', .signature_key = "v1"},                         .signed_content = "{id}.{timestamp}.{body}", .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .timestamp_header = "webhook-timestamp",                      .timestamped = 1, .secret_form = HB_SECRET_WHSEC, .docs = "https://platform.openai.com/docs/guides/webhooks", .proof = "sdk: openai@7.60.0 webhooks.verifySignature"},
    {.name = "supabase",          .id_header = "webhook-id",                 .needs = S,     .signature_header = "webhook-signature",                      .split = {.kind = HB_SPLIT_LIST, .separator = ' ', .signature_key = "v1"},                         .signed_content = "{id}.{timestamp}.{body}", .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .timestamp_header = "webhook-timestamp",                      .timestamped = 1, .secret_form = HB_SECRET_WHSEC, .docs = "https://supabase.com/docs/guides/auth/auth-hooks", .proof = "sdk: standardwebhooks@1.1.1 Webhook.verify (the scheme of https://supabase.com/docs/guides/auth/auth-hooks)"},
    {.name = "render",            .id_header = "webhook-id",                 .needs = S,     .signature_header = "webhook-signature",                      .split = {.kind = HB_SPLIT_LIST, .separator = ' ', .signature_key = "v1"},                         .signed_content = "{id}.{timestamp}.{body}", .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .timestamp_header = "webhook-timestamp",                      .timestamped = 1, .secret_form = HB_SECRET_WHSEC, .docs = "https://render.com/docs/webhooks", .proof = "sdk: standardwebhooks@1.1.1 Webhook.verify (the scheme of https://render.com/docs/webhooks)"},
    {.name = "loops",             .id_header = "webhook-id",                 .needs = S,     .signature_header = "webhook-signature",                      .split = {.kind = HB_SPLIT_LIST, .separator = ' ', .signature_key = "v1"},                         .signed_content = "{id}.{timestamp}.{body}", .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_BASE64, .timestamp_header = "webhook-timestamp",                      .timestamped = 1, .secret_form = HB_SECRET_WHSEC, .docs = "https://loops.so/docs/webhooks", .proof = "sdk: standardwebhooks@1.1.1 Webhook.verify (the scheme of https://loops.so/docs/webhooks)"},
    {.name = "segment",           .id_header = NULL,                         .needs = S,     .signature_header = "X-Signature",                            .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{body}",                  .algorithm = HB_ALG_SHA1,       .encoding = HB_ENCODING_HEX,    .docs = "https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook", .proof = "sdk: @segment/action-destinations@3.387.0 webhook extendRequest (Segment's own signer)"},
    {.name = "pusher",            .id_header = NULL,                         .needs = S,     .signature_header = "X-Pusher-Signature",                     .split = {.kind = HB_SPLIT_PLAIN},                                                                 .signed_content = "{body}",                  .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,    .docs = "https://pusher.com/docs/channels/server_api/webhooks/", .proof = "sdk: pusher@5.3.4 webhook().isValid"},
    {.name = "elevenlabs",        .id_header = NULL,                         .needs = S,     .signature_header = "ElevenLabs-Signature",                   .split = {.kind = HB_SPLIT_PAIRS, .separator = ',', .timestamp_key = "t", .signature_key = "v0"},  .signed_content = "{timestamp}.{body}",      .algorithm = HB_ALG_SHA256,     .encoding = HB_ENCODING_HEX,                                                                  .timestamped = 1, .tolerance_s = 1800, .docs = "https://elevenlabs.io/docs/product-guides/administration/webhooks", .proof = "sdk: @elevenlabs/elevenlabs-js@2.73.0 webhooks.constructEvent"},
};
/* clang-format on */
#undef S
#undef P
#undef E
#undef U
#undef T

const hb_scheme_t *hb_scheme_find(const char *name)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(hb_schemes); i++)
        if (strcmp(hb_schemes[i].name, name) == 0)
            return &hb_schemes[i];
    return NULL;
}

const hb_scheme_t *hb_scheme_at(size_t i)
{
    return i < HB_ARRAY_SIZE(hb_schemes) ? &hb_schemes[i] : NULL;
}

/* The names, joined once: written by the one call that runs hb_names_build, read-only afterwards. */
static pthread_once_t hb_names_once = PTHREAD_ONCE_INIT;
static char *hb_names;

static void hb_names_build(void)
{
    hb_buf_t b;
    hb_buf_init(&b);
    for (size_t i = 0; i < HB_ARRAY_SIZE(hb_schemes); i++)
        hb_buf_printf(&b, "%s%s", i > 0 ? ", " : "", hb_schemes[i].name);
    hb_names = hb_buf_release(&b);
}

const char *hb_scheme_names(void)
{
    pthread_once(&hb_names_once, hb_names_build);
    return hb_names;
}

/* ---- the vocabulary ---- */

const char *const hb_scheme_split_words[] = {
    [HB_SPLIT_PLAIN] = "plain", [HB_SPLIT_PAIRS] = "pairs", [HB_SPLIT_LIST] = "list",
    [HB_SPLIT_TOKEN] = "token", [HB_SPLIT_BODY] = "body",   NULL};
const char *const hb_scheme_algorithm_words[] = {[HB_ALG_NONE] = "none",
                                                 [HB_ALG_SHA1] = "sha1",
                                                 [HB_ALG_SHA256] = "sha256",
                                                 [HB_ALG_SHA512] = "sha512",
                                                 [HB_ALG_ED25519] = "ed25519",
                                                 [HB_ALG_ECDSA_P256] = "ecdsa-p256",
                                                 NULL};
const char *const hb_scheme_encoding_words[] = {
    [HB_ENCODING_HEX] = "hex", [HB_ENCODING_BASE64] = "base64", [HB_ENCODING_BASE64URL] = "base64url", NULL};
const char *const hb_scheme_secret_form_words[] = {
    [HB_SECRET_RAW] = "raw", [HB_SECRET_WHSEC] = "whsec", [HB_SECRET_HEX] = "hex", [HB_SECRET_BASE64] = "base64", NULL};
const char *const hb_scheme_public_key_form_words[] = {[HB_PUBKEY_NONE] = "none",
                                                       [HB_PUBKEY_HEX] = "hex",
                                                       [HB_PUBKEY_WHPK] = "whpk",
                                                       [HB_PUBKEY_SPKI] = "spki",
                                                       [HB_PUBKEY_BASE64] = "base64",
                                                       [HB_PUBKEY_PEM] = "pem",
                                                       NULL};
const char *const hb_scheme_timestamp_unit_words[] = {
    [HB_TS_SECONDS] = "seconds", [HB_TS_MILLISECONDS] = "milliseconds", [HB_TS_RFC3339] = "rfc3339", NULL};
const char *const hb_scheme_handshake_words[] = {[HB_HANDSHAKE_NONE] = "none",
                                                 [HB_HANDSHAKE_SLACK] = "slack",
                                                 [HB_HANDSHAKE_ZOOM] = "zoom",
                                                 [HB_HANDSHAKE_META] = "meta",
                                                 [HB_HANDSHAKE_DISCORD] = "discord",
                                                 [HB_HANDSHAKE_DROPBOX] = "dropbox",
                                                 [HB_HANDSHAKE_TWITCH] = "twitch",
                                                 [HB_HANDSHAKE_X_CRC] = "x-crc",
                                                 [HB_HANDSHAKE_NYLAS] = "nylas",
                                                 [HB_HANDSHAKE_OKTA] = "okta",
                                                 NULL};
/* flags: the word of bit i */
const char *const hb_scheme_needs_words[] = {"secret", "publicKey", "keyEither", "publicUrl", "verifyToken", NULL};
const char *const hb_scheme_check_words[] = {"bodySHA256", "tokenReplay", NULL};

static const char *const *const hb_fields[] = {
    [HB_FIELD_SPLIT] = hb_scheme_split_words,
    [HB_FIELD_ALGORITHM] = hb_scheme_algorithm_words,
    [HB_FIELD_ENCODING] = hb_scheme_encoding_words,
    [HB_FIELD_SECRET_FORM] = hb_scheme_secret_form_words,
    [HB_FIELD_PUBLIC_KEY_FORM] = hb_scheme_public_key_form_words,
    [HB_FIELD_TIMESTAMP_UNIT] = hb_scheme_timestamp_unit_words,
    [HB_FIELD_HANDSHAKE] = hb_scheme_handshake_words,
    [HB_FIELD_NEEDS] = hb_scheme_needs_words,
    [HB_FIELD_CHECKS] = hb_scheme_check_words,
};

/* The words of field, or NULL when it is none. */
static const char *const *hb_field_words(hb_scheme_field_t field)
{
    return (size_t)field < HB_ARRAY_SIZE(hb_fields) ? hb_fields[field] : NULL;
}

const char *hb_scheme_word(hb_scheme_field_t field, int value)
{
    const char *const *w = hb_field_words(field);
    for (int i = 0; w != NULL && value >= 0 && w[i] != NULL; i++)
        if (i == value)
            return w[i];
    return NULL;
}

int hb_scheme_value(hb_scheme_field_t field, const char *word)
{
    const char *const *w = hb_field_words(field);
    for (int i = 0; w != NULL && w[i] != NULL; i++)
        if (strcmp(w[i], word) == 0)
            return i;
    return -1;
}

const char *hb_scheme_words(hb_scheme_field_t field, char *buf, size_t size)
{
    const char *const *w = hb_field_words(field);
    size_t off = 0;
    if (size > 0)
        buf[0] = '\0';
    for (size_t i = 0; w != NULL && w[i] != NULL && off < size; i++) {
        int n = snprintf(buf + off, size - off, "%s%s", i > 0 ? ", " : "", w[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    return buf;
}

/* ---- the template of what is signed ---- */

static const struct {
    const char *name;
    hb_part_kind_t kind;
} hb_part_names[] = {
    {"body", HB_PART_BODY},
    {"timestamp", HB_PART_TIMESTAMP},
    {"id", HB_PART_ID},
    {"url", HB_PART_URL},
    {"form:sorted", HB_PART_FORM_SORTED},
    {"token", HB_PART_TOKEN},
    {"method", HB_PART_METHOD},
    {"path", HB_PART_PATH},
    {"header:NAME", HB_PART_HEADER}, /* (read by hand) */
};

/* The kind named by name[0..len), or -1. {header:NAME}: a header name of token characters after "header:". */
static int hb_part_lookup(const char *name, size_t len)
{
    if (len > 7 && memcmp(name, "header:", 7) == 0) {
        for (size_t i = 7; i < len; i++)
            if (!isalnum((unsigned char)name[i]) && strchr("!#$%&'*+-.^_`|~", name[i]) == NULL)
                return -1;
        return HB_PART_HEADER;
    }
    for (size_t i = 0; i < HB_ARRAY_SIZE(hb_part_names) - 1; i++)
        if (strlen(hb_part_names[i].name) == len && memcmp(hb_part_names[i].name, name, len) == 0)
            return (int)hb_part_names[i].kind;
    return -1;
}

/* Appends a part; 0, or -1 with the reason when max parts are there already. */
static int hb_part_push(hb_scheme_part_t *parts, size_t max, size_t *n, hb_scheme_part_t part, char *err, size_t errlen)
{
    if (*n == max) {
        snprintf(err, errlen, "signed content has more than %zu parts", max);
        return -1;
    }
    parts[(*n)++] = part;
    return 0;
}

int hb_scheme_template_parse(const char *text, hb_scheme_part_t *parts, size_t max, char *err, size_t errlen)
{
    size_t n = 0, len = text != NULL ? strlen(text) : 0;
    int form_seen = 0;
    if (len == 0) {
        snprintf(err, errlen, "signed content is empty (write the parts that are signed, such as {body})");
        return -1;
    }
    for (size_t i = 0; i < len;) {
        if (text[i] == '}') {
            snprintf(err, errlen, "signed content \"%s\": the '}' at character %zu closes no '{'", text, i + 1);
            return -1;
        }
        if (text[i] != '{') { /* literal text up to the next brace */
            size_t end = i + strcspn(text + i, "{}");
            if (hb_part_push(parts, max, &n, (hb_scheme_part_t){HB_PART_LITERAL, text + i, end - i}, err, errlen) != 0)
                return -1;
            i = end;
            continue;
        }
        size_t close = i + 1 + strcspn(text + i + 1, "{}");
        if (text[close] != '}') {
            snprintf(err, errlen, "signed content \"%s\": the '{' at character %zu is not closed", text, i + 1);
            return -1;
        }
        int kind = hb_part_lookup(text + i + 1, close - i - 1);
        if (kind < 0) {
            char known[160] = "";
            for (size_t k = 0, off = 0; k < HB_ARRAY_SIZE(hb_part_names) && off < sizeof(known); k++)
                off += (size_t)snprintf(known + off, sizeof(known) - off, "%s{%s}", k > 0 ? ", " : "",
                                        hb_part_names[k].name);
            snprintf(err, errlen, "signed content \"%s\": unknown part {%.*s} (known: %s)", text, (int)(close - i - 1),
                     text + i + 1, known);
            return -1;
        }
        if (kind == HB_PART_FORM_SORTED && form_seen++) {
            snprintf(err, errlen, "signed content \"%s\": {form:sorted} may appear once", text);
            return -1;
        }
        hb_scheme_part_t part = {(hb_part_kind_t)kind, text + i, close + 1 - i};
        if (kind == HB_PART_HEADER) /* the part's text is the header's name */
            part = (hb_scheme_part_t){HB_PART_HEADER, text + i + 8, close - i - 8};
        if (hb_part_push(parts, max, &n, part, err, errlen) != 0)
            return -1;
        i = close + 1;
    }
    return (int)n;
}

/* ---- as JSON ---- */

static void hb_json_member(hb_buf_t *out, int *first, const char *key)
{
    hb_buf_printf(out, "%s\"%s\":", *first ? "" : ",", key);
    *first = 0;
}

static void hb_json_str_member(hb_buf_t *out, int *first, const char *key, const char *value)
{
    if (value == NULL)
        return;
    hb_json_member(out, first, key);
    hb_json_cstr(out, value);
}

/* A word member, left out at the field's default (value 0) unless always. */
static void hb_json_word_member(hb_buf_t *out, int *first, const char *key, hb_scheme_field_t field, int value,
                                int always)
{
    if (value != 0 || always)
        hb_json_str_member(out, first, key, hb_scheme_word(field, value));
}

/* The words of the set bits of flags, as a JSON list. */
static void hb_json_flags(hb_buf_t *out, hb_scheme_field_t field, unsigned flags)
{
    hb_buf_putc(out, '[');
    for (int bit = 0, n = 0; hb_scheme_word(field, bit) != NULL; bit++)
        if (flags & (1u << bit)) {
            hb_buf_puts(out, n++ > 0 ? "," : "");
            hb_json_cstr(out, hb_scheme_word(field, bit));
        }
    hb_buf_putc(out, ']');
}

static void hb_split_json(const hb_split_t *sp, hb_buf_t *out)
{
    int first = 1;
    hb_buf_putc(out, '{');
    hb_json_word_member(out, &first, "kind", HB_FIELD_SPLIT, (int)sp->kind, 1);
    hb_json_str_member(out, &first, "prefix", sp->prefix);
    if (sp->sign_prefix) {
        hb_json_member(out, &first, "signPrefix");
        hb_buf_puts(out, "true");
    }
    hb_json_str_member(out, &first, "requiredPrefix", sp->required_prefix);
    if (sp->separator != '\0') {
        char sep[2] = {sp->separator, '\0'};
        hb_json_str_member(out, &first, "separator", sep);
    }
    hb_json_str_member(out, &first, "timestampKey", sp->timestamp_key);
    hb_json_str_member(out, &first, "signatureKey", sp->signature_key);
    hb_json_str_member(out, &first, "ed25519Key", sp->ed25519_key);
    hb_buf_putc(out, '}');
}

void hb_scheme_json(const hb_scheme_t *s, int info, hb_buf_t *out)
{
    int first = 1;
    hb_buf_putc(out, '{');
    hb_json_str_member(out, &first, "name", s->name);
    if (info) {
        static const char *const keys[] = {"secret", "publicKey", "secret or publicKey"};
        unsigned n = s->needs;
        hb_json_str_member(out, &first, "key",
                           keys[(n & HB_PRESET_PUBLIC_KEY)   ? 1
                                : (n & HB_PRESET_KEY_EITHER) ? 2
                                                             : 0]);
        hb_json_member(out, &first, "needs");
        hb_json_flags(out, HB_FIELD_NEEDS, n);
        hb_json_member(out, &first, "tolerance");
        hb_buf_printf(out, "\"%us\"", s->tolerance_s != 0 ? s->tolerance_s : 300);
        hb_json_str_member(out, &first, "docs", s->docs);
        hb_json_str_member(out, &first, "proof", s->proof);
    }
    hb_json_str_member(out, &first, "signatureHeader", s->signature_header);
    hb_json_str_member(out, &first, "idHeader", s->id_header);
    hb_json_member(out, &first, "split");
    hb_split_json(&s->split, out);
    hb_json_str_member(out, &first, "signed", s->signed_content);
    hb_json_word_member(out, &first, "algorithm", HB_FIELD_ALGORITHM, (int)s->algorithm, 1);
    hb_json_word_member(out, &first, "encoding", HB_FIELD_ENCODING, (int)s->encoding, info);
    hb_json_word_member(out, &first, "secretForm", HB_FIELD_SECRET_FORM, (int)s->secret_form, info);
    hb_json_word_member(out, &first, "publicKeyForm", HB_FIELD_PUBLIC_KEY_FORM, (int)s->public_key_form, info);
    hb_json_str_member(out, &first, "timestampHeader", s->timestamp_header);
    hb_json_word_member(out, &first, "timestampUnit", HB_FIELD_TIMESTAMP_UNIT, (int)s->timestamp_unit, info);
    if (s->timestamped || info) {
        hb_json_member(out, &first, "timestamped");
        hb_buf_puts(out, s->timestamped ? "true" : "false");
    }
    hb_json_word_member(out, &first, "handshake", HB_FIELD_HANDSHAKE, (int)s->handshake, info);
    if (s->checks != 0 || info) {
        hb_json_member(out, &first, "checks");
        hb_json_flags(out, HB_FIELD_CHECKS, s->checks);
    }
    hb_buf_putc(out, '}');
}
