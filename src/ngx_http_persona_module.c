
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Module definition: every directive (each file parses its own), the
 * configuration create/merge, the registration of every file's
 * variables, process hooks, and the request context that survives
 * internal redirects.
 */


#include "ngx_http_persona.h"

#include "persona_channel.h"
#include "persona_list.h"


static ngx_int_t ngx_http_persona_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_persona_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_persona_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_persona_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_persona_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_persona_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_persona_set_enum(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_persona_register_variables(ngx_conf_t *cf,
    ngx_http_variable_t *vars);
static void ngx_http_persona_ctx_cleanup(void *data);
static ngx_int_t ngx_http_persona_init_process(ngx_cycle_t *cycle);
static void ngx_http_persona_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_persona_cache[] = {
    { ngx_string("private"), NGX_HTTP_PERSONA_CACHE_PRIVATE },
    { ngx_string("vary"), NGX_HTTP_PERSONA_CACHE_VARY },
    { ngx_string("none"), NGX_HTTP_PERSONA_CACHE_NONE },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_persona_mode[] = {
    { ngx_string("all"), NGX_HTTP_PERSONA_MODE_ALL },
    { ngx_string("declared"), NGX_HTTP_PERSONA_MODE_DECLARED },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_persona_commands[] = {

    { ngx_string("persona"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_persona_loc_conf_t, enable),
      NULL },

    { ngx_string("persona_id"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_persona_id,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_persona_cookie,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_persona_key,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_preview"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_persona_preview,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_bots"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_persona_bots,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_consent"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_persona_consent,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_experiment"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_persona_experiment_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_segment"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_persona_segment,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_geoip2"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_persona_geoip2,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_geoip2_variable"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_persona_geoip2_variable,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_timezones"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_persona_main_conf_t, zones_dir),
      NULL },

    { ngx_string("persona_channel_rule"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE3,
      ngx_http_persona_channel_rule,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_time"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_persona_loc_conf_t, time),
      NULL },

    { ngx_string("persona_segments_db"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_persona_segments_db,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_content"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_persona_content_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_slot"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_persona_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_types"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_types_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_persona_loc_conf_t, types_keys),
      &ngx_http_html_default_types[0] },

    { ngx_string("persona_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_persona_set_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_persona_loc_conf_t, cache),
      &ngx_http_persona_cache },

    { ngx_string("persona_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_persona_set_enum,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_persona_loc_conf_t, mode),
      &ngx_http_persona_mode },

    { ngx_string("persona_conversion"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_persona_conversion,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_slot_buffer_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_persona_loc_conf_t, slot_buffer_size),
      NULL },

    { ngx_string("persona_slot_once"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_persona_loc_conf_t, slot_once),
      NULL },

    { ngx_string("persona_fill_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_persona_loc_conf_t, fill_max_size),
      NULL },

    { ngx_string("persona_holdout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_persona_holdout_cmd,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_entry_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_persona_entry_cookie,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_persona_metrics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("persona_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_persona_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_persona_module_ctx = {
    ngx_http_persona_preconfiguration,     /* preconfiguration */
    ngx_http_persona_postconfiguration,    /* postconfiguration */

    ngx_http_persona_create_main_conf,     /* create main configuration */
    ngx_http_persona_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_persona_create_loc_conf,      /* create location configuration */
    ngx_http_persona_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_persona_module = {
    NGX_MODULE_V1,
    &ngx_http_persona_module_ctx,          /* module context */
    ngx_http_persona_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_persona_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_persona_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* every file's variables, registered before the configuration is read */

static ngx_http_variable_t  *ngx_http_persona_variables[] = {
    ngx_http_persona_id_vars,
    ngx_http_persona_geo_vars,
    ngx_http_persona_context_vars,
    ngx_http_persona_time_vars,
    ngx_http_persona_segment_vars,
    ngx_http_persona_content_vars,
    ngx_http_persona_experiment_vars,
    ngx_http_persona_event_vars,
    ngx_http_persona_conversion_vars,
    NULL
};


static ngx_int_t
ngx_http_persona_preconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_persona_variables[i] != NULL; i++) {
        if (ngx_http_persona_register_variables(cf,
                                                ngx_http_persona_variables[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_persona_variables_check(cf) != NGX_CONF_OK
        || ngx_http_persona_metrics_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_persona_filter_init(cf);
}


static ngx_int_t
ngx_http_persona_init_process(ngx_cycle_t *cycle)
{
    return ngx_http_persona_watch_init_process(cycle);
}


static void
ngx_http_persona_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_persona_watch_exit_process(cycle);
}


static void *
ngx_http_persona_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&pmcf->experiments, cf->pool, 4,
                       sizeof(ngx_http_persona_experiment_t))
        != NGX_OK
        || ngx_array_init(&pmcf->segments, cf->pool, 4,
                          sizeof(ngx_http_persona_segment_t))
           != NGX_OK
        || ngx_array_init(&pmcf->consents, cf->pool, 2,
                          sizeof(ngx_http_persona_consent_t))
           != NGX_OK
        || ngx_array_init(&pmcf->geo, cf->pool, 2,
                          sizeof(ngx_http_persona_geo_t *))
           != NGX_OK
        || ngx_array_init(&pmcf->watches, cf->pool, 2,
                          sizeof(ngx_http_persona_watch_t *))
           != NGX_OK
        || ngx_array_init(&pmcf->channel_rules, cf->pool, 4,
                          sizeof(persona_channel_rule_t))
           != NGX_OK
        || ngx_array_init(&pmcf->sets, cf->pool, 4,
                          sizeof(ngx_http_persona_content_set_t))
           != NGX_OK)
    {
        return NULL;
    }

    pmcf->holdout = NGX_CONF_UNSET_UINT;

    return pmcf;
}


/* the http block is read: each file checks and completes what it owns */

static char *
ngx_http_persona_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    if (ngx_http_persona_key_check(cf, pmcf) != NGX_CONF_OK
        || ngx_http_persona_preview_init(cf, pmcf) != NGX_CONF_OK
        || ngx_http_persona_id_init(cf, pmcf) != NGX_CONF_OK
        || ngx_http_persona_context_init(cf, pmcf) != NGX_CONF_OK
        || ngx_http_persona_time_init(cf, pmcf) != NGX_CONF_OK
        || ngx_http_persona_segments_check(cf, pmcf) != NGX_CONF_OK
        || ngx_http_persona_content_init(cf, pmcf) != NGX_CONF_OK
        || ngx_http_persona_experiments_check(cf, pmcf) != NGX_CONF_OK
        || ngx_http_persona_event_init(cf, pmcf) != NGX_CONF_OK
        || ngx_http_persona_lua_init(cf, pmcf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_persona_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_persona_loc_conf_t  *plcf;

    plcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_loc_conf_t));
    if (plcf == NULL) {
        return NULL;
    }

    plcf->enable = NGX_CONF_UNSET;
    plcf->ids = NGX_CONF_UNSET_PTR;
    plcf->cookie = NGX_CONF_UNSET_PTR;
    plcf->consent = NGX_CONF_UNSET_PTR;
    plcf->time = NGX_CONF_UNSET_PTR;
    plcf->preview = NGX_CONF_UNSET;
    plcf->preview_max_age = NGX_CONF_UNSET;
    plcf->bots = NGX_CONF_UNSET_UINT;
    plcf->bots_cond = NGX_CONF_UNSET_PTR;
    plcf->goals = NGX_CONF_UNSET_PTR;
    plcf->slots = NGX_CONF_UNSET_PTR;
    plcf->cache = NGX_CONF_UNSET_UINT;
    plcf->mode = NGX_CONF_UNSET_UINT;
    plcf->slot_buffer_size = NGX_CONF_UNSET_SIZE;
    plcf->slot_once = NGX_CONF_UNSET;
    plcf->fill_max_size = NGX_CONF_UNSET_SIZE;
    plcf->entry = NGX_CONF_UNSET_PTR;

    return plcf;
}


static char *
ngx_http_persona_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_persona_loc_conf_t *prev = parent;
    ngx_http_persona_loc_conf_t *conf = child;

    ngx_http_persona_main_conf_t  *pmcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_ptr_value(conf->ids, prev->ids, NULL);
    ngx_conf_merge_ptr_value(conf->consent, prev->consent, NULL);
    ngx_conf_merge_ptr_value(conf->time, prev->time, NULL);
    ngx_conf_merge_value(conf->preview, prev->preview, 0);
    ngx_conf_merge_sec_value(conf->preview_max_age, prev->preview_max_age,
                             3600);

    /* the condition of "exclude" is inherited with it */

    if (conf->bots == NGX_CONF_UNSET_UINT) {
        conf->bots = prev->bots;
        conf->bots_cond = prev->bots_cond;
    }

    ngx_conf_merge_uint_value(conf->bots, prev->bots,
                              NGX_HTTP_PERSONA_BOTS_EXCLUDE);
    ngx_conf_merge_ptr_value(conf->bots_cond, prev->bots_cond, NULL);
    ngx_conf_merge_ptr_value(conf->goals, prev->goals, NULL);
    ngx_conf_merge_uint_value(conf->cache, prev->cache,
                              NGX_HTTP_PERSONA_CACHE_PRIVATE);
    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_PERSONA_MODE_ALL);

    if (conf->mode == NGX_HTTP_PERSONA_MODE_DECLARED) {
        pmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_persona_module);
        pmcf->declared = 1;
    }
    ngx_conf_merge_size_value(conf->slot_buffer_size, prev->slot_buffer_size,
                              16 * 1024);
    ngx_conf_merge_value(conf->slot_once, prev->slot_once, 1);
    ngx_conf_merge_size_value(conf->fill_max_size, prev->fill_max_size,
                              1024 * 1024);

    if (ngx_http_merge_types(cf, &conf->types_keys, &conf->types,
                             &prev->types_keys, &prev->types,
                             ngx_http_html_default_types)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_persona_merge_slots(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_persona_merge_cookie(cf, prev, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_persona_merge_entry(cf, prev, conf);
}


/* ngx_conf_set_enum_slot(), with the allowed values in its message */

static char *
ngx_http_persona_set_enum(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    u_char           *last, *end, buf[NGX_MAX_CONF_ERRSTR];
    ngx_str_t        *value;
    ngx_uint_t       *np, i;
    ngx_conf_enum_t  *e;

    np = (ngx_uint_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    e = cmd->post;

    for (i = 0; e[i].name.len != 0; i++) {
        if (e[i].name.len == value[1].len
            && ngx_strcasecmp(e[i].name.data, value[1].data) == 0)
        {
            *np = e[i].value;
            return NGX_CONF_OK;
        }
    }

    last = buf;
    end = buf + sizeof(buf);

    for (i = 0; e[i].name.len != 0; i++) {
        last = ngx_slprintf(last, end, "%s\"%V\"",
                            i == 0 ? "" : e[i + 1].name.len ? ", " : " or ",
                            &e[i].name);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\", must be %*s", &value[1],
                       last - buf, buf);

    return NGX_CONF_ERROR;
}


/* registers a table of variables ending with ngx_http_null_variable */

static ngx_int_t
ngx_http_persona_register_variables(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/*
 * nginx zeroes r->ctx on an internal redirect and when a filter finalizes
 * the request (a 412 or 416 error page); the pool cleanup entry
 * registered with the context outlives it, so the context is found again
 * there (the same technique as the realip module).
 */

ngx_http_persona_ctx_t *
ngx_http_persona_find_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_persona_ctx_t  *ctx;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_persona_module);

    if (ctx != NULL || !(r->internal || r->filter_finalize)) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_persona_ctx_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_persona_module);
            return ctx;
        }
    }

    return NULL;
}


ngx_http_persona_ctx_t *
ngx_http_persona_get_ctx(ngx_http_request_t *r)
{
    size_t                         bytes;
    ngx_uint_t                     i, n, ns, nc;
    ngx_pool_cleanup_t            *cln;
    ngx_http_persona_ctx_t        *ctx;
    ngx_http_persona_main_conf_t  *pmcf;

    ctx = ngx_http_persona_find_ctx(r);
    if (ctx != NULL) {
        return ctx;
    }

    r = r->main;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    n = pmcf->experiments.nelts;
    ns = pmcf->segments.nelts;
    nc = pmcf->sets.nelts;

    /* the arrays of ngx_int_t first, then bytes: exposed, segments,
     * set_state, reads */

    bytes = (n + nc) + ns + nc + nc * n;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_persona_ctx_t)
                                        + (n + nc) * sizeof(ngx_int_t)
                                        + bytes);
    if (cln == NULL) {
        return NULL;
    }

    ctx = cln->data;
    ngx_memzero(ctx, sizeof(ngx_http_persona_ctx_t));

    ctx->assign = (ngx_int_t *) (ctx + 1);
    ctx->rule = ctx->assign + n;
    ctx->exposed = (u_char *) (ctx->rule + nc);

    for (i = 0; i < n; i++) {
        ctx->assign[i] = NGX_HTTP_PERSONA_UNKNOWN;
    }

    for (i = 0; i < nc; i++) {
        ctx->rule[i] = NGX_HTTP_PERSONA_UNKNOWN;
    }

    ctx->segments = ctx->exposed + n + nc;
    ctx->set_state = ctx->segments + ns;
    ctx->reads = ctx->set_state + nc;

    ngx_memzero(ctx->exposed, bytes);

    cln->handler = ngx_http_persona_ctx_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_persona_module);

    return ctx;
}


static void
ngx_http_persona_ctx_cleanup(void *data)
{
    /* nothing to free: the context lives in the request pool */
}


/* a response header added by the module (Set-Cookie, Vary, ...) */

ngx_table_elt_t *
ngx_http_persona_push_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    h->key = *key;
    h->value = *value;

    return h;
}


/*
 * Set-Cookie: NAME=VALUE[; Max-Age=N]ATTRS[; Secure]; max_age -1: none.
 * A cookie expired (max_age 0) also has an Expires date in the past, for
 * the clients that know no Max-Age.
 */

ngx_table_elt_t *
ngx_http_persona_push_cookie(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value, time_t max_age, ngx_str_t *attrs, ngx_uint_t secure)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   v;

    static ngx_str_t  key = ngx_string("Set-Cookie");
    static ngx_str_t  expired = ngx_string(
                                  "; Expires=Thu, 01 Jan 1970 00:00:00 GMT");

#if (NGX_HTTP_SSL)
    if (secure == NGX_HTTP_PERSONA_SECURE_AUTO) {
        secure = (r->main->connection->ssl != NULL);
    }
#endif

    secure = (secure == NGX_HTTP_PERSONA_SECURE_ON);

    len = name->len + 1 + value->len + sizeof("; Max-Age=") - 1
          + NGX_TIME_T_LEN + expired.len + attrs->len
          + sizeof("; Secure") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NULL;
    }

    v.data = p;

    p = ngx_sprintf(p, "%V=%V", name, value);

    if (max_age >= 0) {
        p = ngx_sprintf(p, "; Max-Age=%T", max_age);
    }

    if (max_age == 0) {
        p = ngx_cpymem(p, expired.data, expired.len);
    }

    p = ngx_cpymem(p, attrs->data, attrs->len);

    if (secure) {
        p = ngx_cpymem(p, "; Secure", sizeof("; Secure") - 1);
    }

    v.len = p - v.data;

    return ngx_http_persona_push_header(r, &key, &v);
}


void
ngx_http_persona_variable_str(ngx_http_variable_value_t *v, u_char *data,
    size_t len)
{
    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
}


/* a module-wide counter (NGX_HTTP_PERSONA_COUNT_), when metrics are on */

void
ngx_http_persona_count(ngx_http_request_t *r, ngx_uint_t counter)
{
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

    if (pmcf->counters != NULL && pmcf->counters[counter] != NULL) {
        (void) ngx_atomic_fetch_add(pmcf->counters[counter], 1);
    }
}


/*
 * Names of experiments (which name variables), variants, slots, segments,
 * goals: 1 to 64 letters, digits and "_", plus the characters of "extra".
 */

ngx_uint_t
ngx_http_persona_valid_name(ngx_str_t *name, const char *extra)
{
    return persona_name_valid(name->data, name->len, extra);
}
