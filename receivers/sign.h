/* Webhook signing (OpenSSL libcrypto): HMAC-SHA256, Base64 and URL
 * encoding as DingTalk and Feishu want them. */
#ifndef INDICATORD_SIGN_H
#define INDICATORD_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* Base64(HMAC_SHA256(key, msg)) into out (at least 45 bytes). */
void sign_hmac_b64(const char *key, size_t keylen, const char *msg,
                   size_t msglen, char *out);
/* DingTalk: key = secret, message = timestamp_ms + "\n" + secret;
 * returns the URL-encoded signature (caller frees). */
char *sign_dingtalk(const char *secret, int64_t timestamp_ms);
/* Feishu/Lark: key = timestamp_s + "\n" + secret, empty message; returns
 * the raw Base64 signature (caller frees). */
char *sign_feishu(const char *secret, int64_t timestamp_s);
/* Percent-encodes everything but unreserved characters (caller frees). */
char *sign_urlencode(const char *s);

#endif
