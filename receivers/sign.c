#include "sign.h"

#include "util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

void sign_hmac_b64(const char *key, size_t keylen, const char *msg,
                   size_t msglen, char *out) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, msglen, mac,
       &maclen);
  EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
}

char *sign_urlencode(const char *s) {
  struct strbuf sb = {0};
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
        (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
        *p == '~')
      strbuf_add(&sb, (const char *)p, 1);
    else
      strbuf_addf(&sb, "%%%02X", *p);
  }
  return strbuf_take(&sb);
}

char *sign_dingtalk(const char *secret, int64_t timestamp_ms) {
  char *sts = xasprintf("%lld\n%s", (long long)timestamp_ms, secret);
  char b64[64];
  sign_hmac_b64(secret, strlen(secret), sts, strlen(sts), b64);
  free(sts);
  return sign_urlencode(b64);
}

char *sign_feishu(const char *secret, int64_t timestamp_s) {
  /* Feishu's own sample uses the string-to-sign as the key and signs an
   * empty message: not the DingTalk way. */
  char *sts = xasprintf("%lld\n%s", (long long)timestamp_s, secret);
  char b64[64];
  sign_hmac_b64(sts, strlen(sts), "", 0, b64);
  free(sts);
  return xstrdup(b64);
}
