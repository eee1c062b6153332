
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Channel classification (rules in persona_channel.h).  The Referer is
 * whatever the client sent, so its host is parsed strictly: anything
 * that is not a well-formed authority makes the Referer count as absent
 * rather than as a referral from a made-up host.
 */


#include <string.h>

#include "persona_channel.h"


/* a DNS name is at most 253 bytes; 255 leaves room for an IPv6 literal */
#define PERSONA_CHANNEL_HOST_MAX  256


typedef struct {
    const char          *domain;
    persona_channel_e    channel;
} persona_channel_host_t;


static unsigned char persona_channel_lc(unsigned char c);
static int persona_channel_hex(unsigned char c);
static int persona_channel_arg_eq(const unsigned char *s, size_t len,
    const unsigned char *w, size_t wlen);
static int persona_channel_arg_in(const unsigned char *s, size_t len,
    const char *const *list);
static int persona_channel_suffix(const unsigned char *host, size_t hlen,
    const unsigned char *d, size_t dlen);
static int persona_channel_wildcard(const unsigned char *host, size_t hlen,
    const unsigned char *d, size_t dlen);
static int persona_channel_lookup(const unsigned char *host, size_t hlen);
static int persona_channel_host_char(unsigned char c);
static size_t persona_channel_authority(const unsigned char *p,
    const unsigned char *end, unsigned char *host, size_t size);
static int persona_channel_user_rules(const persona_channel_input_t *in,
    const unsigned char *host, size_t hlen,
    const persona_channel_rule_t *rules, size_t nrules);


static const char *const  persona_channel_names[] = {
    "direct", "email", "social", "search", "paid", "referral"
};

static const char *const  persona_channel_media_email[] = {
    "email", "e-mail", "e_mail", "newsletter", NULL
};

static const char *const  persona_channel_media_paid[] = {
    "cpc", "ppc", "paid", "paidsearch", "paid-search", "paid search",
    "paid_social", "paidsocial", "paid-social", "paid social", "cpm",
    "display", "banner", NULL
};

static const char *const  persona_channel_media_social[] = {
    "social", "social-network", "social_network", "social-media",
    "social_media", "sm", NULL
};

static const char *const  persona_channel_sources_social[] = {
    "facebook", "fb", "instagram", "ig", "twitter", "x", "linkedin",
    "pinterest", "reddit", "youtube", "tiktok", "threads", "snapchat",
    "whatsapp", "mastodon", "bluesky", NULL
};

static const char *const  persona_channel_sources_search[] = {
    "google", "bing", "duckduckgo", "yahoo", "yandex", "baidu", "ecosia",
    "qwant", "startpage", "brave", "naver", NULL
};


/*
 * In order: webmails come before the search engines whose domains they
 * share (mail.google.com, mail.yahoo.com).  A trailing dot means any
 * top-level domain.  The reversed names are Android apps, which browsers
 * report as android-app://com.google.android.gm/.
 */

static const persona_channel_host_t  persona_channel_hosts[] = {
    { "mail.google.com", PERSONA_CHANNEL_EMAIL },
    { "outlook.live.com", PERSONA_CHANNEL_EMAIL },
    { "outlook.office.com", PERSONA_CHANNEL_EMAIL },
    { "outlook.office365.com", PERSONA_CHANNEL_EMAIL },
    { "mail.yahoo.com", PERSONA_CHANNEL_EMAIL },
    { "mail.aol.com", PERSONA_CHANNEL_EMAIL },
    { "mail.proton.me", PERSONA_CHANNEL_EMAIL },
    { "mail.yandex.ru", PERSONA_CHANNEL_EMAIL },
    { "com.google.android.gm", PERSONA_CHANNEL_EMAIL },
    { "com.microsoft.office.outlook", PERSONA_CHANNEL_EMAIL },

    { "google.", PERSONA_CHANNEL_SEARCH },
    { "bing.com", PERSONA_CHANNEL_SEARCH },
    { "duckduckgo.com", PERSONA_CHANNEL_SEARCH },
    { "yahoo.", PERSONA_CHANNEL_SEARCH },
    { "yandex.", PERSONA_CHANNEL_SEARCH },
    { "ya.ru", PERSONA_CHANNEL_SEARCH },
    { "baidu.com", PERSONA_CHANNEL_SEARCH },
    { "ecosia.org", PERSONA_CHANNEL_SEARCH },
    { "qwant.com", PERSONA_CHANNEL_SEARCH },
    { "startpage.com", PERSONA_CHANNEL_SEARCH },
    { "search.brave.com", PERSONA_CHANNEL_SEARCH },
    { "naver.com", PERSONA_CHANNEL_SEARCH },
    { "seznam.cz", PERSONA_CHANNEL_SEARCH },
    { "ask.com", PERSONA_CHANNEL_SEARCH },
    { "com.google.android.googlequicksearchbox", PERSONA_CHANNEL_SEARCH },

    { "facebook.com", PERSONA_CHANNEL_SOCIAL },
    { "fb.me", PERSONA_CHANNEL_SOCIAL },
    { "messenger.com", PERSONA_CHANNEL_SOCIAL },
    { "instagram.com", PERSONA_CHANNEL_SOCIAL },
    { "t.co", PERSONA_CHANNEL_SOCIAL },
    { "twitter.com", PERSONA_CHANNEL_SOCIAL },
    { "x.com", PERSONA_CHANNEL_SOCIAL },
    { "linkedin.com", PERSONA_CHANNEL_SOCIAL },
    { "lnkd.in", PERSONA_CHANNEL_SOCIAL },
    { "pinterest.", PERSONA_CHANNEL_SOCIAL },
    { "reddit.com", PERSONA_CHANNEL_SOCIAL },
    { "youtube.com", PERSONA_CHANNEL_SOCIAL },
    { "youtu.be", PERSONA_CHANNEL_SOCIAL },
    { "tiktok.com", PERSONA_CHANNEL_SOCIAL },
    { "threads.net", PERSONA_CHANNEL_SOCIAL },
    { "snapchat.com", PERSONA_CHANNEL_SOCIAL },
    { "tumblr.com", PERSONA_CHANNEL_SOCIAL },
    { "vk.com", PERSONA_CHANNEL_SOCIAL },
    { "bsky.app", PERSONA_CHANNEL_SOCIAL },
    { "mastodon.social", PERSONA_CHANNEL_SOCIAL },
    { "quora.com", PERSONA_CHANNEL_SOCIAL },
    { "t.me", PERSONA_CHANNEL_SOCIAL },
    { "whatsapp.com", PERSONA_CHANNEL_SOCIAL },
    { "com.facebook.katana", PERSONA_CHANNEL_SOCIAL },
    { "com.instagram.android", PERSONA_CHANNEL_SOCIAL },
    { "com.twitter.android", PERSONA_CHANNEL_SOCIAL },
    { "com.linkedin.android", PERSONA_CHANNEL_SOCIAL },
    { "com.reddit.frontpage", PERSONA_CHANNEL_SOCIAL },
    { "com.pinterest", PERSONA_CHANNEL_SOCIAL },
    { "com.zhiliaoapp.musically", PERSONA_CHANNEL_SOCIAL },

    { NULL, PERSONA_CHANNEL_DIRECT }
};


static unsigned char
persona_channel_lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (c | 0x20) : c;
}


static int
persona_channel_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/*
 * s, a raw query string value, equals w once decoded, ignoring ASCII
 * case; a '%' not followed by two hex digits stands for itself.
 */

static int
persona_channel_arg_eq(const unsigned char *s, size_t len,
    const unsigned char *w, size_t wlen)
{
    int            hi, lo;
    size_t         i, j;
    unsigned char  c;

    for (i = 0, j = 0; i < len; i++, j++) {
        c = s[i];

        if (c == '+') {
            c = ' ';

        } else if (c == '%' && len - i > 2) {
            hi = persona_channel_hex(s[i + 1]);
            lo = persona_channel_hex(s[i + 2]);

            if (hi >= 0 && lo >= 0) {
                c = (unsigned char) (hi << 4 | lo);
                i += 2;
            }
        }

        if (j == wlen
            || persona_channel_lc(c) != persona_channel_lc(w[j]))
        {
            return 0;
        }
    }

    return j == wlen;
}


static int
persona_channel_arg_in(const unsigned char *s, size_t len,
    const char *const *list)
{
    for ( /* void */ ; *list != NULL; list++) {
        if (persona_channel_arg_eq(s, len, (const unsigned char *) *list,
                                   strlen(*list)))
        {
            return 1;
        }
    }

    return 0;
}


/* host (lowercase) is d or a subdomain of d */

static int
persona_channel_suffix(const unsigned char *host, size_t hlen,
    const unsigned char *d, size_t dlen)
{
    size_t  i, off;

    if (dlen == 0 || hlen < dlen) {
        return 0;
    }

    off = hlen - dlen;

    if (off != 0 && host[off - 1] != '.') {
        return 0;
    }

    for (i = 0; i < dlen; i++) {
        if (host[off + i] != persona_channel_lc(d[i])) {
            return 0;
        }
    }

    return 1;
}


/*
 * d is "name." and host is name.TLD, name.co.TLD or name.com.TLD, or a
 * subdomain of one of them; anything longer after the name is somebody
 * else's domain (google.example.org).
 */

static int
persona_channel_wildcard(const unsigned char *host, size_t hlen,
    const unsigned char *d, size_t dlen)
{
    size_t                 i, n;
    const unsigned char   *r, *dot;

    for (i = 0; i + dlen < hlen; i++) {
        if ((i != 0 && host[i - 1] != '.')
            || memcmp(host + i, d, dlen) != 0)
        {
            continue;
        }

        r = host + i + dlen;
        n = hlen - i - dlen;

        if (n >= 3 && memcmp(r, "co.", 3) == 0) {
            r += 3;
            n -= 3;

        } else if (n >= 4 && memcmp(r, "com.", 4) == 0) {
            r += 4;
            n -= 4;
        }

        dot = memchr(r, '.', n);

        if (n != 0 && dot == NULL) {
            return 1;
        }
    }

    return 0;
}


static int
persona_channel_lookup(const unsigned char *host, size_t hlen)
{
    size_t                         n;
    const persona_channel_host_t  *h;

    for (h = persona_channel_hosts; h->domain != NULL; h++) {
        n = strlen(h->domain);

        if (h->domain[n - 1] == '.'
            ? persona_channel_wildcard(host, hlen,
                                       (const unsigned char *) h->domain, n)
            : persona_channel_suffix(host, hlen,
                                     (const unsigned char *) h->domain, n))
        {
            return h->channel;
        }
    }

    return -1;
}


/* RFC 3986 reg-name: unreserved, pct-encoded, sub-delims; and raw UTF-8 */

static int
persona_channel_host_char(unsigned char c)
{
    static const char  other[] = "-._~%!$&'()*+,;=";

    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c >= 0x80
           || (c != '\0' && memchr(other, c, sizeof(other) - 1) != NULL);
}


/* [userinfo@]host[:port] from p to end */

static size_t
persona_channel_authority(const unsigned char *p, const unsigned char *end,
    unsigned char *host, size_t size)
{
    size_t                 n, i;
    const unsigned char   *at, *start, *last;

    for (at = end; at > p; at--) {
        if (at[-1] == '@') {
            break;
        }
    }

    /* userinfo: checked too, so that a stray byte cannot hide a host */

    if (at > p) {
        for ( /* void */ ; p < at - 1; p++) {
            if (*p != ':' && *p != '@' && !persona_channel_host_char(*p)) {
                return 0;
            }
        }

        p = at;
    }

    start = p;

    if (p < end && *p == '[') {
        for (p++; p < end && *p != ']'; p++) {
            if (*p != ':' && !persona_channel_host_char(*p)) {
                return 0;
            }
        }

        if (p == end || p - start < 3) {
            return 0;
        }

        p++;
        last = p;

    } else {
        while (p < end && *p != ':') {
            if (!persona_channel_host_char(*p)) {
                return 0;
            }

            p++;
        }

        for (last = p; last > start && last[-1] == '.'; last--) {
            /* void */
        }
    }

    if (p < end) {
        if (*p != ':') {
            return 0;
        }

        for (p++; p < end; p++) {
            if (*p < '0' || *p > '9') {
                return 0;
            }
        }
    }

    n = last - start;

    if (n == 0 || n > size) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        host[i] = persona_channel_lc(start[i]);
    }

    return n;
}


size_t
persona_channel_referer_host(const unsigned char *ref, size_t len,
    unsigned char *host, size_t size)
{
    unsigned char          c;
    const unsigned char   *p, *end, *start;

    if (ref == NULL) {
        return 0;
    }

    p = ref;
    end = ref + len;

    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://" */

    while (p < end) {
        c = persona_channel_lc(*p);

        if (!((c >= 'a' && c <= 'z')
              || (p != ref
                  && ((c >= '0' && c <= '9') || c == '+' || c == '-'
                      || c == '.'))))
        {
            break;
        }

        p++;
    }

    if (p == ref || end - p < 3 || p[0] != ':' || p[1] != '/' || p[2] != '/')
    {
        return 0;
    }

    p += 3;
    start = p;

    while (p < end && *p != '/' && *p != '?' && *p != '#') {
        p++;
    }

    return persona_channel_authority(start, p, host, size);
}


static int
persona_channel_user_rules(const persona_channel_input_t *in,
    const unsigned char *host, size_t hlen,
    const persona_channel_rule_t *rules, size_t nrules)
{
    size_t                         i, n;
    const unsigned char           *v;
    const persona_channel_rule_t  *r;

    for (i = 0; i < nrules; i++) {
        r = &rules[i];

        switch (r->match) {

        case PERSONA_CHANNEL_MATCH_MEDIUM:
            if (in->medium_len != 0
                && persona_channel_arg_eq(in->medium, in->medium_len,
                                          r->value, r->len))
            {
                return r->channel;
            }

            break;

        case PERSONA_CHANNEL_MATCH_SOURCE:
            if (in->source_len != 0
                && persona_channel_arg_eq(in->source, in->source_len,
                                          r->value, r->len))
            {
                return r->channel;
            }

            break;

        case PERSONA_CHANNEL_MATCH_REFERRER:

            /* ".example.org" and "example.org." mean example.org */

            v = r->value;
            n = r->len;

            while (n != 0 && v[0] == '.') {
                v++;
                n--;
            }

            while (n != 0 && v[n - 1] == '.') {
                n--;
            }

            if (hlen != 0 && persona_channel_suffix(host, hlen, v, n)) {
                return r->channel;
            }

            break;
        }
    }

    return -1;
}


persona_channel_e
persona_channel_classify(const persona_channel_input_t *in,
    const persona_channel_rule_t *rules, size_t nrules)
{
    int             ch;
    size_t          hlen, slen;
    unsigned char   host[PERSONA_CHANNEL_HOST_MAX];
    unsigned char   self[PERSONA_CHANNEL_HOST_MAX];

    hlen = 0;

    if (in->referer_len != 0) {
        hlen = persona_channel_referer_host(in->referer, in->referer_len,
                                            host, sizeof(host));
    }

    ch = persona_channel_user_rules(in, host, hlen, rules, nrules);

    if (ch >= 0) {
        return ch;
    }

    if (in->medium_len != 0) {
        if (persona_channel_arg_in(in->medium, in->medium_len,
                                   persona_channel_media_email))
        {
            return PERSONA_CHANNEL_EMAIL;
        }

        if (persona_channel_arg_in(in->medium, in->medium_len,
                                   persona_channel_media_paid))
        {
            return PERSONA_CHANNEL_PAID;
        }

        if (persona_channel_arg_in(in->medium, in->medium_len,
                                   persona_channel_media_social))
        {
            return PERSONA_CHANNEL_SOCIAL;
        }

        if (persona_channel_arg_eq(in->medium, in->medium_len,
                                   (const unsigned char *) "organic", 7))
        {
            return PERSONA_CHANNEL_SEARCH;
        }

        if (persona_channel_arg_eq(in->medium, in->medium_len,
                                   (const unsigned char *) "referral", 8))
        {
            return PERSONA_CHANNEL_REFERRAL;
        }
    }

    if (in->paid_click) {
        return PERSONA_CHANNEL_PAID;
    }

    if (in->click_id) {
        return PERSONA_CHANNEL_SOCIAL;
    }

    if (in->source_len != 0) {
        if (persona_channel_arg_in(in->source, in->source_len,
                                   persona_channel_sources_social))
        {
            return PERSONA_CHANNEL_SOCIAL;
        }

        if (persona_channel_arg_in(in->source, in->source_len,
                                   persona_channel_sources_search))
        {
            return PERSONA_CHANNEL_SEARCH;
        }

        /* utm_source=news.google.com: a host, as in a Referer */

        slen = persona_channel_authority(in->source,
                                         in->source + in->source_len,
                                         self, sizeof(self));

        if (slen != 0 && memchr(self, '.', slen) != NULL) {
            ch = persona_channel_lookup(self, slen);

            if (ch >= 0) {
                return ch;
            }
        }
    }

    if (in->medium_len != 0 || in->source_len != 0) {
        return PERSONA_CHANNEL_REFERRAL;
    }

    if (hlen == 0) {
        return PERSONA_CHANNEL_DIRECT;
    }

    slen = 0;

    if (in->host_len != 0) {
        slen = persona_channel_authority(in->host, in->host + in->host_len,
                                         self, sizeof(self));

        /* www.example.org and shop.example.org are one site */

        if (slen > 4 && memcmp(self, "www.", 4) == 0) {
            memmove(self, self + 4, slen - 4);
            slen -= 4;
        }
    }

    if (slen != 0 && persona_channel_suffix(host, hlen, self, slen)) {
        return PERSONA_CHANNEL_DIRECT;
    }

    ch = persona_channel_lookup(host, hlen);

    return ch >= 0 ? ch : PERSONA_CHANNEL_REFERRAL;
}


const char *
persona_channel_name(persona_channel_e c)
{
    if ((unsigned) c >= PERSONA_CHANNEL_N) {
        return persona_channel_names[PERSONA_CHANNEL_DIRECT];
    }

    return persona_channel_names[c];
}


int
persona_channel_parse(const unsigned char *name, size_t len)
{
    int          i;
    size_t       j;
    const char  *s;

    for (i = 0; i < PERSONA_CHANNEL_N; i++) {
        s = persona_channel_names[i];

        for (j = 0; j < len && s[j] != '\0'; j++) {
            if (persona_channel_lc(name[j]) != (unsigned char) s[j]) {
                break;
            }
        }

        if (j == len && s[j] == '\0') {
            return i;
        }
    }

    return -1;
}
