
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Bucketing of visitors, compatible with two outside worlds:
 *
 *   - GrowthBook's SDKs (hash versions 1 and 2, namespaces, bucket
 *     ranges), so an app and the edge put an id in the same variant;
 *   - nginx's split_clients (MurmurHash2 and its percent boundaries), so
 *     a split_clients block converts without moving a single visitor.
 *
 * FNV-1a runs over UTF-16 code units, as JavaScript strings are made of
 * them.  The UTF-8 input is decoded as the WHATWG decoder (TextDecoder)
 * does: each maximal ill-formed subsequence becomes one U+FFFD.  In
 * practice a stray byte (80-BF, C0, C1, F5-FF) is one U+FFFD; a truncated
 * sequence ("\xe6\x97" then "a") is one U+FFFD for its bytes; a lead byte
 * followed by a byte outside its allowed range (overlong, surrogate,
 * above U+10FFFF) is one U+FFFD and that byte is decoded afresh.
 * The streaming functions decode the concatenation of their updates;
 * persona_hash_v1(), _v2() and _layer() decode seed and id apart, as
 * the SDK's seed and id are two strings.
 */


#ifndef PERSONA_HASH_H
#define PERSONA_HASH_H


#include <stddef.h>
#include <stdint.h>


/* streaming FNV-1a 32; the UTF-8 decoder state survives between updates */
typedef struct {
    uint32_t       h;
    uint32_t       cp;       /* code point bits decoded so far */
    unsigned       need;     /* continuation bytes still expected */
    unsigned char  lower;    /* allowed range of the next continuation */
    unsigned char  upper;
} persona_fnv_t;


/*
 * "50%", "12.5%", "33.33%", "0%", "100%", "0.01%", "50.00%": basis
 * points 0..10000, or -1.  Grammar: "0" or 1 to 3 digits without a
 * leading zero, optionally "." and 1 or 2 digits, then "%".
 */
int persona_hash_parse_percent(const unsigned char *p, size_t len);

void persona_fnv_init(persona_fnv_t *f);
void persona_fnv_update(persona_fnv_t *f, const unsigned char *p,
    size_t len);
uint32_t persona_fnv_final(persona_fnv_t *f);
uint32_t persona_fnv1a32(const unsigned char *p, size_t len);

/* v1: fnv(id seed) % 1000 / 1000; v2: fnv(dec(fnv(seed id))) % 10000 / 1e4 */
double persona_hash_v1(const unsigned char *seed, size_t slen,
    const unsigned char *id, size_t idlen);
double persona_hash_v2(const unsigned char *seed, size_t slen,
    const unsigned char *id, size_t idlen);

/* GrowthBook namespaces: v1 with the seed "__" layer */
double persona_hash_layer(const unsigned char *layer, size_t llen,
    const unsigned char *id, size_t idlen);

/*
 * getBucketRanges(): weights in basis points (or exactly 1.0 / n each
 * when "equal"), coverage traffic_bp / 10000 (capped at 100%); variant i
 * owns [start[i], end[i]).
 */
void persona_hash_ranges(const unsigned *weights_bp, size_t n, int equal,
    unsigned traffic_bp, double *start, double *end);
/* the first i with start[i] <= h < end[i], or -1 */
int persona_hash_choose(double h, const double *start, const double *end,
    size_t n);

/* ngx_murmur_hash2() of the concatenation a b */
uint32_t persona_murmur2(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen);

/*
 * split_clients boundaries: part i owns hashes below end[i] not owned by
 * an earlier part.  Weights must sum to at most 10000.
 */
void persona_hash_split_ranges(const unsigned *weights_bp, size_t n,
    unsigned traffic_bp, uint32_t *end);
/* the first i with h < end[i], or -1 */
int persona_hash_split_choose(uint32_t h, const uint32_t *end, size_t n);


#endif /* PERSONA_HASH_H */
