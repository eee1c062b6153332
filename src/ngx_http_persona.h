
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Shared declarations of the persona module, grouped by the file that
 * defines them, in the order a request flows through them:
 *
 *   module      directives, configuration, variable registration, the
 *               request context
 *   watch       files reloaded when they change (geo database, CRM list)
 *   cond        conditions: the rule language bound to nginx
 *   key         persona_key: signing and checking signed values
 *   preview     signed preview links: forced variants, rules and clock
 *   id          who the visitor is: persona_id, the cookie, consent
 *   geo         geolocation
 *   context     device class and traffic channel
 *   entry       the channel of the visit that brought the visitor
 *   time        persona_time, local hour and weekday
 *   crm         segment lists exported from a CRM
 *   segment     persona_segment, segment membership, $persona_segments
 *   bot         persona_bots: which visitors experiments leave out
 *   content     fragments, templates, persona_content rule sets
 *   sticky      assignments kept in a signed cookie
 *   experiment  persona_experiment, variant assignment
 *   slot        persona_slot: what a slot of a page gets
 *   filter      header and body filters
 *   event       exposure events
 *   conversion  the conversion beacon
 *   metrics     live counters in shared memory, persona_metrics
 *   lua         functions for the Lua library (resty.persona), through
 *               LuaJIT's FFI
 *
 * A file calls only functions of files above it; module.c, where
 * everything is registered, is the exception.
 */


#ifndef _NGX_HTTP_PERSONA_H_INCLUDED_
#define _NGX_HTTP_PERSONA_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct ngx_http_persona_cond_s        ngx_http_persona_cond_t;
typedef struct ngx_http_persona_watch_s       ngx_http_persona_watch_t;
typedef struct ngx_http_persona_geo_s         ngx_http_persona_geo_t;
typedef struct ngx_http_persona_geo_result_s  ngx_http_persona_geo_result_t;
typedef struct ngx_http_persona_crm_s         ngx_http_persona_crm_t;
typedef struct ngx_http_persona_filter_ctx_s  ngx_http_persona_filter_ctx_t;
typedef struct ngx_http_persona_preview_s     ngx_http_persona_preview_t;
typedef struct ngx_http_persona_sticky_s      ngx_http_persona_sticky_t;
typedef struct ngx_http_persona_experiment_s  ngx_http_persona_experiment_t;
typedef struct ngx_http_persona_content_set_s ngx_http_persona_content_set_t;
typedef struct ngx_http_persona_metrics_s     ngx_http_persona_metrics_t;
typedef struct ngx_http_persona_entry_s       ngx_http_persona_entry_t;


/* module.c ------------------------------------------------------------ */

/* results of a lookup that has no value: negative, never an index */
#define NGX_HTTP_PERSONA_UNKNOWN       -2
#define NGX_HTTP_PERSONA_NONE          -3


typedef struct {
    ngx_array_t                 experiments;  /* experiment_t */
    ngx_array_t                 sets;         /* content_set_t */
    ngx_array_t                 segments;     /* segment_t */
    ngx_array_t                 consents;     /* consent_t */
    ngx_http_persona_crm_t     *crm;          /* persona_segments_db */
    ngx_array_t                 geo;          /* ngx_http_persona_geo_t * */
    ngx_array_t                 watches;      /* ngx_http_persona_watch_t * */
    ngx_array_t                 zones;        /* zone_t, sorted by name */
    ngx_str_t                   zones_dir;
    ngx_array_t                 channel_rules;
    ngx_int_t                   ch_mobile_index;
    ngx_int_t                   gpc_index;    /* $http_sec_gpc */
    ngx_int_t                   segments_index;
    ngx_int_t                   country_index;
    ngx_int_t                   device_index;
    ngx_int_t                   channel_index;
    ngx_int_t                   hour_index;
    ngx_int_t                   request_id_index;
    ngx_int_t                   preview_index;  /* $cookie_persona_preview */
    ngx_array_t                 var_refs;     /* variables conditions and
                                                 templates use */

    ngx_str_t                   keys[2];    /* persona_key: [0] signs */
    ngx_uint_t                  nkeys;
    const char                 *key_need;   /* first user of a key */
    ngx_str_t                   key_need_file;
    ngx_uint_t                  key_need_line;

    ngx_uint_t                  holdout;      /* persona_holdout, bp */
    ngx_str_t                   holdout_seed;
    ngx_http_persona_metrics_t *metrics;      /* persona_metrics_zone */
    ngx_atomic_t              **counters;     /* NGX_HTTP_PERSONA_COUNT_ */
    ngx_flag_t                  declared;     /* a persona_mode declared */
} ngx_http_persona_main_conf_t;


typedef struct {
    ngx_str_t                   name;
    ngx_int_t                   sticky_index;   /* cookie_NAME_sticky */
    time_t                      max_age;
    ngx_str_t                   attrs;      /* "; Path=..; HttpOnly.." */
    ngx_uint_t                  secure;
} ngx_http_persona_cookie_t;


typedef struct {
    ngx_flag_t                  enable;
    ngx_array_t                *ids;        /* ngx_http_persona_source_t */
    ngx_http_persona_cookie_t  *cookie;     /* NULL: cookie off */
    ngx_http_persona_cond_t    *consent;
    ngx_http_complex_value_t   *time;       /* persona_time */
    ngx_flag_t                  preview;    /* persona_preview */
    time_t                      preview_max_age;
    ngx_uint_t                  bots;       /* persona_bots */
    ngx_http_persona_cond_t    *bots_cond;  /* NULL: $persona_device */
    ngx_str_t                  *goals;      /* persona_conversion goals= */

    ngx_array_t                *slots;      /* ngx_http_persona_slot_t */
    ngx_hash_t                  types;
    ngx_array_t                *types_keys;
    ngx_uint_t                  cache;
    ngx_uint_t                  mode;       /* persona_mode */
    size_t                      slot_buffer_size;
    ngx_flag_t                  slot_once;
    size_t                      fill_max_size;
    ngx_http_persona_entry_t   *entry;      /* NULL: entry cookie off */
} ngx_http_persona_loc_conf_t;


/*
 * Everything computed for one request.  It lives on the main request and
 * is found again after an internal redirect, which clears r->ctx, so an
 * id generated before the redirect is the id used after it.
 */
typedef struct {
    ngx_str_t                       id;
    ngx_str_t                       previous_id; /* the id "id" replaced */
    ngx_str_t                       cookie;     /* to send, if not "id" */
    ngx_int_t                      *assign;     /* per experiment: variant */
    u_char                         *exposed;    /* per experiment, then per
                                                   content set: flags */
    u_char                         *segments;   /* per segment: state */
    ngx_int_t                      *rule;       /* per content set: rule */
    u_char                         *set_state;  /* per content set */
    u_char                         *reads;      /* per content set, per
                                                   experiment: read by its
                                                   rules */
    u_char                         *reading;    /* reads noted there */
    ngx_array_t                    *goals;      /* of the conversions:
                                                   goal and value */
    ngx_str_t                       entry;      /* their entry channel */
    ngx_str_t                       crm;        /* CRM segments and those
                                                   added from Lua, "a,b" */
    ngx_str_t                       conversion; /* the conversion event */
    ngx_str_t                       exposures;  /* $persona_exposures */
    ngx_uint_t                      exposures_n;
    ngx_http_persona_filter_ctx_t  *filter;
    ngx_http_persona_geo_result_t  *geo;        /* per database */
    ngx_array_t                    *rendered;   /* templates rendered */
    ngx_http_persona_preview_t     *preview;    /* NULL: not a preview */
    ngx_http_persona_sticky_t      *sticky;

    unsigned                        id_done:1;
    unsigned                        id_new:1;
    unsigned                        consent:1;
    unsigned                        cookie_sent:1;
    unsigned                        cookie_expire:1;
    unsigned                        crm_done:1;
    unsigned                        no_new_id:1;
    unsigned                        preview_done:1;
    unsigned                        preview_off:1;
    unsigned                        bot_done:1;
    unsigned                        bot:1;
    unsigned                        holdout_done:1;
    unsigned                        holdout:1;
    unsigned                        entry_done:1;
    unsigned                        personal:1;
    /* the visitor's id, variants or segments were read for the response */
    unsigned                        varies:1;
    /* rules of a held-out visitor: the variants they would see */
    unsigned                        would_see:1;
} ngx_http_persona_ctx_t;


/* module-wide counters, kept in the metrics zone when there is one */
#define NGX_HTTP_PERSONA_COUNT_COMPRESSED   0
#define NGX_HTTP_PERSONA_COUNT_SLOT_LARGE   1
#define NGX_HTTP_PERSONA_COUNT_FILL_LIMIT   2
#define NGX_HTTP_PERSONA_COUNT_N            3


ngx_http_persona_ctx_t *ngx_http_persona_get_ctx(ngx_http_request_t *r);
ngx_http_persona_ctx_t *ngx_http_persona_find_ctx(ngx_http_request_t *r);
ngx_table_elt_t *ngx_http_persona_push_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);
ngx_table_elt_t *ngx_http_persona_push_cookie(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, time_t max_age, ngx_str_t *attrs,
    ngx_uint_t secure);
void ngx_http_persona_variable_str(ngx_http_variable_value_t *v,
    u_char *data, size_t len);
ngx_uint_t ngx_http_persona_valid_name(ngx_str_t *name, const char *extra);
void ngx_http_persona_count(ngx_http_request_t *r, ngx_uint_t counter);

extern ngx_module_t  ngx_http_persona_module;


/* watch.c ------------------------------------------------------------- */

/*
 * open() loads the file at path and returns its data, or NULL after
 * logging why at level; close() frees what open() returned.
 */
typedef void *(*ngx_http_persona_watch_open_pt)(void *conf, ngx_str_t *path,
    ngx_log_t *log, ngx_uint_t level);
typedef void (*ngx_http_persona_watch_close_pt)(void *data);


/*
 * What every worker did with a watched file, in shared memory (metrics):
 * a version is the file's identity, modification time and size.
 */
typedef struct {
    ngx_atomic_t                version;     /* of the data in use */
    ngx_atomic_t                mtime;
    ngx_atomic_t                generation;  /* versions loaded */
    ngx_atomic_t                failed;      /* last version refused */
    ngx_atomic_t                failures;    /* versions refused */
} ngx_http_persona_watch_stats_t;

char *ngx_http_persona_watch_add(ngx_conf_t *cf, const char *what,
    ngx_str_t *path, ngx_msec_t interval, ngx_http_persona_watch_open_pt open,
    ngx_http_persona_watch_close_pt close, void *conf, void *data,
    ngx_http_persona_watch_t **watch);
char *ngx_http_persona_watch_interval(ngx_conf_t *cf, ngx_str_t *value,
    ngx_msec_t *interval);
void *ngx_http_persona_watch_data(ngx_http_persona_watch_t *watch);
ngx_int_t ngx_http_persona_watch_init_process(ngx_cycle_t *cycle);
void ngx_http_persona_watch_exit_process(ngx_cycle_t *cycle);
void ngx_http_persona_watch_name(ngx_http_persona_watch_t *watch,
    const char **what, ngx_str_t **path);
void ngx_http_persona_watch_stats(ngx_http_persona_watch_t *watch,
    ngx_http_persona_watch_stats_t *stats);


/* cond.c -------------------------------------------------------------- */

/* persona_segment NAME COND, or a name conditions refer to */
typedef struct {
    ngx_str_t                   name;
    ngx_http_persona_cond_t    *cond;       /* NULL: CRM list only */
    ngx_str_t                   file;
    ngx_uint_t                  line;
    unsigned                    defined:1;
} ngx_http_persona_segment_t;


/* a full evaluation of segment i for conditions that need one */
typedef ngx_int_t (*ngx_http_persona_segment_pt)(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t i);

ngx_http_persona_cond_t *ngx_http_persona_cond_compile(ngx_conf_t *cf,
    ngx_str_t *src);
ngx_int_t ngx_http_persona_cond_eval(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_cond_t *cond,
    ngx_http_persona_segment_pt segment);
void ngx_http_persona_cond_segments(ngx_http_persona_cond_t *cond,
    ngx_array_t *ids);
ngx_int_t ngx_http_persona_segment_find(ngx_http_persona_main_conf_t *pmcf,
    ngx_str_t *name);
ngx_int_t ngx_http_persona_segment_index(ngx_conf_t *cf, ngx_str_t *name,
    ngx_uint_t add);
ngx_int_t ngx_http_persona_variable_index(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *fragment);
char *ngx_http_persona_variables_check(ngx_conf_t *cf);


/* key.c --------------------------------------------------------------- */

char *ngx_http_persona_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_persona_key_need(ngx_conf_t *cf, const char *what);
char *ngx_http_persona_key_check(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
ngx_int_t ngx_http_persona_sign(ngx_http_request_t *r, const char *kind,
    ngx_str_t *data, ngx_str_t *out);
ngx_int_t ngx_http_persona_unsign(ngx_http_request_t *r, const char *kind,
    ngx_str_t *value, ngx_str_t *data);


/* preview.c ----------------------------------------------------------- */

char *ngx_http_persona_preview(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_preview_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
ngx_http_persona_preview_t *ngx_http_persona_get_preview(
    ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx);
ngx_int_t ngx_http_persona_preview_variant(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp);
ngx_int_t ngx_http_persona_preview_rule(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_content_set_t *set);
time_t ngx_http_persona_preview_time(ngx_http_request_t *r);
ngx_int_t ngx_http_persona_preview_header(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);
ngx_int_t ngx_http_persona_find_variant(ngx_http_persona_experiment_t *exp,
    u_char *name, size_t len);


/* id.c ---------------------------------------------------------------- */

#define NGX_HTTP_PERSONA_ID_MAX        256
#define NGX_HTTP_PERSONA_RANDOM_ID_LEN 32

#define NGX_HTTP_PERSONA_SECURE_OFF    0
#define NGX_HTTP_PERSONA_SECURE_ON     1
#define NGX_HTTP_PERSONA_SECURE_AUTO   2


/* a persona_id variable and how far it is trusted */
typedef struct {
    ngx_http_complex_value_t    value;
    unsigned                    signed_:1;  /* "signed": HMAC required */
    unsigned                    persist:1;  /* "persist": the cookie id */
} ngx_http_persona_source_t;


/* persona_consent, checked against segments once all are known */
typedef struct {
    ngx_http_persona_cond_t    *cond;
    ngx_str_t                   file;
    ngx_uint_t                  line;
} ngx_http_persona_consent_t;


extern ngx_http_variable_t  ngx_http_persona_id_vars[];

char *ngx_http_persona_id(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_persona_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_consent(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_merge_cookie(ngx_conf_t *cf,
    ngx_http_persona_loc_conf_t *prev, ngx_http_persona_loc_conf_t *conf);
char *ngx_http_persona_id_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
ngx_int_t ngx_http_persona_identify(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);
ngx_int_t ngx_http_persona_random_id(ngx_http_request_t *r, ngx_str_t *id);
ngx_int_t ngx_http_persona_set_cookie(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);


/* geo.c --------------------------------------------------------------- */

extern ngx_http_variable_t  ngx_http_persona_geo_vars[];

char *ngx_http_persona_geoip2(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_geoip2_variable(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_persona_geo_timezone(ngx_http_request_t *r,
    ngx_str_t *tz);


/* context.c ----------------------------------------------------------- */

extern ngx_http_variable_t  ngx_http_persona_context_vars[];

char *ngx_http_persona_channel_rule(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_context_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);


/* entry.c ------------------------------------------------------------- */

char *ngx_http_persona_entry_cookie(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_merge_entry(ngx_conf_t *cf,
    ngx_http_persona_loc_conf_t *prev, ngx_http_persona_loc_conf_t *conf);
ngx_int_t ngx_http_persona_entry_set_cookie(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);
ngx_int_t ngx_http_persona_entry_channel(ngx_http_request_t *r,
    ngx_str_t *channel);


/* time.c -------------------------------------------------------------- */

extern ngx_http_variable_t  ngx_http_persona_time_vars[];

char *ngx_http_persona_time_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
time_t ngx_http_persona_now(ngx_http_request_t *r);


/* crm.c --------------------------------------------------------------- */

char *ngx_http_persona_segments_db(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_persona_crm_lookup(ngx_http_request_t *r,
    ngx_http_persona_crm_t *crm, ngx_str_t *id, ngx_str_t *list);
ngx_int_t ngx_http_persona_crm_knows(ngx_http_persona_crm_t *crm,
    ngx_str_t *name);


/* segment.c ----------------------------------------------------------- */

extern ngx_http_variable_t  ngx_http_persona_segment_vars[];

char *ngx_http_persona_segment(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_segments_check(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
ngx_int_t ngx_http_persona_test(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_cond_t *cond);
ngx_int_t ngx_http_persona_segment_has(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *name);
ngx_int_t ngx_http_persona_segment_add(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *name);


/* bot.c --------------------------------------------------------------- */

#define NGX_HTTP_PERSONA_BOTS_INCLUDE  0
#define NGX_HTTP_PERSONA_BOTS_EXCLUDE  1

char *ngx_http_persona_bots(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_persona_is_bot(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);


/* content.c ----------------------------------------------------------- */

/* a variant's or a rule's fragment file or inline text, with {{$var}} */
typedef struct {
    ngx_array_t                *parts;      /* literal and variable parts */
    ngx_str_t                   text;       /* whole text when no vars */
    size_t                      len;        /* length of literal parts */
    ngx_str_t                   source;     /* file name or "text" */
    unsigned                    vars:1;
} ngx_http_persona_content_t;


/* persona_content NAME { when COND ...; default ...; } */
typedef struct {
    ngx_http_persona_cond_t    *cond;       /* NULL: default */
    ngx_http_persona_content_t *content;
    ngx_str_t                   name;       /* name=, else its position */
} ngx_http_persona_content_rule_t;


struct ngx_http_persona_content_set_s {
    ngx_str_t                   name;
    ngx_uint_t                  index;
    ngx_array_t                 rules;      /* content_rule_t */
    ngx_uint_t                  holdout;    /* basis points */
    ngx_str_t                   holdout_seed;
};


/* ctx->set_state */
#define NGX_HTTP_PERSONA_SET_CHOSEN    1
#define NGX_HTTP_PERSONA_SET_HELD      2


ngx_http_persona_content_t *ngx_http_persona_content_parse(ngx_conf_t *cf,
    ngx_str_t *args, ngx_uint_t nargs, ngx_uint_t *i);
char *ngx_http_persona_content_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_http_persona_content_set_t *ngx_http_persona_find_content(
    ngx_http_persona_main_conf_t *pmcf, ngx_str_t *name);
ngx_int_t ngx_http_persona_content_render(ngx_http_request_t *r,
    ngx_http_persona_content_t *content, ngx_str_t *out);
extern ngx_http_variable_t  ngx_http_persona_content_vars[];

char *ngx_http_persona_holdout_cmd(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_content_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
ngx_int_t ngx_http_persona_holdout(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);
ngx_int_t ngx_http_persona_content_choose(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_content_set_t *set,
    ngx_http_persona_content_t **content);


/* sticky.c ------------------------------------------------------------ */

ngx_int_t ngx_http_persona_sticky_get(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp);
ngx_int_t ngx_http_persona_sticky_set(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp,
    ngx_uint_t variant);
ngx_int_t ngx_http_persona_sticky_header(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);


/* experiment.c -------------------------------------------------------- */

#define NGX_HTTP_PERSONA_HASH_V1       1
#define NGX_HTTP_PERSONA_HASH_V2       2
#define NGX_HTTP_PERSONA_HASH_SPLIT    3

/* how an experiment's variant reached the response */
#define NGX_HTTP_PERSONA_EXPOSED_SLOT  1
#define NGX_HTTP_PERSONA_EXPOSED_VAR   2


/* a variant, a cell of a multivariate experiment, or a factor's level */
typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  weight;     /* basis points */
    unsigned                    weighted:1;
    ngx_http_persona_content_t *content;
    ngx_str_t                   index_text; /* event fields, as JSON */
    ngx_str_t                   weight_text;
    ngx_str_t                   factors;    /* {"f":"level",...} */
} ngx_http_persona_variant_t;


/* factor NAME LEVEL ... of a multivariate experiment */
typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  index;
    ngx_array_t                 levels;     /* ngx_http_persona_variant_t */
    ngx_uint_t                  experiment;
} ngx_http_persona_factor_t;


struct ngx_http_persona_experiment_s {
    ngx_str_t                   name;
    ngx_uint_t                  index;
    ngx_str_t                   seed;
    ngx_uint_t                  hash;
    ngx_uint_t                  traffic;    /* basis points */
    ngx_array_t                 variants;   /* ngx_http_persona_variant_t */
    ngx_array_t                 factors;    /* ngx_http_persona_factor_t */
    ngx_uint_t                 *levels;     /* of cell c: [c * factors] */
    ngx_str_t                   traffic_text;

    double                     *start;      /* bucket range of variant i */
    double                     *end;
    uint32_t                   *split_end;  /* hash split_clients */

    ngx_str_t                   layer;
    double                      layer_start;
    double                      layer_end;
    ngx_uint_t                  layer_line;

    ngx_http_persona_cond_t    *target;
    time_t                      schedule_from;
    time_t                      schedule_to;

    ngx_uint_t                  bucket_version;
    unsigned                    sticky:1;

    ngx_str_t                   file;
    ngx_uint_t                  line;
};


extern ngx_http_variable_t  ngx_http_persona_experiment_vars[];

char *ngx_http_persona_experiment_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_experiments_check(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);
ngx_http_persona_experiment_t *ngx_http_persona_find_experiment(
    ngx_http_persona_main_conf_t *pmcf, ngx_str_t *name);
ngx_int_t ngx_http_persona_assign(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp);
ngx_int_t ngx_http_persona_variant_get(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp,
    ngx_uint_t expose, ngx_str_t *name);
ngx_int_t ngx_http_persona_variant_shown(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp);
ngx_http_persona_factor_t *ngx_http_persona_find_factor(
    ngx_http_persona_experiment_t *exp, ngx_str_t *name);


/* slot.c -------------------------------------------------------------- */

/* persona_slot SLOT TARGET|off */
typedef struct {
    ngx_str_t                       name;
    ngx_str_t                       target;
    ngx_http_persona_experiment_t  *experiment;
    ngx_http_persona_factor_t      *factor;
    ngx_http_persona_content_set_t *set;
    ngx_str_t                       file;
    ngx_uint_t                      line;
    unsigned                        off:1;
    unsigned                        location:1;
} ngx_http_persona_slot_t;


char *ngx_http_persona_slot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_persona_merge_slots(ngx_conf_t *cf,
    ngx_http_persona_loc_conf_t *prev, ngx_http_persona_loc_conf_t *conf);
ngx_int_t ngx_http_persona_slot_content(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_slot_t *slot,
    ngx_http_persona_content_t **content);
ngx_uint_t ngx_http_persona_exposures_n(ngx_http_request_t *r);


/* filter.c ------------------------------------------------------------ */

#define NGX_HTTP_PERSONA_CACHE_PRIVATE 0
#define NGX_HTTP_PERSONA_CACHE_VARY    1
#define NGX_HTTP_PERSONA_CACHE_NONE    2

#define NGX_HTTP_PERSONA_MODE_ALL      0
#define NGX_HTTP_PERSONA_MODE_DECLARED 1

ngx_int_t ngx_http_persona_filter_init(ngx_conf_t *cf);
ngx_uint_t ngx_http_persona_hide_header(ngx_http_request_t *r,
    ngx_str_t *name);


/* event.c ------------------------------------------------------------- */

extern ngx_http_variable_t  ngx_http_persona_event_vars[];

char *ngx_http_persona_event_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);

/*
 * The fields of an event line, in the order they are written; each
 * event fills those it has, event_common() the ones every event shares.
 */
enum {
    NGX_HTTP_PERSONA_EV_V = 0,
    NGX_HTTP_PERSONA_EV_TS,
    NGX_HTTP_PERSONA_EV_EVENT,
    NGX_HTTP_PERSONA_EV_ID,
    NGX_HTTP_PERSONA_EV_EXPERIMENT,
    NGX_HTTP_PERSONA_EV_VARIANT,
    NGX_HTTP_PERSONA_EV_VARIANT_INDEX,
    NGX_HTTP_PERSONA_EV_WEIGHT,
    NGX_HTTP_PERSONA_EV_TRAFFIC,
    NGX_HTTP_PERSONA_EV_FACTORS,
    NGX_HTTP_PERSONA_EV_CONTENT,
    NGX_HTTP_PERSONA_EV_RULE,
    NGX_HTTP_PERSONA_EV_HOLDOUT,
    NGX_HTTP_PERSONA_EV_GOAL,
    NGX_HTTP_PERSONA_EV_VALUE,
    NGX_HTTP_PERSONA_EV_ASSIGNMENTS,
    NGX_HTTP_PERSONA_EV_ENTRY_CHANNEL,
    NGX_HTTP_PERSONA_EV_SEGMENTS,
    NGX_HTTP_PERSONA_EV_COUNTRY,
    NGX_HTTP_PERSONA_EV_DEVICE,
    NGX_HTTP_PERSONA_EV_CHANNEL,
    NGX_HTTP_PERSONA_EV_URI,
    NGX_HTTP_PERSONA_EV_REQUEST_ID,
    NGX_HTTP_PERSONA_EV_ANONYMOUS_ID,
    NGX_HTTP_PERSONA_EV_PREVIEW,
    NGX_HTTP_PERSONA_EV_N
};

#include "persona_event.h"

ngx_int_t ngx_http_persona_event_common(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, persona_event_field_t *f);
void ngx_http_persona_event_set(persona_event_field_t *f, ngx_uint_t i,
    persona_event_type_e type, u_char *data, size_t len);
ngx_uint_t ngx_http_persona_exposed(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t i);
ngx_uint_t ngx_http_persona_content_exposed(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_uint_t j);


/* conversion.c -------------------------------------------------------- */

extern ngx_http_variable_t  ngx_http_persona_conversion_vars[];

char *ngx_http_persona_conversion(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_persona_conversion_record(ngx_http_request_t *r,
    ngx_str_t *goal, ngx_str_t *value);


/* metrics.c ----------------------------------------------------------- */

char *ngx_http_persona_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_persona_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_persona_metrics_init(ngx_conf_t *cf);


/* lua.c --------------------------------------------------------------- */

/*
 * Functions called from Lua through LuaJIT's FFI (src/lua/resty/persona.lua
 * declares them again with ffi.cdef): exported, with plain C types, in the
 * style of lua-resty-core.  Strings returned point into the request pool
 * or into the configuration and stay valid for the request.
 */

#define NGX_HTTP_PERSONA_FFI_OK         0
#define NGX_HTTP_PERSONA_FFI_ERROR     -1
#define NGX_HTTP_PERSONA_FFI_DECLINED  -5   /* no value: no id, not in it */
#define NGX_HTTP_PERSONA_FFI_UNKNOWN   -10  /* no experiment of that name */
#define NGX_HTTP_PERSONA_FFI_INVALID   -11  /* an invalid name or value */

/* persona.variant(): how reading the variant counts as an exposure */
#define NGX_HTTP_PERSONA_FFI_LOOK       0
#define NGX_HTTP_PERSONA_FFI_READ       1
#define NGX_HTTP_PERSONA_FFI_EXPOSE     2

/* persona.context() fields */
#define NGX_HTTP_PERSONA_FFI_COUNTRY    0
#define NGX_HTTP_PERSONA_FFI_DEVICE     1
#define NGX_HTTP_PERSONA_FFI_CHANNEL    2
#define NGX_HTTP_PERSONA_FFI_HOUR       3

char *ngx_http_persona_lua_init(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf);

int ngx_http_persona_ffi_id(ngx_http_request_t *r,
    const unsigned char **data, size_t *len);
int ngx_http_persona_ffi_variant(ngx_http_request_t *r,
    const unsigned char *name, size_t name_len, int expose,
    const unsigned char **data, size_t *len);
int ngx_http_persona_ffi_segments(ngx_http_request_t *r,
    const unsigned char **data, size_t *len);
int ngx_http_persona_ffi_in_segment(ngx_http_request_t *r,
    const unsigned char *name, size_t len);
int ngx_http_persona_ffi_add_segment(ngx_http_request_t *r,
    const unsigned char *name, size_t len);
int ngx_http_persona_ffi_context(ngx_http_request_t *r, int field,
    const unsigned char **data, size_t *len);
int ngx_http_persona_ffi_convert(ngx_http_request_t *r,
    const unsigned char *goal, size_t goal_len, const unsigned char *value,
    size_t value_len);


#endif /* _NGX_HTTP_PERSONA_H_INCLUDED_ */
