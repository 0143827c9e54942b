/* What the store writes for the other modules: observations (upserted by
 * the Lua script, a batch per call), each feed's status per series, single
 * upserts (ind:p:<target>) and retention trims, with the keys and numbers
 * they are written with. All of it goes through store_command's one
 * ordered queue. */
#include "store.h"

#include "clock.h"
#include "timefmt.h"
#include "tz.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIM_EVERY_MS (10 * MS_PER_MINUTE)
#define STATUS_EVERY_MS MS_PER_MINUTE

/* Observations per script call: bounds one call's work inside Redis. */
#define UPSERT_BATCH 256

/* v's decimal digits into buf (room for 17 bytes); v is a whole number
 * of at most 15 digits. */
static void format_whole(double v, char *buf) {
  long long i = (long long)v;
  unsigned long long u = i < 0 ? (unsigned long long)-i : (unsigned long long)i;
  char digits[16];
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (i < 0)
    *buf++ = '-';
  while (n)
    *buf++ = digits[--n];
  *buf = '\0';
}

void store_format_value(double v, char *buf, size_t len) {
  /* Whole numbers below 10^15 come out of %.15g as their digits and read
   * back exactly: written directly, since counts are common and snprintf
   * with strtod cost about 2,400 instructions a value. -0 goes the long
   * way to keep its sign. */
  if (len >= 17 && v > -1e15 && v < 1e15 && v == (double)(long long)v &&
      (v != 0 || !signbit(v))) {
    format_whole(v, buf);
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

char *store_key(const struct store *s, const char *kind, const char *id) {
  /* Joined by hand: four keys per fetch, and formatting them showed in
   * profiles. */
  const char *prefix = s->cfg->redis.prefix;
  size_t pl = strlen(prefix), kl = strlen(kind), il = id ? strlen(id) + 1 : 0;
  char *key = xmalloc(pl + kl + il + 1);
  memcpy(key, prefix, pl);
  memcpy(key + pl, kind, kl);
  if (id) {
    key[pl + kl] = ':';
    memcpy(key + pl + kl + 1, id, il - 1);
  }
  key[pl + kl + il] = '\0';
  return key;
}

/* The evaluator counts staleness from the end of the period an observation
 * describes, which the stored time alone does not tell for period labels
 * placed at their start ("2026-10" of an instant series stands at Oct 1):
 * the series' grain is kept in its meta hash, written when it changes. */
static void note_grain(struct store *s, const struct feed *feed, size_t j,
                       const char *meta, enum timefmt_grain grain) {
  size_t fi = (size_t)(feed - s->cfg->feeds);
  unsigned char *at;
  if (fi >= s->cfg->nfeeds)
    return;
  at = &s->grain_written[s->feed_base[fi] + j];
  if (*at == (unsigned char)(grain + 1))
    return;
  *at = (unsigned char)(grain + 1);
  {
    const char *argv[] = {"HSET", meta, "grain", timefmt_grain_name(grain)};
    store_command(s, 4, argv, NULL);
  }
}

/* The start of the local day of ms (the config's time zone). */
static int64_t day_start(int64_t ms) {
  struct civil c, d = {0};
  tz_ms_to_local(ms, &c);
  d.year = c.year;
  d.month = c.month;
  d.day = c.day;
  return tz_local_to_ms(&d);
}

/* Trims a series to its retention at most every TRIM_EVERY_MS: XTRIM MINID
 * is cheap, but not needed on every write. The cut falls at the start of
 * a local day (keeping up to a day more): the evaluator keeps a target's
 * data as per-day aggregates and can drop whole days, where a cut inside
 * a day would make it read the series again (contract §5). */
static void maybe_trim(struct store *s, const struct feed *feed, size_t j) {
  const struct feed_series *fs = &feed->series[j];
  size_t fi = (size_t)(feed - s->cfg->feeds);
  uint64_t now = uv_now(s->loop), *at;
  char minid[32];
  char *key, *log;
  if (!fs->meta.retention_ms || fi >= s->cfg->nfeeds)
    return;
  at = &s->trimmed_at[s->feed_base[fi] + j];
  if (*at && now - *at < TRIM_EVERY_MS)
    return;
  *at = now ? now : 1;
  key = store_key(s, "s", fs->id);
  log = store_key(s, STORE_LOG_KEY, NULL);
  snprintf(minid, sizeof(minid), "%lld",
           (long long)day_start(clock_wall_ms() - fs->meta.retention_ms));
  {
    const char *argv[] = {"EVALSHA", s->sha_trim, "2",    key,
                          log,       minid,       fs->id, s->writer};
    store_command(s, 8, argv, NULL);
  }
  free(key);
  free(log);
}

void store_observations(struct store *s, const struct feed *feed,
                        const struct observation *obs, size_t n) {
  char *latest = store_key(s, "latest", NULL);
  char *set = store_key(s, "series", NULL);
  char *log = store_key(s, STORE_LOG_KEY, NULL);
  int64_t now = clock_wall_ms();
  /* Sized to the batch: most fetches bring one observation per series,
   * and zeroing room for a full batch on every call showed in profiles. */
  size_t batch = n < UPSERT_BATCH ? (n ? n : 1) : UPSERT_BATCH;
  const char **argv = xmalloc((10 + 3 * batch) * sizeof(*argv));
  char(*ms)[24] = xmalloc(batch * sizeof(*ms));
  char(*iso)[40] = xmalloc(batch * sizeof(*iso));
  char(*val)[40] = xmalloc(batch * sizeof(*val));
  /* One script call per series and up to UPSERT_BATCH observations, each
   * series' observations in the order the feed gave them. */
  for (size_t j = 0; j < feed->nseries; j++) {
    const struct feed_series *fs = &feed->series[j];
    char *stream = store_key(s, "s", fs->id);
    char *meta = store_key(s, "m", fs->id);
    size_t k = 0, any = 0;
    const struct observation *newest = NULL;
    for (size_t i = 0; i <= n; i++) {
      bool flush = i == n || k == batch;
      if (flush && k) {
        argv[0] = "EVALSHA";
        argv[1] = s->sha_many;
        argv[2] = "5";
        argv[3] = stream;
        argv[4] = meta;
        argv[5] = latest;
        argv[6] = set;
        argv[7] = log;
        argv[8] = fs->id;
        argv[9] = s->writer;
        store_command(s, (int)(10 + 3 * k), argv, NULL);
        k = 0;
      }
      if (i == n)
        break;
      if (obs[i].series != fs->id && strcmp(obs[i].series, fs->id) != 0)
        continue;
      any++;
      if (!newest || obs[i].time_ms >= newest->time_ms)
        newest = &obs[i];
      /* A feed that re-publishes its history must not bring back what
       * retention trimmed. */
      if (fs->meta.retention_ms && obs[i].time_ms < now - fs->meta.retention_ms)
        continue;
      snprintf(ms[k], sizeof(ms[k]), "%lld", (long long)obs[i].time_ms);
      timefmt_iso(obs[i].time_ms, iso[k], sizeof(iso[k]));
      store_format_value(obs[i].value, val[k], sizeof(val[k]));
      argv[10 + 3 * k] = ms[k];
      argv[11 + 3 * k] = iso[k];
      argv[12 + 3 * k] = val[k];
      k++;
      s->stats.observations++;
    }
    if (any) {
      note_grain(s, feed, j, meta, newest->grain);
      maybe_trim(s, feed, j);
    }
    free(stream);
    free(meta);
  }
  free(argv);
  free(ms);
  free(iso);
  free(val);
  free(latest);
  free(set);
  free(log);
}

/* FNV-1a over the errors a status carries; 0 when there are none. */
static uint64_t errors_print(const struct feed *feed, const char *error,
                             const char *const *series_errors) {
  uint64_t h = 14695981039346656037ull;
  bool any = false;
  for (size_t i = 0; i <= feed->nseries; i++) {
    const char *e = i == 0                    ? error
                    : series_errors && !error ? series_errors[i - 1]
                                              : NULL;
    if (!e)
      continue;
    any = true;
    for (const char *p = e; *p; p++) {
      h ^= (unsigned char)*p;
      h *= 1099511628211ull;
    }
    h ^= i + 1;
    h *= 1099511628211ull;
  }
  return any ? (h ? h : 1) : 0;
}

void store_feed_status(struct store *s, const struct feed *feed,
                       int64_t fetch_ms, const char *error,
                       const char *const *series_errors) {
  char when[40];
  size_t fi = (size_t)(feed - s->cfg->feeds);
  /* last_fetch moves on every fetch; writing it at most once a minute
   * (and at once when the errors change: a feed or series starts or stops
   * failing) saves a write per observation at high rates. */
  if (fi < s->cfg->nfeeds) {
    uint64_t now = uv_now(s->loop);
    uint64_t print = errors_print(feed, error, series_errors);
    if (s->status_at[fi] && now - s->status_at[fi] < STATUS_EVERY_MS &&
        print == s->status_errors[fi])
      return;
    s->status_at[fi] = now ? now : 1;
    s->status_errors[fi] = print;
  }
  timefmt_iso(fetch_ms, when, sizeof(when));
  for (size_t i = 0; i < feed->nseries; i++) {
    const struct feed_series *fs = &feed->series[i];
    char *meta = store_key(s, "m", fs->id);
    const char *why = error                               ? error
                      : series_errors && series_errors[i] ? series_errors[i]
                                                          : "";
    unsigned char g =
        fi < s->cfg->nfeeds ? s->grain_written[s->feed_base[fi] + i] : 0;
    /* The grain again with the status, so that a Redis that lost it gets
     * it back. */
    const char *argv[] = {
        "HSET",       meta,
        "title",      fs->meta.title ? fs->meta.title : fs->id,
        "unit",       fs->meta.unit ? fs->meta.unit : "",
        "kind",       config_kind_name(fs->meta.kind),
        "feed",       feed->id,
        "last_fetch", when,
        "last_error", why,
        "grain",      g ? timefmt_grain_name((enum timefmt_grain)(g - 1)) : ""};
    store_command(s, g ? 16 : 14, argv, NULL);
    free(meta);
  }
}

void store_upsert(struct store *s, const char *key, int64_t ms,
                  const char *const *fields, const double *values, size_t n) {
  const char **argv = xcalloc(6 + 2 * n, sizeof(*argv));
  char **vals = xcalloc(n + 1, sizeof(*vals));
  char msbuf[24], iso[40];
  snprintf(msbuf, sizeof(msbuf), "%lld", (long long)ms);
  timefmt_iso(ms, iso, sizeof(iso));
  argv[0] = "EVALSHA";
  argv[1] = s->sha;
  argv[2] = "1";
  argv[3] = key;
  argv[4] = msbuf;
  argv[5] = iso;
  for (size_t i = 0; i < n; i++) {
    vals[i] = xmalloc(40);
    store_format_value(values[i], vals[i], 40);
    argv[6 + 2 * i] = fields[i];
    argv[7 + 2 * i] = vals[i];
  }
  store_command(s, (int)(6 + 2 * n), argv, NULL);
  for (size_t i = 0; i < n; i++)
    free(vals[i]);
  free(vals);
  free(argv);
}

void store_replace_tail(struct store *s, const char *key, int64_t from_ms,
                        const char *const *fields, size_t nfields,
                        const int64_t *times, const double *values, size_t n) {
  size_t argc = 6 + nfields + n * (1 + nfields), k = 0;
  const char **argv = xcalloc(argc, sizeof(*argv));
  char(*bufs)[40] = xcalloc(1 + n * (1 + nfields) + 1, sizeof(*bufs));
  size_t b = 0;
  char nf[16];
  snprintf(nf, sizeof(nf), "%zu", nfields);
  argv[k++] = "EVALSHA";
  argv[k++] = s->sha_tail;
  argv[k++] = "1";
  argv[k++] = key;
  snprintf(bufs[b], sizeof(bufs[b]), "%lld", (long long)from_ms);
  argv[k++] = bufs[b++];
  argv[k++] = nf;
  for (size_t f = 0; f < nfields; f++)
    argv[k++] = fields[f];
  for (size_t i = 0; i < n; i++) {
    snprintf(bufs[b], sizeof(bufs[b]), "%lld", (long long)times[i]);
    argv[k++] = bufs[b++];
    for (size_t f = 0; f < nfields; f++) {
      store_format_value(values[i * nfields + f], bufs[b], sizeof(bufs[b]));
      argv[k++] = bufs[b++];
    }
  }
  store_command(s, (int)k, argv, NULL);
  free(bufs);
  free(argv);
}
