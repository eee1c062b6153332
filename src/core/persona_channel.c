
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Channel classification (rules in persona_channel.h).  Host lists match
 * a domain and its subdomains; "google." style entries match any
 * top-level domain.
 */


#include <string.h>

#include "persona_channel.h"


#define PERSONA_HOST_MAX  256


static const char *const  persona_channel_names[] = {
    "direct", "email", "social", "search", "paid", "referral"
};

static const char *const  persona_media_email[] = {
    "email", "e-mail", "newsletter", NULL
};

static const char *const  persona_media_paid[] = {
    "cpc", "ppc", "paid", "paidsearch", "paid-search", "paid_social",
    "paidsocial", "cpm", "display", "banner", NULL
};

static const char *const  persona_media_social[] = {
    "social", "social-network", "social-media", "sm", NULL
};

static const char *const  persona_hosts_search[] = {
    "google.", "bing.com", "duckduckgo.com", "yahoo.", "yandex.",
    "baidu.com", "ecosia.org", "qwant.com", "startpage.com", "search.brave.com",
    "naver.com", NULL
};

static const char *const  persona_hosts_social[] = {
    "facebook.com", "t.co", "twitter.com", "x.com", "instagram.com",
    "linkedin.com", "lnkd.in", "pinterest.", "reddit.com", "youtube.com",
    "tiktok.com", "threads.net", "mastodon.social", "snapchat.com", NULL
};

static const char *const  persona_hosts_email[] = {
    "mail.google.com", "outlook.live.com", "outlook.office.com",
    "mail.yahoo.com", "mail.proton.me", NULL
};

static const char *const  persona_sources_social[] = {
    "facebook", "fb", "instagram", "ig", "twitter", "x", "linkedin",
    "pinterest", "reddit", "youtube", "tiktok", NULL
};

static const char *const  persona_sources_search[] = {
    "google", "bing", "duckduckgo", "yahoo", "yandex", "baidu", "ecosia",
    "qwant", NULL
};


static int
persona_channel_eq(const unsigned char *s, size_t len, const char *w)
{
    size_t         i, n;
    unsigned char  c;

    n = strlen(w);

    if (n != len) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        c = s[i];

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (unsigned char) w[i]) {
            return 0;
        }
    }

    return 1;
}


static int
persona_channel_caseeq(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen)
{
    size_t         i;
    unsigned char  x, y;

    if (alen != blen) {
        return 0;
    }

    for (i = 0; i < alen; i++) {
        x = a[i];
        y = b[i];

        if (x >= 'A' && x <= 'Z') {
            x |= 0x20;
        }

        if (y >= 'A' && y <= 'Z') {
            y |= 0x20;
        }

        if (x != y) {
            return 0;
        }
    }

    return 1;
}


static int
persona_channel_in(const unsigned char *s, size_t len,
    const char *const *list)
{
    for ( /* void */ ; *list != NULL; list++) {
        if (persona_channel_eq(s, len, *list)) {
            return 1;
        }
    }

    return 0;
}


/* host is d or a subdomain of d; "google." matches google.<any tld> */

static int
persona_channel_domain(const unsigned char *host, size_t hlen,
    const unsigned char *d, size_t dlen)
{
    size_t  i;

    if (dlen && d[dlen - 1] == '.') {
        for (i = 0; i + dlen < hlen; i++) {
            if ((i == 0 || host[i - 1] == '.')
                && persona_channel_caseeq(host + i, dlen, d, dlen))
            {
                /* google.com, google.co.uk; not google.example.org */
                return hlen - (i + dlen) <= 6;
            }
        }

        return 0;
    }

    if (hlen < dlen || !persona_channel_caseeq(host + hlen - dlen, dlen, d,
                                               dlen))
    {
        return 0;
    }

    return hlen == dlen || host[hlen - dlen - 1] == '.';
}


static int
persona_channel_hosts(const unsigned char *host, size_t hlen,
    const char *const *list)
{
    for ( /* void */ ; *list != NULL; list++) {
        if (persona_channel_domain(host, hlen, (const unsigned char *) *list,
                                   strlen(*list)))
        {
            return 1;
        }
    }

    return 0;
}


size_t
persona_channel_referer_host(const unsigned char *ref, size_t len,
    unsigned char *host, size_t size)
{
    size_t                 n;
    const unsigned char   *p, *end, *at, *start;

    p = ref;
    end = ref + len;

    /* scheme "://" */

    while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                       || (*p >= '0' && *p <= '9') || *p == '+' || *p == '-'
                       || *p == '.'))
    {
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

    end = p;

    /* userinfo */

    for (at = end; at > start; at--) {
        if (at[-1] == '@') {
            start = at;
            break;
        }
    }

    p = start;

    if (p < end && *p == '[') {
        while (p < end && *p != ']') {
            p++;
        }

        if (p == end) {
            return 0;
        }

        p++;

    } else {
        while (p < end && *p != ':') {
            p++;
        }
    }

    n = p - start;

    if (n == 0 || n >= size) {
        return 0;
    }

    for (len = 0; len < n; len++) {
        host[len] = start[len];

        if (host[len] >= 'A' && host[len] <= 'Z') {
            host[len] |= 0x20;
        }
    }

    while (n && host[n - 1] == '.') {
        n--;
    }

    return n;
}


persona_channel_e
persona_channel_classify(const persona_channel_input_t *in,
    const persona_channel_rule_t *rules, size_t nrules)
{
    size_t          i, hlen, slen;
    unsigned char   host[PERSONA_HOST_MAX], self[PERSONA_HOST_MAX];

    hlen = 0;

    if (in->referer_len) {
        hlen = persona_channel_referer_host(in->referer, in->referer_len,
                                            host, sizeof(host));
    }

    for (i = 0; i < nrules; i++) {
        switch (rules[i].match) {

        case PERSONA_CHANNEL_MATCH_MEDIUM:
            if (in->medium_len
                && persona_channel_caseeq(in->medium, in->medium_len,
                                          rules[i].value, rules[i].len))
            {
                return rules[i].channel;
            }

            break;

        case PERSONA_CHANNEL_MATCH_SOURCE:
            if (in->source_len
                && persona_channel_caseeq(in->source, in->source_len,
                                          rules[i].value, rules[i].len))
            {
                return rules[i].channel;
            }

            break;

        default:
            if (hlen && persona_channel_domain(host, hlen, rules[i].value,
                                               rules[i].len))
            {
                return rules[i].channel;
            }
        }
    }

    if (in->medium_len) {
        if (persona_channel_in(in->medium, in->medium_len,
                               persona_media_email))
        {
            return PERSONA_CHANNEL_EMAIL;
        }

        if (persona_channel_in(in->medium, in->medium_len,
                               persona_media_paid))
        {
            return PERSONA_CHANNEL_PAID;
        }

        if (persona_channel_in(in->medium, in->medium_len,
                               persona_media_social))
        {
            return PERSONA_CHANNEL_SOCIAL;
        }

        if (persona_channel_eq(in->medium, in->medium_len, "organic")) {
            return PERSONA_CHANNEL_SEARCH;
        }

        if (persona_channel_eq(in->medium, in->medium_len, "referral")) {
            return PERSONA_CHANNEL_REFERRAL;
        }
    }

    if (in->click_id) {
        return in->paid_click ? PERSONA_CHANNEL_PAID : PERSONA_CHANNEL_SOCIAL;
    }

    if (in->source_len) {
        if (persona_channel_in(in->source, in->source_len,
                               persona_sources_social))
        {
            return PERSONA_CHANNEL_SOCIAL;
        }

        if (persona_channel_in(in->source, in->source_len,
                               persona_sources_search))
        {
            return PERSONA_CHANNEL_SEARCH;
        }
    }

    if (in->medium_len || in->source_len) {
        return PERSONA_CHANNEL_REFERRAL;
    }

    if (hlen == 0) {
        return PERSONA_CHANNEL_DIRECT;
    }

    slen = 0;

    if (in->host_len && in->host_len < sizeof(self)) {
        for (slen = 0; slen < in->host_len && in->host[slen] != ':'; slen++) {
            self[slen] = in->host[slen];

            if (self[slen] >= 'A' && self[slen] <= 'Z') {
                self[slen] |= 0x20;
            }
        }

        /* "www.example.org" and "shop.example.org" are the same site */

        if (slen > 4 && memcmp(self, "www.", 4) == 0) {
            memmove(self, self + 4, slen - 4);
            slen -= 4;
        }
    }

    if (slen && persona_channel_domain(host, hlen, self, slen)) {
        return PERSONA_CHANNEL_DIRECT;
    }

    if (persona_channel_hosts(host, hlen, persona_hosts_email)) {
        return PERSONA_CHANNEL_EMAIL;
    }

    if (persona_channel_hosts(host, hlen, persona_hosts_search)) {
        return PERSONA_CHANNEL_SEARCH;
    }

    if (persona_channel_hosts(host, hlen, persona_hosts_social)) {
        return PERSONA_CHANNEL_SOCIAL;
    }

    return PERSONA_CHANNEL_REFERRAL;
}


const char *
persona_channel_name(persona_channel_e c)
{
    return persona_channel_names[c < PERSONA_CHANNEL_N ? c : 0];
}


int
persona_channel_parse(const unsigned char *name, size_t len)
{
    int  i;

    for (i = 0; i < PERSONA_CHANNEL_N; i++) {
        if (persona_channel_eq(name, len, persona_channel_names[i])) {
            return i;
        }
    }

    return -1;
}
