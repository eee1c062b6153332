
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Traffic channel of a visit.  User rules come first, in order; then the
 * defaults, first match wins (case-insensitive):
 *   1. utm_medium email, e-mail, newsletter: email;
 *   2. utm_medium cpc, ppc, paid, paidsearch, paid-search, paid_social,
 *      paidsocial, cpm, display, banner: paid;
 *   3. utm_medium social, social-network, social-media, sm: social;
 *   4. utm_medium organic: search;  utm_medium referral: referral;
 *   5. gclid or msclkid: paid;  fbclid: social;
 *   6. utm_source naming a social network: social; a search engine:
 *      search; any other utm_medium or utm_source: referral;
 *   7. Referer host: the site itself (same host or a subdomain): direct;
 *      a webmail: email; a search engine: search; a social network:
 *      social; any other host: referral;
 *   8. nothing: direct.
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
    const unsigned char   *medium;
    size_t                 medium_len;
    const unsigned char   *source;
    size_t                 source_len;
    unsigned               click_id:1;
    unsigned               paid_click:1;
    const unsigned char   *referer;
    size_t                 referer_len;
    const unsigned char   *host;
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
const char *persona_channel_name(persona_channel_e c);
size_t persona_channel_referer_host(const unsigned char *ref, size_t len,
    unsigned char *host, size_t size);
int persona_channel_parse(const unsigned char *name, size_t len);


#endif /* PERSONA_CHANNEL_H */
