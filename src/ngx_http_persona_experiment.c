
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * persona_experiment blocks, variant assignment, $persona_variant_NAME,
 * $persona_level_NAME_FACTOR and $persona_assignments.  Everything that
 * can be decided once (bucket ranges, split_clients boundaries, layer
 * ranges, the event fields of each variant) is computed while the
 * configuration is read, so that assigning a visitor costs one or two
 * hashes and a short scan of the variants (src/core/persona_hash.c).
 * Values come from the request context, so reading the variables any
 * number of times, before or after an internal redirect, computes each
 * assignment once.
 *
 * A multivariate experiment lists factors and their levels; its variants
 * are the cells, every combination of one level per factor, named
 * "headline=benefit;image=photo", and a visitor is assigned a whole cell
 * with one hash, as any experiment is (so an app given the cells as
 * variations agrees).  A cell's weight is the product of its levels'
 * weights, which keeps each factor's split as configured.
 */


#include "ngx_http_persona.h"

#include "persona_hash.h"
#include "persona_stats.h"
#include "persona_tz.h"


#define NGX_HTTP_PERSONA_FACTORS_MAX  8
#define NGX_HTTP_PERSONA_CELLS_MAX    256


static char *ngx_http_persona_experiment_cmd(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static char *ngx_http_persona_variant(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp);
static char *ngx_http_persona_factor(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp);
static char *ngx_http_persona_level(ngx_conf_t *cf, ngx_array_t *list,
    ngx_uint_t first, const char *what, ngx_str_t *owner);
static char *ngx_http_persona_check_weights(ngx_conf_t *cf,
    ngx_array_t *list, const char *what, ngx_str_t *owner,
    ngx_uint_t *weighted);
static char *ngx_http_persona_cells(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp);
static char *ngx_http_persona_event_texts(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp, ngx_uint_t weighted);
static ngx_int_t ngx_http_persona_double_text(ngx_conf_t *cf, double d,
    ngx_str_t *text);
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
    ngx_http_persona_experiment_t *exp, ngx_http_persona_factor_t *factor);
static ngx_int_t ngx_http_persona_variant_read(ngx_http_request_t *r,
    ngx_http_persona_experiment_t *exp);
static ngx_int_t ngx_http_persona_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_level_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_persona_variant_value(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, ngx_http_persona_experiment_t *exp,
    ngx_http_persona_factor_t *factor);
static ngx_int_t ngx_http_persona_assignments_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


/* directives of a persona_experiment block but layer and schedule */

static ngx_str_t  ngx_http_persona_experiment_directives[] = {
    ngx_string("variant"),
    ngx_string("traffic"),
    ngx_string("seed"),
    ngx_string("hash_version"),
    ngx_string("hash"),
    ngx_string("sticky"),
    ngx_string("bucket_version"),
    ngx_string("target"),
    ngx_null_string
};


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
        != NGX_OK
        || ngx_array_init(&exp->factors, cf->pool, 2,
                          sizeof(ngx_http_persona_factor_t))
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

    if (value[0].len == 6 && ngx_strncmp(value[0].data, "factor", 6) == 0) {
        return ngx_http_persona_factor(cf, exp);
    }

    if (value[0].len == 5 && ngx_strncmp(value[0].data, "layer", 5) == 0) {
        return ngx_http_persona_layer(cf, exp);
    }

    if (value[0].len == 8 && ngx_strncmp(value[0].data, "schedule", 8) == 0) {
        return ngx_http_persona_schedule(cf, exp);
    }

    /* a misspelt directive is named as such, whatever its arguments */

    for (n = 0; ngx_http_persona_experiment_directives[n].len; n++) {
        if (ngx_http_persona_experiment_directives[n].len == value[0].len
            && ngx_strncmp(ngx_http_persona_experiment_directives[n].data,
                           value[0].data, value[0].len) == 0)
        {
            break;
        }
    }

    if (ngx_http_persona_experiment_directives[n].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown directive \"%V\" in experiment \"%V\"",
                           &value[0], &exp->name);
        return NGX_CONF_ERROR;
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

    /* "target" */

    exp->target = ngx_http_persona_cond_compile(cf, &value[1]);
    if (exp->target == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_persona_variant(ngx_conf_t *cf, ngx_http_persona_experiment_t *exp)
{
    return ngx_http_persona_level(cf, &exp->variants, 1, "variant",
                                  &exp->name);
}


/* factor NAME LEVEL [WEIGHT%] [fragment=PATH|text=TEXT] */

static char *
ngx_http_persona_factor(ngx_conf_t *cf, ngx_http_persona_experiment_t *exp)
{
    u_char                     *p;
    ngx_str_t                  *value;
    ngx_http_persona_factor_t  *factor;

    value = cf->args->elts;

    if (cf->args->nelts < 3) {
        return "invalid number of arguments in \"factor\", must be "
               "\"factor NAME LEVEL [WEIGHT%] [fragment=PATH|text=TEXT]\"";
    }

    if (!ngx_http_persona_valid_name(&value[1], "")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid factor name \"%V\", only letters, "
                           "digits and \"_\" are allowed", &value[1]);
        return NGX_CONF_ERROR;
    }

    factor = ngx_http_persona_find_factor(exp, &value[1]);

    if (factor == NULL) {
        if (exp->factors.nelts == NGX_HTTP_PERSONA_FACTORS_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "experiment \"%V\" has more than %d factors",
                               &exp->name, NGX_HTTP_PERSONA_FACTORS_MAX);
            return NGX_CONF_ERROR;
        }

        factor = ngx_array_push(&exp->factors);
        if (factor == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(factor, sizeof(ngx_http_persona_factor_t));

        factor->name = value[1];
        factor->index = exp->factors.nelts - 1;
        factor->experiment = exp->index;

        if (ngx_array_init(&factor->levels, cf->pool, 2,
                           sizeof(ngx_http_persona_variant_t))
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    /* "mvt.headline", as slots name the factor, for messages */

    p = ngx_pnalloc(cf->pool, exp->name.len + 1 + factor->name.len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    value[1].len = ngx_sprintf(p, "%V.%V", &exp->name, &factor->name) - p;
    value[1].data = p;

    return ngx_http_persona_level(cf, &factor->levels, 2, "level",
                                  &value[1]);
}


/* NAME [WEIGHT%] [fragment=PATH|text=TEXT] from argument "first" on */

static char *
ngx_http_persona_level(ngx_conf_t *cf, ngx_array_t *list, ngx_uint_t first,
    const char *what, ngx_str_t *owner)
{
    ngx_int_t                    n;
    ngx_str_t                   *value, *name;
    ngx_uint_t                   i;
    ngx_http_persona_variant_t  *v;

    value = cf->args->elts;
    name = &value[first];

    if (!ngx_http_persona_valid_name(name, "-.")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid %s name \"%V\", only letters, "
                           "digits, \"_\", \"-\" and \".\" are allowed",
                           what, name);
        return NGX_CONF_ERROR;
    }

    v = list->elts;

    for (i = 0; i < list->nelts; i++) {
        if (v[i].name.len == name->len
            && ngx_strncmp(v[i].name.data, name->data, name->len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate %s \"%V\" in %s \"%V\"", what,
                               name, (what[0] == 'v') ? "experiment"
                                                      : "factor",
                               owner);
            return NGX_CONF_ERROR;
        }
    }

    v = ngx_array_push(list);
    if (v == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(v, sizeof(ngx_http_persona_variant_t));

    v->name = *name;

    for (i = first + 1; i < cf->args->nelts; i++) {

        if (value[i].len && value[i].data[value[i].len - 1] == '%'
            && !v->weighted)
        {
            n = ngx_http_persona_parse_percent(&value[i]);
            if (n == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid weight \"%V\" of %s "
                                   "\"%V\", must be a percentage from 0%% "
                                   "to 100%% with at most two decimals",
                                   &value[i], what, name);
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
                           "invalid parameter \"%V\" of %s \"%V\"",
                           &value[i], what, name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Experiments of one layer share no visitor only if their ranges are
 * disjoint: an overlap is refused, naming the range it overlaps, so that
 * the order of the experiments (or of included files) does not matter.
 */

static char *
ngx_http_persona_layer(ngx_conf_t *cf, ngx_http_persona_experiment_t *exp)
{
    u_char                         from_buf[16], to_buf[16], *from_end,
                                   *to_end;
    ngx_int_t                      from, to, a, b;
    ngx_str_t                     *value;
    ngx_uint_t                     i;
    ngx_http_persona_experiment_t  *other;
    ngx_http_persona_main_conf_t   *pmcf;

    value = cf->args->elts;

    if (cf->args->nelts != 4) {
        return "invalid number of arguments in \"layer\", "
               "must be \"layer NAME FROM% TO%\"";
    }

    if (exp->layer.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"layer\" is duplicate in experiment \"%V\", "
                           "an experiment is in one layer", &exp->name);
        return NGX_CONF_ERROR;
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

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);
    other = pmcf->experiments.elts;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        if (&other[i] == exp
            || other[i].layer.len != value[1].len
            || ngx_strncmp(other[i].layer.data, value[1].data, value[1].len)
               != 0)
        {
            continue;
        }

        /* ranges are kept as doubles of whole basis points */

        a = (ngx_int_t) (other[i].layer_start * 10000 + 0.5);
        b = (ngx_int_t) (other[i].layer_end * 10000 + 0.5);

        if (from < b && a < to) {
            from_end = ngx_http_persona_format_percent(from_buf, a);
            to_end = ngx_http_persona_format_percent(to_buf, b);

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "range \"%V %V\" of layer \"%V\" in "
                               "experiment \"%V\" overlaps range "
                               "\"%*s%% %*s%%\" of experiment \"%V\" in "
                               "%V:%ui", &value[2], &value[3], &value[1],
                               &exp->name, from_end - from_buf, from_buf,
                               to_end - to_buf, to_buf, &other[i].name,
                               &other[i].file, other[i].layer_line);
            return NGX_CONF_ERROR;
        }
    }

    exp->layer = value[1];
    exp->layer_start = from / 10000.0;
    exp->layer_end = to / 10000.0;
    exp->layer_line = cf->conf_file->line;

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
    char                        *rv;
    unsigned                    *weights;
    ngx_uint_t                   i, n, weighted, line;
    ngx_http_persona_factor_t   *factor;
    ngx_http_persona_variant_t  *v;

    /* report problems of the whole block at its first line */

    line = cf->conf_file->line;
    cf->conf_file->line = exp->line;

    if (exp->factors.nelts) {
        if (exp->variants.nelts) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "experiment \"%V\" has both variants and "
                               "factors, give one or the other",
                               &exp->name);
            return NGX_CONF_ERROR;
        }

        rv = ngx_http_persona_cells(cf, exp);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    v = exp->variants.elts;
    n = exp->variants.nelts;

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "experiment \"%V\" has no variants", &exp->name);
        return NGX_CONF_ERROR;
    }

    rv = ngx_http_persona_check_weights(cf, &exp->variants, "variant",
                                        &exp->name, &weighted);
    if (rv != NGX_CONF_OK) {
        return rv;
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

    if (ngx_http_persona_event_texts(cf, exp, weighted) != NGX_CONF_OK
        || ngx_http_persona_add_variant_variable(cf, exp, NULL) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    factor = exp->factors.elts;

    for (i = 0; i < exp->factors.nelts; i++) {
        if (ngx_http_persona_add_variant_variable(cf, exp, &factor[i])
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* weights of all variants (levels) or of none, summing to 100% */

static char *
ngx_http_persona_check_weights(ngx_conf_t *cf, ngx_array_t *list,
    const char *what, ngx_str_t *owner, ngx_uint_t *weighted)
{
    u_char                      buf[16], *last;
    ngx_uint_t                  i, n, sum;
    ngx_http_persona_variant_t  *v;

    v = list->elts;
    n = list->nelts;

    *weighted = 0;
    sum = 0;

    for (i = 0; i < n; i++) {
        if (v[i].weighted) {
            (*weighted)++;
            sum += v[i].weight;
        }
    }

    if (*weighted && *weighted != n) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s weights of \"%V\" are given for %ui of "
                           "%ui %ss, give all or none", what, owner,
                           *weighted, n, what);
        return NGX_CONF_ERROR;
    }

    if (*weighted && sum != 10000) {
        last = ngx_http_persona_format_percent(buf, sum);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s weights of \"%V\" sum to %*s%%, "
                           "must be 100%%", what, owner, last - buf, buf);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The cells of a multivariate experiment, the first factor varying
 * slowest.  Weights stay in basis points: a cell's weight is the product
 * of its levels' weights, which must come out whole.
 */

static char *
ngx_http_persona_cells(ngx_conf_t *cf, ngx_http_persona_experiment_t *exp)
{
    u_char                      *p, *q;
    size_t                       len, jlen;
    uint64_t                     w;
    ngx_str_t                    owner;
    ngx_uint_t                   c, f, k, l, nf, ncells, weighted, any;
    ngx_uint_t                  *wt, *lw;
    ngx_http_persona_factor_t   *factor;
    ngx_http_persona_variant_t  *cell, *level;

    factor = exp->factors.elts;
    nf = exp->factors.nelts;

    ncells = 1;
    len = 0;
    jlen = sizeof("{}") - 1;
    any = 0;

    wt = ngx_pcalloc(cf->temp_pool, nf * sizeof(ngx_uint_t));
    if (wt == NULL) {
        return NGX_CONF_ERROR;
    }

    for (f = 0; f < nf; f++) {
        level = factor[f].levels.elts;

        if (factor[f].levels.nelts < 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "factor \"%V\" of experiment \"%V\" has one "
                               "level, give at least two", &factor[f].name,
                               &exp->name);
            return NGX_CONF_ERROR;
        }

        p = ngx_pnalloc(cf->temp_pool, exp->name.len + 1
                                       + factor[f].name.len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        owner.data = p;
        owner.len = ngx_sprintf(p, "%V.%V", &exp->name, &factor[f].name)
                    - p;

        if (ngx_http_persona_check_weights(cf, &factor[f].levels, "level",
                                           &owner, &weighted)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        wt[f] = weighted;
        any |= weighted;

        ncells *= factor[f].levels.nelts;

        if (ncells > NGX_HTTP_PERSONA_CELLS_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "experiment \"%V\" has more than %d cells",
                               &exp->name, NGX_HTTP_PERSONA_CELLS_MAX);
            return NGX_CONF_ERROR;
        }

        /* the longest level of each factor bounds every cell's name */

        l = 0;

        for (k = 0; k < factor[f].levels.nelts; k++) {
            l = ngx_max(l, level[k].name.len);
        }

        len += factor[f].name.len + 2 + l;
        jlen += factor[f].name.len + 6 + l;
    }

    /* an unweighted factor next to weighted ones splits equally */

    lw = ngx_palloc(cf->temp_pool, nf * sizeof(ngx_uint_t));
    if (lw == NULL) {
        return NGX_CONF_ERROR;
    }

    for (f = 0; f < nf; f++) {
        lw[f] = 10000 / factor[f].levels.nelts;

        if (any && !wt[f] && 10000 % factor[f].levels.nelts) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "levels of factor \"%V\" of experiment "
                               "\"%V\" cannot share 100%% equally in "
                               "basis points, give their weights",
                               &factor[f].name, &exp->name);
            return NGX_CONF_ERROR;
        }
    }

    exp->levels = ngx_palloc(cf->pool, ncells * nf * sizeof(ngx_uint_t));
    if (exp->levels == NULL) {
        return NGX_CONF_ERROR;
    }

    for (c = 0; c < ncells; c++) {
        cell = ngx_array_push(&exp->variants);
        if (cell == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(cell, sizeof(ngx_http_persona_variant_t));

        k = c;

        for (f = nf; f-- > 0; /* void */) {
            exp->levels[c * nf + f] = k % factor[f].levels.nelts;
            k /= factor[f].levels.nelts;
        }

        p = ngx_pnalloc(cf->pool, len);
        q = ngx_pnalloc(cf->pool, jlen);
        if (p == NULL || q == NULL) {
            return NGX_CONF_ERROR;
        }

        cell->name.data = p;
        cell->factors.data = q;
        *q++ = '{';

        w = 10000;

        for (f = 0; f < nf; f++) {
            level = factor[f].levels.elts;
            level = &level[exp->levels[c * nf + f]];

            p = ngx_sprintf(p, "%s%V=%V", f ? ";" : "", &factor[f].name,
                            &level->name);
            q = ngx_sprintf(q, "%s\"%V\":\"%V\"", f ? "," : "",
                            &factor[f].name, &level->name);

            if (!any) {
                continue;
            }

            w *= wt[f] ? level->weight : lw[f];

            if (w % 10000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "cell \"%*s\" of experiment \"%V\" gets "
                                   "a weight finer than 0.01%%, choose "
                                   "level weights whose products are "
                                   "whole basis points",
                                   p - cell->name.data, cell->name.data,
                                   &exp->name);
                return NGX_CONF_ERROR;
            }

            w /= 10000;
        }

        *q++ = '}';

        cell->name.len = p - cell->name.data;
        cell->factors.len = q - cell->factors.data;

        if (any) {
            cell->weight = (ngx_uint_t) w;
            cell->weighted = 1;
        }
    }

    return NGX_CONF_OK;
}


/*
 * The event fields of each variant, written once: its index, its weight
 * as a share of 1 (exactly 1/n for equal shares, as the SDK has it) and
 * the experiment's traffic.
 */

static char *
ngx_http_persona_event_texts(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp, ngx_uint_t weighted)
{
    ngx_uint_t                   i, n;
    ngx_http_persona_variant_t  *v;

    v = exp->variants.elts;
    n = exp->variants.nelts;

    for (i = 0; i < n; i++) {
        v[i].index_text.data = ngx_pnalloc(cf->pool, NGX_INT_T_LEN);
        if (v[i].index_text.data == NULL) {
            return NGX_CONF_ERROR;
        }

        v[i].index_text.len = ngx_sprintf(v[i].index_text.data, "%ui", i)
                              - v[i].index_text.data;

        if (ngx_http_persona_double_text(cf, weighted ? v[i].weight / 10000.0
                                                      : 1.0 / n,
                                         &v[i].weight_text)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_persona_double_text(cf, ngx_min(exp->traffic, 10000)
                                         / 10000.0,
                                     &exp->traffic_text)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_persona_double_text(ngx_conf_t *cf, double d, ngx_str_t *text)
{
    text->data = ngx_pnalloc(cf->pool, 32);
    if (text->data == NULL) {
        return NGX_ERROR;
    }

    text->len = persona_stats_double((char *) text->data, 32, d);

    return text->len ? NGX_OK : NGX_ERROR;
}


ngx_http_persona_factor_t *
ngx_http_persona_find_factor(ngx_http_persona_experiment_t *exp,
    ngx_str_t *name)
{
    ngx_uint_t                  i;
    ngx_http_persona_factor_t  *factor;

    factor = exp->factors.elts;

    for (i = 0; i < exp->factors.nelts; i++) {
        if (factor[i].name.len == name->len
            && ngx_strncmp(factor[i].name.data, name->data, name->len) == 0)
        {
            return &factor[i];
        }
    }

    return NULL;
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


/* $persona_variant_NAME, or $persona_level_NAME_FACTOR of a factor */

static ngx_int_t
ngx_http_persona_add_variant_variable(ngx_conf_t *cf,
    ngx_http_persona_experiment_t *exp, ngx_http_persona_factor_t *factor)
{
    ngx_str_t             name;
    ngx_http_variable_t  *var;

    name.len = sizeof("persona_variant_") - 1 + exp->name.len
               + (factor ? factor->name.len + 1 : 0);
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NGX_ERROR;
    }

    if (factor == NULL) {
        ngx_sprintf(name.data, "persona_variant_%V", &exp->name);

    } else {
        name.len = ngx_sprintf(name.data, "persona_level_%V_%V", &exp->name,
                               &factor->name)
                   - name.data;
    }

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    if (factor == NULL) {
        var->get_handler = ngx_http_persona_variant_variable;
        var->data = exp->index;

    } else {
        var->get_handler = ngx_http_persona_level_variable;
        var->data = (uintptr_t) factor;
    }

    return NGX_OK;
}


/*
 * A read of the variant while the response is built is an exposure:
 * before its header (proxy_set_header, rewrite, add_header) or in its
 * body (SSI "if" and "echo", in the page or in an include).  A read by
 * the access log is not: the main request is then done (or, closed
 * early, no longer counted).  A read by the conditions of a rule set is
 * one once the set is shown.  Returns the variant shown: none in the
 * global holdout, whose visitors see the default everywhere.
 */

static ngx_int_t
ngx_http_persona_variant_read(ngx_http_request_t *r,
    ngx_http_persona_experiment_t *exp)
{
    ngx_int_t                i;
    ngx_http_persona_ctx_t  *ctx;

    ctx = ngx_http_persona_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    i = ngx_http_persona_assign(r, ctx, exp);

    if (i < 0) {
        return i;
    }

    if (r->main->method != NGX_HTTP_HEAD
        && (!r->main->header_sent
            || (!r->main->done && r->main->count && !r->main->logged)))
    {
        ctx->exposed[exp->index] |= NGX_HTTP_PERSONA_EXPOSED_VAR;
    }

    if (ctx->reading != NULL) {
        ctx->reading[exp->index] = 1;
    }

    return ngx_http_persona_variant_shown(r, ctx, exp);
}


/* the variant the response shows: the assignment, unless held out */

ngx_int_t
ngx_http_persona_variant_shown(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp)
{
    ngx_int_t  i, held;

    i = ngx_http_persona_assign(r, ctx, exp);

    if (i < 0) {
        return i;
    }

    held = ctx->would_see ? 0 : ngx_http_persona_holdout(r, ctx);

    if (held == NGX_ERROR) {
        return NGX_ERROR;
    }

    return held ? NGX_HTTP_PERSONA_NONE : i;
}


/*
 * The variant shown and its name, for the Lua library: with "expose"
 * read as the variable reads it (an exposure while the response is
 * prepared), without only looked at.
 */

ngx_int_t
ngx_http_persona_variant_get(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_http_persona_experiment_t *exp,
    ngx_uint_t expose, ngx_str_t *name)
{
    ngx_int_t                    i;
    ngx_http_persona_variant_t  *var;

    ngx_str_set(name, "");

    i = expose ? ngx_http_persona_variant_read(r, exp)
               : ngx_http_persona_variant_shown(r, ctx, exp);

    if (i < 0) {
        return i;
    }

    var = exp->variants.elts;
    *name = var[i].name;

    return i;
}


static ngx_int_t
ngx_http_persona_variant_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;

    return ngx_http_persona_variant_value(r, v, &exp[data], NULL);
}


static ngx_int_t
ngx_http_persona_level_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_persona_factor_t *factor = (ngx_http_persona_factor_t *) data;

    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;

    return ngx_http_persona_variant_value(r, v, &exp[factor->experiment],
                                          factor);
}


/* the variant shown, or the level of a factor in it; empty when none */

static ngx_int_t
ngx_http_persona_variant_value(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, ngx_http_persona_experiment_t *exp,
    ngx_http_persona_factor_t *factor)
{
    ngx_int_t                    i;
    ngx_http_persona_ctx_t      *ctx;
    ngx_http_persona_variant_t  *var;

    i = ngx_http_persona_variant_read(r, exp);

    if (i == NGX_ERROR) {
        return NGX_ERROR;
    }

    ctx = ngx_http_persona_find_ctx(r);

    if (ctx != NULL) {
        ctx->varies = 1;
    }

    if (i < 0) {
        ngx_http_persona_variable_str(v, (u_char *) "", 0);
        return NGX_OK;
    }

    if (factor == NULL) {
        var = exp->variants.elts;
        var = &var[i];

    } else {
        var = factor->levels.elts;
        var = &var[exp->levels[i * exp->factors.nelts + factor->index]];
    }

    ngx_http_persona_variable_str(v, var->name.data, var->name.len);

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

    ctx->varies = 1;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    exp = pmcf->experiments.elts;

    len = 0;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ngx_http_persona_variant_shown(r, ctx, &exp[i]);

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
        k = ngx_http_persona_variant_shown(r, ctx, &exp[i]);

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
