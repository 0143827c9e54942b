/* Chat and alert receivers: one small interface, one file per provider.
 * A provider turns a notification into a request (URL, JSON body, signed
 * where the provider signs) and judges the provider's answer: success is
 * read from the body, not only the status (DingTalk, WeCom and Feishu
 * report errors inside HTTP 200). */
#ifndef INDICATORD_RECEIVER_H
#define INDICATORD_RECEIVER_H

#include "config.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A notification as the alert engine writes it; providers format it. */
struct alert_msg {
  const char *id;       /* notification id, stable across retries */
  const char *incident; /* incident id; "" for digests and tests */
  const char *kind;     /* open, update, reminder, resolved, digest, test */
  const char *target;   /* target id; "" for digests and tests */
  const char *title;    /* one line, keyword first */
  const char *text;     /* the body, plain text, lines */
  const char *cls;      /* class name (the Alertmanager label) */
  const char *prev_cls; /* class the incident had before ("" if none) */
  const char *severity; /* critical, warning, info */
  bool firing;          /* still open */
  int64_t starts_ms, ends_ms;
  const char *link; /* dashboard_url or NULL */
};

enum receiver_verdict { RECEIVER_OK, RECEIVER_RETRY, RECEIVER_GIVE_UP };

struct receiver_request {
  char *url;  /* caller frees; a secret */
  char *body; /* caller frees */
};

/* A receiver type: one per provider file, listed in receiver_types. The
 * configuration reads its name and the keys it takes from here. */
struct receiver_ops {
  const char *name;  /* type: in the configuration */
  size_t max_text;   /* provider limit for the text */
  bool max_in_bytes; /* the limit counts bytes, not characters */
  double per_second; /* rate limits; 0: none */
  double per_minute;
  bool takes_secret;   /* signs messages with secret: (or secret_file:) */
  bool needs_chat_id;  /* needs chat_id: (and is the only one taking it) */
  bool resends_firing; /* firing alerts are re-sent while they are open, so
                          that the receiver does not let them expire */
  /* Builds the request for m at now_ms. Returns 0 or a negative code. */
  int (*build)(const struct receiver *r, const struct alert_msg *m,
               int64_t now_ms, struct receiver_request *out);
  /* Judges an HTTP answer; *retry_after_ms may be raised. */
  enum receiver_verdict (*judge)(long http, const char *body, size_t len,
                                 int64_t *retry_after_ms, char *why,
                                 size_t whylen);
};

/* Every receiver type, in the order the documentation lists them;
 * NULL-terminated. Adding a provider: its file, its entry here. */
extern const struct receiver_ops *const receiver_types[];
/* The type named name, or NULL. */
const struct receiver_ops *receiver_find(const char *name);

/* The text cut to max (bytes or characters) on a UTF-8 boundary, with a
 * visible "…(truncated)" when cut. Caller frees. */
char *receiver_truncate(const char *text, size_t max, bool in_bytes);
/* title + "\n" + text, cut to the provider's limit. Caller frees. */
char *receiver_full_text(const struct receiver_ops *ops,
                         const struct alert_msg *m);
/* RFC 3339 UTC ("2026-11-28T01:00:00Z") into buf. */
void receiver_rfc3339(int64_t ms, char *buf, size_t len);
/* Fills out with url (copied) and the JSON body, and releases body.
 * Returns 0 or -ENOMEM. */
int receiver_request_json(struct receiver_request *out, const char *url,
                          json_t *body);
/* A judge for providers whose status code says it all (any 2xx). */
enum receiver_verdict receiver_judge_status(long http, const char *body,
                                            size_t len, int64_t *retry_after_ms,
                                            char *why, size_t whylen);
/* Verdict helpers shared by providers. */
enum receiver_verdict receiver_judge_http(long http, int64_t *retry_after_ms,
                                          char *why, size_t whylen);
/* For bodies like {"errcode":0} / {"code":0}: reads an integer field.
 * Returns false when the body is not JSON or lacks it. */
bool receiver_json_int(const char *body, size_t len, const char *field,
                       long long *out);

/* Providers that answer HTTP 200 with a JSON code (DingTalk errcode,
 * WeCom errcode, Feishu code): 0 is success; a code listed in retry is
 * retried after at least its wait; any other code is given up. */
struct receiver_retry_code {
  long long code;
  int64_t wait_ms;
};
enum receiver_verdict
receiver_judge_code(const char *provider, const char *field,
                    const struct receiver_retry_code *retry, size_t nretry,
                    long http, const char *body, size_t len,
                    int64_t *retry_after_ms, char *why, size_t whylen);

extern const struct receiver_ops slack_ops, discord_ops, teams_ops, feishu_ops,
    dingtalk_ops, wecom_ops, telegram_ops, webhook_ops, alertmanager_ops;

#endif
