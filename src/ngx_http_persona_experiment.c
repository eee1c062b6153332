
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * persona_experiment blocks, variant assignment, $persona_variant_NAME
 * and $persona_assignments.  Everything that can be decided once (bucket
 * ranges, split_clients boundaries, layer ranges) is computed while the
 * configuration is read, so that assigning a visitor costs one or two
 * hashes and a short scan of the variants (src/core/persona_hash.c).
 * Values come from the request context, so reading the variables any
 * number of times, before or after an internal redirect, computes each
 * assignment once.
 */


#include "ngx_http_persona_module.h"

#include "persona_hash.h"
#include "persona_tz.h"


static char *ngx_http_persona_experiment_cmd(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static char *ngx_http_persona_variant(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp);
static char *ngx_http_persona_layer(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp);
static char *ngx_http_persona_schedule(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp);
static char *ngx_http_persona_experiment_done(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp);
static u_char *ngx_http_persona_format_percent(u_char *buf, ngx_uint_t bp);
static ngx_int_t ngx_http_persona_parse_percent(ngx_str_t *value);
static time_t ngx_http_persona_parse_utc(ngx_str_t *s);
static ngx_int_t ngx_http_persona_add_variant_variable(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp);
static ngx_int_t ngx_http_persona_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_assignments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


ngx_http_variable_t  ngx_http_persona_experiment_vars[] = {

    { ngx_string("persona_assignments"), NULL,
      ngx_http_persona_assignments_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


char *
ngx_http_persona_experiment_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    char                           *rv;
    ngx_str_t                      *value;
    ngx_conf_t                      save;
    ngx_http_persona_experiment_t  *exp;

    value = cf->args->elts;

    if (!ngx_http_persona_valid_name(&value[1], "")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid experiment name \"%V\", only letters, "
                           "digits and \"_\" are allowed", &value[1]);
        return NGX_CONF_ERROR;
    }

    exp = ngx_http_persona_find_experiment(pmcf, &value[1]);

    if (exp != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate experiment \"%V\", first defined "
                           "in %V:%ui", &value[1], &exp->file, exp->line);
        return NGX_CONF_ERROR;
    }

    exp = ngx_array_push(&pmcf->experiments);
    if (exp == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(exp, sizeof(ngx_http_persona_experiment_t));

    exp->name = value[1];
    exp->index = pmcf->experiments.nelts - 1;
    exp->seed = value[1];
    exp->hash = NGX_HTTP_PERSONA_HASH_V2;
    exp->traffic = 10000;
    exp->file = cf->conf_file->file.name;
    exp->line = cf->conf_file->line;

    if (ngx_array_init(&exp->variants, cf->pool, 4,
                       sizeof(ngx_http_persona_variant_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    save = *cf;
    cf->handler = ngx_http_persona_experiment_cmd;
    cf->handler_conf = (char *) exp;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    return ngx_http_persona_experiment_done(cf, exp);
}


static char *
ngx_http_persona_experiment_cmd(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf)
{
    ngx_http_persona_experiment_t *exp = (ngx_http_persona_experiment_t *)
                                         conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts >= 2
        && value[0].len == 7
        && ngx_strncmp(value[0].data, "variant", 7) == 0)
    {
        return ngx_http_persona_variant(cf, exp);
    }

    if (value[0].len == 5 && ngx_strncmp(value[0].data, "layer", 5) == 0) {
        return ngx_http_persona_layer(cf, exp);
    }

    if (value[0].len == 8 && ngx_strncmp(value[0].data, "schedule", 8) == 0) {
        return ngx_http_persona_schedule(cf, exp);
    }

    if (cf->args->nelts != 2) {
        if (value[0].len == 7 && ngx_strncmp(value[0].data, "variant", 7) == 0)
        {
            return "invalid number of arguments in \"variant\"";
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid number of arguments in \"%V\" of "
                           "experiment \"%V\"", &value[0], &exp->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[0].data, "traffic") == 0) {
        n = ngx_http_persona_parse_percent(&value[1]);
        if (n == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid traffic \"%V\", must be a "
                               "percentage from 0%% to 100%% with at most "
                               "two decimals", &value[1]);
            return NGX_CONF_ERROR;
        }

        exp->traffic = n;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "seed") == 0) {
        if (value[1].len == 0 || value[1].len > NGX_HTTP_PERSONA_ID_MAX) {
            return "invalid seed, must be 1 to 256 bytes";
        }

        exp->seed = value[1];
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "hash_version") == 0) {
        if (value[1].len == 1 && value[1].data[0] == '1') {
            exp->hash = NGX_HTTP_PERSONA_HASH_V1;

        } else if (value[1].len == 1 && value[1].data[0] == '2') {
            exp->hash = NGX_HTTP_PERSONA_HASH_V2;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown hash version \"%V\", "
                               "must be 1 or 2", &value[1]);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "hash") == 0) {
        if (ngx_strcmp(value[1].data, "split_clients") == 0) {
            exp->hash = NGX_HTTP_PERSONA_HASH_SPLIT;

        } else if (ngx_strcmp(value[1].data, "growthbook") == 0) {
            exp->hash = NGX_HTTP_PERSONA_HASH_V2;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown hash \"%V\", must be \"growthbook\" "
                               "or \"split_clients\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "sticky") == 0) {
        if (ngx_strcmp(value[1].data, "on") == 0) {
            exp->sticky = 1;
            ngx_http_persona_key_need(cf, "sticky");

        } else if (ngx_strcmp(value[1].data, "off") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\", must be \"on\" "
                               "or \"off\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "bucket_version") == 0) {
        n = ngx_atoi(value[1].data, value[1].len);

        if (n == NGX_ERROR || n > 999999) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid bucket version \"%V\", must be a "
                               "number from 0 to 999999", &value[1]);
            return NGX_CONF_ERROR;
        }

        exp->bucket_version = n;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "target") == 0) {
        exp->target = ngx_http_persona_cond_compile(cf, &value[1]);
        if (exp->target == NULL) {
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown directive \"%V\" in experiment \"%V\"",
                       &value[0], &exp->name);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_persona_variant(ngx_conf_t *cf, ngx_http_persona_experiment_t *exp)
{
    ngx_int_t                    n;
    ngx_str_t                   *value;
    ngx_uint_t                   i;
    ngx_http_persona_variant_t  *v;

    value = cf->args->elts;

    if (!ngx_http_persona_valid_name(&value[1], "-.")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid variant name \"%V\", only letters, "
                           "digits, \"_\", \"-\" and \".\" are allowed",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    v = exp->variants.elts;

    for (i = 0; i < exp->variants.nelts; i++) {
        if (v[i].name.len == value[1].len
            && ngx_strncmp(v[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate variant \"%V\" in experiment "
                               "\"%V\"", &value[1], &exp->name);
            return NGX_CONF_ERROR;
        }
    }

    v = ngx_array_push(&exp->variants);
    if (v == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(v, sizeof(ngx_http_persona_variant_t));

    v->name = value[1];

    for (i = 2; i < cf->args->nelts; i++) {

        if (value[i].len && value[i].data[value[i].len - 1] == '%'
            && !v->weighted)
        {
            n = ngx_http_persona_parse_percent(&value[i]);
            if (n == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid weight \"%V\" of variant "
                                   "\"%V\", must be a percentage from 0%% "
                                   "to 100%% with at most two decimals",
                                   &value[i], &value[1]);
                return NGX_CONF_ERROR;
            }

            v->weight = n;
            v->weighted = 1;
            continue;
        }

        if (v->content == NULL
            && ((value[i].len > 9
                 && ngx_strncmp(value[i].data, "fragment=", 9) == 0)
                || (value[i].len >= 5
                    && ngx_strncmp(value[i].data, "text=", 5) == 0)))
        {
            v->content = ngx_http_persona_content_parse(cf, value,
                                                        cf->args->nelts, &i);
            if (v->content == NULL) {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" of variant \"%V\"",
                           &value[i], &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_persona_layer(ngx_conf_t *cf, ngx_http_persona_experiment_t *exp)
{
    ngx_int_t   from, to;
    ngx_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts != 4) {
        return "invalid number of arguments in \"layer\", "
               "must be \"layer NAME FROM% TO%\"";
    }

    if (!ngx_http_persona_valid_name(&value[1], "-.")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid layer name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    from = ngx_http_persona_parse_percent(&value[2]);
    to = ngx_http_persona_parse_percent(&value[3]);

    if (from == NGX_ERROR || to == NGX_ERROR || from >= to) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid layer range \"%V %V\" of experiment "
                           "\"%V\", must be FROM%% TO%% with "
                           "0%% <= FROM < TO <= 100%%",
                           &value[2], &value[3], &exp->name);
        return NGX_CONF_ERROR;
    }

    exp->layer = value[1];
    exp->layer_start = from / 10000.0;
    exp->layer_end = to / 10000.0;

    return NGX_CONF_OK;
}


/* "2026-12-01", "2026-12-01T09:30Z", "2026-12-01T09:30:15Z" (UTC) */

static time_t
ngx_http_persona_parse_utc(ngx_str_t *s)
{
    int64_t  t;

    if (persona_tz_parse_utc(s->data, s->len, &t) != 0
        || (time_t) t != t)
    {
        return NGX_ERROR;
    }

    return (time_t) t;
}


static char *
ngx_http_persona_schedule(ngx_conf_t *cf, ngx_http_persona_experiment_t *exp)
{
    time_t      from, to;
    ngx_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts != 3) {
        return "invalid number of arguments in \"schedule\", "
               "must be \"schedule FROM TO\"";
    }

    from = 0;
    to = 0;

    if (!(value[1].len == 1 && value[1].data[0] == '-')) {
        from = ngx_http_persona_parse_utc(&value[1]);
    }

    if (!(value[2].len == 1 && value[2].data[0] == '-')) {
        to = ngx_http_persona_parse_utc(&value[2]);
    }

    if (from == NGX_ERROR || to == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid schedule \"%V %V\" of experiment \"%V\", "
                           "dates must look like 2026-12-01T09:30Z (UTC) "
                           "or \"-\"", &value[1], &value[2], &exp->name);
        return NGX_CONF_ERROR;
    }

    if (from && to && from >= to) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "schedule of experiment \"%V\" ends before "
                           "it starts", &exp->name);
        return NGX_CONF_ERROR;
    }

    exp->schedule_from = from;
    exp->schedule_to = to;

    return NGX_CONF_OK;
}


static char *
ngx_http_persona_experiment_done(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp)
{
    u_char                      buf[16], *last;
    unsigned                   *weights;
    ngx_uint_t                  i, n, weighted, sum, line;
    ngx_http_persona_variant_t  *v;

    /* report problems of the whole block at its first line */

    line = cf->conf_file->line;
    cf->conf_file->line = exp->line;

    v = exp->variants.elts;
    n = exp->variants.nelts;

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "experiment \"%V\" has no variants", &exp->name);
        return NGX_CONF_ERROR;
    }

    weighted = 0;
    sum = 0;

    for (i = 0; i < n; i++) {
        if (v[i].weighted) {
            weighted++;
            sum += v[i].weight;
        }
    }

    if (weighted && weighted != n) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "variant weights of \"%V\" are given for %ui of "
                           "%ui variants, give all or none", &exp->name,
                           weighted, n);
        return NGX_CONF_ERROR;
    }

    if (weighted && sum != 10000) {
        last = ngx_http_persona_format_percent(buf, sum);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "variant weights of \"%V\" sum to %*s%%, "
                           "must be 100%%", &exp->name, last - buf, buf);
        return NGX_CONF_ERROR;
    }

    cf->conf_file->line = line;

    weights = ngx_palloc(cf->temp_pool, n * sizeof(unsigned));
    exp->start = ngx_palloc(cf->pool, n * sizeof(double));
    exp->end = ngx_palloc(cf->pool, n * sizeof(double));
    exp->split_end = ngx_pcalloc(cf->pool, n * sizeof(uint32_t));

    if (weights == NULL || exp->start == NULL || exp->end == NULL
        || exp->split_end == NULL)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        weights[i] = weighted ? v[i].weight : 10000 / n;
    }

    persona_hash_ranges(weights, n, !weighted, exp->traffic, exp->start,
                        exp->end);

    if (weighted) {
        persona_hash_split_ranges(weights, n, exp->traffic, exp->split_end);

    } else if (exp->hash == NGX_HTTP_PERSONA_HASH_SPLIT) {
        /* split_clients has no "1/n": equal shares must be exact there */

        if (10000 % n) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "experiment \"%V\" uses \"hash "
                               "split_clients\" and %ui variants without "
                               "weights, give weights explicitly",
                               &exp->name, n);
            return NGX_CONF_ERROR;
        }

        persona_hash_split_ranges(weights, n, exp->traffic, exp->split_end);
    }

    if (ngx_http_persona_add_variant_variable(cf, exp) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a slot names an experiment or a content set: never both */

char *
ngx_http_persona_experiments_check(ngx_conf_t *cf,
    ngx_http_persona_main_conf_t *pmcf)
{
    ngx_uint_t                      i;
    ngx_http_persona_experiment_t  *exp;

    exp = pmcf->experiments.elts;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        if (ngx_http_persona_find_content(pmcf, &exp[i].name) != NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "content \"%V\" has the name of an experiment "
                          "in %V:%ui", &exp[i].name, &exp[i].file,
                          exp[i].line);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


ngx_http_persona_experiment_t *
ngx_http_persona_find_experiment(ngx_http_persona_main_conf_t *pmcf,
    ngx_str_t *name)
{
    ngx_uint_t                      i;
    ngx_http_persona_experiment_t  *exp;

    exp = pmcf->experiments.elts;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        if (exp[i].name.len == name->len
            && ngx_strncmp(exp[i].name.data, name->data, name->len) == 0)
        {
            return &exp[i];
        }
    }

    return NULL;
}


ngx_int_t
ngx_http_persona_assign(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx,
    ngx_http_persona_experiment_t *exp)
{
    double      h;
    time_t      now;
    ngx_int_t   rc;

    if (ctx->assign[exp->index] != NGX_HTTP_PERSONA_UNKNOWN) {
        return ctx->assign[exp->index];
    }

    ctx->assign[exp->index] = NGX_HTTP_PERSONA_NONE;

    /* a preview forces its variants past every rule below */

    rc = ngx_http_persona_preview_variant(r, ctx, exp);

    if (rc != NGX_HTTP_PERSONA_UNKNOWN) {
        if (rc >= 0) {
            ctx->assign[exp->index] = rc;
        }

        return ctx->assign[exp->index];
    }

    if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->id.len == 0) {
        return NGX_HTTP_PERSONA_NONE;
    }

    rc = ngx_http_persona_is_bot(r, ctx);

    if (rc != 0) {
        return (rc == NGX_ERROR) ? NGX_ERROR : NGX_HTTP_PERSONA_NONE;
    }

    if (exp->schedule_from || exp->schedule_to) {
        now = ngx_http_persona_now(r);

        if ((exp->schedule_from && now < exp->schedule_from)
            || (exp->schedule_to && now >= exp->schedule_to))
        {
            return NGX_HTTP_PERSONA_NONE;
        }
    }

    /* a kept variant outlives changes of layer, target and weights */

    if (exp->sticky) {
        rc = ngx_http_persona_sticky_get(r, ctx, exp);

        if (rc != NGX_HTTP_PERSONA_NONE) {
            if (rc >= 0) {
                ctx->assign[exp->index] = rc;
            }

            return rc;
        }
    }

    if (exp->layer.len) {
        h = persona_hash_layer(exp->layer.data, exp->layer.len,
                               ctx->id.data, ctx->id.len);

        if (h < exp->layer_start || h >= exp->layer_end) {
            return NGX_HTTP_PERSONA_NONE;
        }
    }

    if (exp->target) {
        rc = ngx_http_persona_test(r, ctx, exp->target);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == 0) {
            return NGX_HTTP_PERSONA_NONE;
        }
    }

    if (exp->hash == NGX_HTTP_PERSONA_HASH_SPLIT) {
        rc = persona_hash_split_choose(persona_murmur2(ctx->id.data,
                                                       ctx->id.len,
                                                       exp->seed.data,
                                                       exp->seed.len),
                                       exp->split_end,
                                       exp->variants.nelts);

    } else {
        h = (exp->hash == NGX_HTTP_PERSONA_HASH_V1)
            ? persona_hash_v1(exp->seed.data, exp->seed.len,
                              ctx->id.data, ctx->id.len)
            : persona_hash_v2(exp->seed.data, exp->seed.len,
                              ctx->id.data, ctx->id.len);

        rc = persona_hash_choose(h, exp->start, exp->end,
                                 exp->variants.nelts);
    }

    if (rc >= 0) {
        ctx->assign[exp->index] = rc;

        if (exp->sticky
            && ngx_http_persona_sticky_set(r, ctx, exp, rc) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ctx->assign[exp->index];
}


static u_char *
ngx_http_persona_format_percent(u_char *buf, ngx_uint_t bp)
{
    if (bp % 100 == 0) {
        return ngx_sprintf(buf, "%ui", bp / 100);
    }

    if (bp % 10 == 0) {
        return ngx_sprintf(buf, "%ui.%ui", bp / 100, (bp % 100) / 10);
    }

    return ngx_sprintf(buf, "%ui.%02ui", bp / 100, bp % 100);
}


static ngx_int_t
ngx_http_persona_parse_percent(ngx_str_t *value)
{
    int  bp;

    bp = persona_hash_parse_percent(value->data, value->len);

    return (bp < 0) ? NGX_ERROR : bp;
}


static ngx_int_t
ngx_http_persona_add_variant_variable(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp)
{
    ngx_str_t             name;
    ngx_http_variable_t  *var;

    name.len = sizeof("persona_variant_") - 1 + exp->name.len;
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(name.data, "persona_variant_%V", &exp->name);

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_persona_variant_variable;
    var->data = exp->index;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_int_t                       i;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;
    exp = &exp[data];

    i = ngx_http_persona_assign(r, ctx, exp);

    if (i == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (i < 0) {
        v->len = 0;
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    if (!r->main->header_sent && r->main->method != NGX_HTTP_HEAD) {
        ctx->exposed[data] |= NGX_HTTP_PERSONA_EXPOSED_VAR;
    }

    var = exp->variants.elts;

    v->len = var[i].name.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = var[i].name.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_assignments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    size_t                          len;
    ngx_int_t                       k;
    ngx_uint_t                      i;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;

    len = 0;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ngx_http_persona_assign(r, ctx, &exp[i]);

        if (k == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (k >= 0) {
            var = exp[i].variants.elts;
            len += exp[i].name.len + 1 + var[k].name.len + 1;
        }
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    if (len == 0) {
        v->len = 0;
        v->data = (u_char *) "";
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ctx->assign[i];

        if (k < 0) {
            continue;
        }

        if (p != v->data) {
            *p++ = ',';
        }

        var = exp[i].variants.elts;
        p = ngx_sprintf(p, "%V=%V", &exp[i].name, &var[k].name);
    }

    v->len = p - v->data;

    return NGX_OK;
}
