
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Traffic channel of a visit, from the utm parameters, the click ids and
 * the Referer.  Names and values are compared case-insensitively; utm
 * values are compared percent-decoded ("+" is a space), as they come raw
 * from the query string.
 *
 * User rules come first, in their order: "medium" and "source" rules
 * equal the value of utm_medium or utm_source; "referrer" rules match
 * the host of the Referer or any of its subdomains ("example.org" matches
 * "www.example.org", not "badexample.org").  Then the defaults, first
 * match wins:
 *
 *   1. utm_medium email, e-mail, e_mail, newsletter: email;
 *   2. utm_medium cpc, ppc, paid, paidsearch, paid-search, paid search,
 *      paid_social, paidsocial, paid-social, paid social, cpm, display,
 *      banner: paid;
 *   3. utm_medium social, social-network, social_network, social-media,
 *      social_media, sm: social;
 *   4. utm_medium organic: search; utm_medium referral: referral;
 *   5. gclid or msclkid (search ads): paid; fbclid: social;
 *   6. utm_source naming a social network (facebook, fb, instagram, ig,
 *      twitter, x, linkedin, pinterest, reddit, youtube, tiktok,
 *      threads, snapchat, whatsapp, mastodon, bluesky): social; naming
 *      a search engine (google, bing, duckduckgo, yahoo, yandex, baidu,
 *      ecosia, qwant, startpage, brave, naver): search; a host name
 *      (utm_source=news.google.com) is looked up as the Referer host of
 *      rule 8 would be;
 *   7. any other utm_medium or utm_source: referral (someone tagged the
 *      link, so the visit did not come by itself);
 *   8. the Referer host, if the Referer is an absolute URL with a valid
 *      host (otherwise it counts as absent):
 *      - the site itself, the request's Host or a subdomain of it, "www."
 *        ignored: direct (navigation within the site);
 *      - a webmail or mail app (mail.google.com, outlook.live.com,
 *        outlook.office.com, outlook.office365.com, mail.yahoo.com,
 *        mail.aol.com, mail.proton.me, mail.yandex.ru, the Android apps
 *        of Gmail and Outlook): email;
 *      - a search engine (google.*, bing.com, duckduckgo.com, yahoo.*,
 *        yandex.*, ya.ru, baidu.com, ecosia.org, qwant.com,
 *        startpage.com, search.brave.com, naver.com, seznam.cz, ask.com,
 *        the Android Google app): search;
 *      - a social network (facebook.com, fb.me, messenger.com,
 *        instagram.com, t.co, twitter.com, x.com, linkedin.com, lnkd.in,
 *        pinterest.*, reddit.com, youtube.com, youtu.be, tiktok.com,
 *        threads.net, snapchat.com, tumblr.com, vk.com, bsky.app,
 *        mastodon.social, quora.com, t.me, whatsapp.com, their Android
 *        apps): social;
 *      - any other host: referral;
 *   9. nothing: direct.
 *
 * A list entry matches the host and its subdomains; "google.*" matches
 * google.TLD, google.co.TLD and google.com.TLD (google.de, google.co.uk,
 * google.com.br), not google.example.org.
 */


#ifndef PERSONA_CHANNEL_H
#define PERSONA_CHANNEL_H


#include <stddef.h>


typedef enum {
    PERSONA_CHANNEL_DIRECT = 0,
    PERSONA_CHANNEL_EMAIL,
    PERSONA_CHANNEL_SOCIAL,
    PERSONA_CHANNEL_SEARCH,
    PERSONA_CHANNEL_PAID,
    PERSONA_CHANNEL_REFERRAL,
    PERSONA_CHANNEL_N
} persona_channel_e;


typedef struct {
    const unsigned char   *medium;        /* utm_medium */
    size_t                 medium_len;
    const unsigned char   *source;        /* utm_source */
    size_t                 source_len;
    unsigned               click_id:1;    /* gclid, fbclid or msclkid */
    unsigned               paid_click:1;  /* gclid or msclkid */
    const unsigned char   *referer;       /* the Referer header value */
    size_t                 referer_len;
    const unsigned char   *host;          /* the site's own host[:port] */
    size_t                 host_len;
} persona_channel_input_t;


typedef enum {
    PERSONA_CHANNEL_MATCH_MEDIUM,
    PERSONA_CHANNEL_MATCH_SOURCE,
    PERSONA_CHANNEL_MATCH_REFERRER
} persona_channel_match_e;


typedef struct {
    persona_channel_match_e   match;
    const unsigned char      *value;
    size_t                    len;
    persona_channel_e         channel;
} persona_channel_rule_t;


persona_channel_e persona_channel_classify(const persona_channel_input_t *in,
    const persona_channel_rule_t *rules, size_t nrules);

/* "direct", "email", "social", "search", "paid", "referral" */
const char *persona_channel_name(persona_channel_e c);

/* the channel of a name as persona_channel_name() spells it, or -1 */
int persona_channel_parse(const unsigned char *name, size_t len);

/*
 * Writes the host of an absolute URL (scheme://[userinfo@]host[:port]...)
 * to host, lowercase, without the port and trailing dots, an IPv6 literal
 * with its brackets; returns its length, or 0 if there is no valid host
 * or it is longer than size.
 */
size_t persona_channel_referer_host(const unsigned char *ref, size_t len,
    unsigned char *host, size_t size);


#endif /* PERSONA_CHANNEL_H */
