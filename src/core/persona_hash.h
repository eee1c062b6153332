/*
 * Copyright (C) ngx_http_persona_module authors
 */

#ifndef PERSONA_HASH_H
#define PERSONA_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t       h;
    unsigned char  pend[4];
    size_t         npend;
    size_t         need;
} persona_fnv_t;

int persona_hash_parse_percent(const unsigned char *p, size_t len);
void persona_fnv_init(persona_fnv_t *f);
void persona_fnv_update(persona_fnv_t *f, const unsigned char *p, size_t len);
uint32_t persona_fnv_final(persona_fnv_t *f);
uint32_t persona_fnv1a32(const unsigned char *p, size_t len);
double persona_hash_v1(const unsigned char *seed, size_t slen,
    const unsigned char *id, size_t idlen);
double persona_hash_v2(const unsigned char *seed, size_t slen,
    const unsigned char *id, size_t idlen);
double persona_hash_layer(const unsigned char *layer, size_t llen,
    const unsigned char *id, size_t idlen);
void persona_hash_ranges(const unsigned *weights_bp, size_t n, int equal,
    unsigned traffic_bp, double *start, double *end);
int persona_hash_choose(double h, const double *start, const double *end,
    size_t n);
uint32_t persona_murmur2(const unsigned char *a, size_t alen,
    const unsigned char *b, size_t blen);
void persona_hash_split_ranges(const unsigned *weights_bp, size_t n,
    unsigned traffic_bp, uint32_t *end);
int persona_hash_split_choose(uint32_t h, const uint32_t *end, size_t n);

#endif
