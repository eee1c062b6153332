
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Shared declarations of the persona module: configuration structures,
 * the per-request context every hook reads, and the functions the glue
 * files offer each other.
 */


#ifndef _NGX_HTTP_PERSONA_MODULE_H_INCLUDED_
#define _NGX_HTTP_PERSONA_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "persona_hash.h"


#define NGX_HTTP_PERSONA_ID_MAX        256
#define NGX_HTTP_PERSONA_RANDOM_ID_LEN 32

#define NGX_HTTP_PERSONA_HASH_V1       1
#define NGX_HTTP_PERSONA_HASH_V2       2
#define NGX_HTTP_PERSONA_HASH_SPLIT    3

#define NGX_HTTP_PERSONA_UNKNOWN       -2
#define NGX_HTTP_PERSONA_NONE          -3

#define NGX_HTTP_PERSONA_EXPOSED_SLOT  1
#define NGX_HTTP_PERSONA_EXPOSED_VAR   2

#define NGX_HTTP_PERSONA_CACHE_PRIVATE 0
#define NGX_HTTP_PERSONA_CACHE_VARY    1
#define NGX_HTTP_PERSONA_CACHE_NONE    2

#define NGX_HTTP_PERSONA_SECURE_OFF    0
#define NGX_HTTP_PERSONA_SECURE_ON     1
#define NGX_HTTP_PERSONA_SECURE_AUTO   2


typedef struct ngx_http_persona_cond_s  ngx_http_persona_cond_t;
typedef struct ngx_http_persona_geo_s   ngx_http_persona_geo_t;


/* Content of a variant or of a personalization rule: a fragment file read
 * at configuration time or inline text, possibly with {{$var}} parts. */
typedef struct {
    ngx_array_t                *parts;      /* ngx_http_persona_tpl_part_t */
    ngx_str_t                   text;       /* whole text when no vars */
    size_t                      len;        /* length of literal parts */
    ngx_str_t                   source;     /* file name or "text" */
    unsigned                    vars:1;
} ngx_http_persona_content_t;


typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  weight;     /* basis points */
    unsigned                    weighted:1;
    double                      start;
    double                      end;
    uint32_t                    ustart;     /* split_clients ranges */
    uint32_t                    uend;
    ngx_http_persona_content_t *content;
} ngx_http_persona_variant_t;


typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  index;
    ngx_str_t                   seed;
    ngx_uint_t                  hash;
    ngx_uint_t                  traffic;    /* basis points */
    ngx_array_t                 variants;   /* ngx_http_persona_variant_t */

    ngx_str_t                   layer;
    ngx_uint_t                  layer_from; /* basis points */
    ngx_uint_t                  layer_to;
    double                      layer_start;
    double                      layer_end;

    ngx_http_persona_cond_t    *target;
    time_t                      schedule_from;
    time_t                      schedule_to;

    ngx_str_t                   file;
    ngx_uint_t                  line;
} ngx_http_persona_experiment_t;


typedef struct {
    ngx_str_t                   name;
    ngx_http_persona_cond_t    *cond;       /* NULL: CRM list only */
    ngx_str_t                   file;
    ngx_uint_t                  line;
    unsigned                    defined:1;
} ngx_http_persona_segment_t;


/* persona_content NAME { when COND ...; default ...; } */
typedef struct {
    ngx_http_persona_cond_t    *cond;       /* NULL: default */
    ngx_http_persona_content_t *content;
} ngx_http_persona_rule_t;


typedef struct {
    ngx_str_t                   name;
    ngx_array_t                 rules;      /* ngx_http_persona_rule_t */
} ngx_http_persona_content_set_t;


/* persona_slot SLOT TARGET */
typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       target;
    ngx_http_persona_experiment_t  *experiment;
    ngx_http_persona_content_set_t *set;
    ngx_str_t                       file;
    ngx_uint_t                      line;
} ngx_http_persona_slot_t;


typedef struct {
    ngx_str_t                   name;
    ngx_int_t                   index;      /* variable index of cookie_NAME */
    time_t                      max_age;
    ngx_str_t                   attrs;      /* "; Max-Age=..; Path=.." */
    ngx_uint_t                  secure;
} ngx_http_persona_cookie_t;


typedef struct {
    ngx_array_t                 experiments; /* experiment_t */
    ngx_array_t                 sets;        /* content_set_t */
    ngx_array_t                 segments;    /* segment_t */
    ngx_uint_t                  crm;         /* persona_segments_db set */
    ngx_array_t                 geo;         /* ngx_http_persona_geo_t * */
    ngx_array_t                 zones;       /* time zones, sorted */
    ngx_str_t                   zones_dir;
    ngx_array_t                 channel_rules;
    ngx_int_t                   ch_mobile_index;
    ngx_int_t                   event_index[5];
    ngx_int_t                   gpc_index;   /* $http_sec_gpc */
    ngx_uint_t                  filter;      /* some location injects */
} ngx_http_persona_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_array_t                *ids;        /* ngx_http_complex_value_t */
    ngx_http_persona_cookie_t  *cookie;     /* NULL: cookie off */
    ngx_http_persona_cond_t    *consent;
    ngx_http_complex_value_t   *time;       /* persona_time */
    ngx_str_t                  *goals;      /* persona_conversion goals= */

    ngx_array_t                *slots;      /* ngx_http_persona_slot_t */
    ngx_hash_t                  types;
    ngx_array_t                *types_keys;
    ngx_uint_t                  cache;
    size_t                      hold;       /* persona_slot_buffer_size */
    ngx_flag_t                  warned;     /* compressed response seen */
} ngx_http_persona_loc_conf_t;


/*
 * Everything computed for one request.  It lives on the main request and
 * is found again after an internal redirect, which clears r->ctx, so an
 * id generated before the redirect is the id used after it.
 */
typedef struct {
    ngx_str_t                   id;
    ngx_int_t                  *assign;     /* per experiment: variant */
    u_char                     *exposed;    /* per experiment: flags */
    u_char                     *segments;   /* per segment: state */
    ngx_str_t                   crm;        /* CRM segments, "a,b" */
    ngx_str_t                   conversion; /* the conversion event */
    ngx_str_t                   exposures;  /* $persona_exposures */
    ngx_uint_t                  exposures_n;
    ngx_table_elt_t            *cookie_header;
    void                       *filter;     /* body filter state */
    void                       *geo;        /* lookup per database */

    unsigned                    id_done:1;
    unsigned                    id_new:1;
    unsigned                    consent:1;
    unsigned                    cookie_sent:1;
    unsigned                    crm_done:1;
    unsigned                    no_new_id:1;
} ngx_http_persona_ctx_t;


ngx_http_persona_ctx_t *ngx_http_persona_get_ctx(ngx_http_request_t *r);
ngx_http_persona_ctx_t *ngx_http_persona_find_ctx(ngx_http_request_t *r);

ngx_int_t ngx_http_persona_identify(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);
ngx_int_t ngx_http_persona_random_id(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_http_persona_set_cookie(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);
char *ngx_http_persona_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_http_persona_cookie_t *ngx_http_persona_default_cookie(ngx_conf_t *cf,
    ngx_str_t *name);
char *ngx_http_persona_id(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_persona_consent(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

char *ngx_http_persona_experiment_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_persona_assign(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp);

ngx_http_persona_content_t *ngx_http_persona_content_parse(ngx_conf_t *cf,
    ngx_str_t *args, ngx_uint_t nargs, ngx_uint_t *i);
ngx_int_t ngx_http_persona_content_render(ngx_http_request_t *r,
    ngx_http_persona_content_t *content, ngx_str_t *out);

ngx_int_t ngx_http_persona_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_persona_add_experiment_variable(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp);

ngx_int_t ngx_http_persona_filter_init(ngx_conf_t *cf);

char *ngx_http_persona_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_persona_content_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_resolve_slots(ngx_conf_t *cf, ngx_array_t *slots);
ngx_int_t ngx_http_persona_slot_content(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_slot_t *slot,
    ngx_http_persona_content_t **content);
ngx_int_t ngx_http_persona_add_context_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_persona_add_event_variables(ngx_conf_t *cf);
char *ngx_http_persona_event_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
char *ngx_http_persona_conversion(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_context_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
char *ngx_http_persona_channel_rule(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
time_t ngx_http_persona_now(ngx_http_request_t *r);
u_char *ngx_http_persona_append_new(u_char *start, u_char *p,
    ngx_str_t *list);

ngx_http_persona_cond_t *ngx_http_persona_cond_compile(ngx_conf_t *cf,
    ngx_str_t *src);
ngx_int_t ngx_http_persona_cond_eval(ngx_http_request_t *r,
    ngx_http_persona_cond_t *cond);

ngx_int_t ngx_http_persona_parse_percent(ngx_str_t *value);
ngx_uint_t ngx_http_persona_valid_name(ngx_str_t *name, const char *extra);
ngx_int_t ngx_http_persona_register_variables(ngx_conf_t *cf,
    ngx_http_variable_t *vars);

char *ngx_http_persona_segment(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_persona_segment_index(ngx_conf_t *cf, ngx_str_t *name,
    ngx_uint_t add);
char *ngx_http_persona_segments_check(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
ngx_int_t ngx_http_persona_segment_eval(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t i);
char *ngx_http_persona_segments_db(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_persona_crm_init_process(ngx_cycle_t *cycle);
void ngx_http_persona_crm_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_persona_crm_segments(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *list);
char *ngx_http_persona_geoip2(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_geoip2_variable(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_persona_geo_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_persona_geo_init_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_persona_geo_timezone(ngx_http_request_t *r,
    ngx_str_t *tz);

ngx_int_t ngx_http_persona_crm_member(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *segment);


extern ngx_module_t  ngx_http_persona_module;


#endif /* _NGX_HTTP_PERSONA_MODULE_H_INCLUDED_ */
