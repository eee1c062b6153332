
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * persona_experiment blocks and variant assignment.  Everything that can
 * be decided once (bucket ranges, split_clients boundaries, layer ranges)
 * is computed while the configuration is read, so that assigning a
 * visitor costs one or two hashes and a short scan of the variants.
 */


#include "ngx_http_persona_module.h"


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


char *
ngx_http_persona_experiment_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    char                           *rv;
    ngx_str_t                      *value;
    ngx_uint_t                      i;
    ngx_conf_t                      save;
    ngx_http_persona_experiment_t  *exp;

    value = cf->args->elts;

    if (!ngx_http_persona_valid_name(&value[1], "")) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid experiment name \"%V\", only letters, "
                           "digits and \"_\" are allowed", &value[1]);
        return NGX_CONF_ERROR;
    }

    exp = pmcf->experiments.elts;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        if (exp[i].name.len == value[1].len
            && ngx_strncmp(exp[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate experiment \"%V\", first defined "
                               "in %V:%ui", &value[1], &exp[i].file,
                               exp[i].line);
            return NGX_CONF_ERROR;
        }
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
    exp->layer_to = 10000;
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
    exp->layer_from = from;
    exp->layer_to = to;
    exp->layer_start = from / 10000.0;
    exp->layer_end = to / 10000.0;

    return NGX_CONF_OK;
}


/* "2026-12-01", "2026-12-01T09:30Z", "2026-12-01T09:30:15Z" (UTC) */

static time_t
ngx_http_persona_parse_utc(ngx_str_t *s)
{
    u_char      *p, *last;
    ngx_int_t    f[6], len[6], y, m, d, days;
    ngx_uint_t   i, n;

    static const char  sep[] = "--T::";

    p = s->data;
    last = p + s->len;
    len[0] = 4; len[1] = 2; len[2] = 2; len[3] = 2; len[4] = 2; len[5] = 2;
    f[3] = f[4] = f[5] = 0;

    for (n = 0; n < 6; n++) {
        if (n > 0) {
            if (p == last || *p != (u_char) sep[n - 1]) {
                break;
            }

            p++;
        }

        if (last - p < len[n]) {
            return NGX_ERROR;
        }

        f[n] = 0;

        for (i = 0; i < (ngx_uint_t) len[n]; i++, p++) {
            if (*p < '0' || *p > '9') {
                return NGX_ERROR;
            }

            f[n] = f[n] * 10 + (*p - '0');
        }
    }

    /* a date alone, or a date and time ending with "Z" */

    if (n == 3) {
        if (p != last) {
            return NGX_ERROR;
        }

    } else if (n < 5 || p + 1 != last || *p != 'Z') {
        return NGX_ERROR;
    }

    y = f[0];
    m = f[1];
    d = f[2];

    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31
        || f[3] > 23 || f[4] > 59 || f[5] > 60)
    {
        return NGX_ERROR;
    }

    /* days from civil (proleptic Gregorian) */

    y -= m <= 2;
    days = (y / 400) * 146097
           + (365 * (y % 400) + (y % 400) / 4 - (y % 400) / 100)
           + (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
           - 719468;

    return (time_t) days * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
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
    double                     *start, *end;
    uint32_t                   *uend;
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
    start = ngx_palloc(cf->temp_pool, n * sizeof(double));
    end = ngx_palloc(cf->temp_pool, n * sizeof(double));
    uend = ngx_palloc(cf->temp_pool, n * sizeof(uint32_t));

    if (weights == NULL || start == NULL || end == NULL || uend == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        weights[i] = weighted ? v[i].weight : 10000 / n;
    }

    persona_hash_ranges(weights, n, !weighted, exp->traffic, start, end);

    if (weighted) {
        persona_hash_split_ranges(weights, n, exp->traffic, uend);

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

        persona_hash_split_ranges(weights, n, exp->traffic, uend);
    }

    for (i = 0; i < n; i++) {
        v[i].start = start[i];
        v[i].end = end[i];
        v[i].uend = uend[i];
    }

    if (ngx_http_persona_add_experiment_variable(cf, exp) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_persona_assign(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx,
    ngx_http_persona_experiment_t *exp)
{
    double                       h;
    time_t                       now;
    uint32_t                     u;
    ngx_int_t                    rc;
    ngx_uint_t                   i, n;
    ngx_http_persona_variant_t  *v;

    if (ctx->assign[exp->index] != NGX_HTTP_PERSONA_UNKNOWN) {
        return ctx->assign[exp->index];
    }

    ctx->assign[exp->index] = NGX_HTTP_PERSONA_NONE;

    if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->id.len == 0) {
        return NGX_HTTP_PERSONA_NONE;
    }

    if (exp->schedule_from || exp->schedule_to) {
        now = ngx_http_persona_now(r);

        if ((exp->schedule_from && now < exp->schedule_from)
            || (exp->schedule_to && now >= exp->schedule_to))
        {
            return NGX_HTTP_PERSONA_NONE;
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
        rc = ngx_http_persona_cond_eval(r, exp->target);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == 0) {
            return NGX_HTTP_PERSONA_NONE;
        }
    }

    v = exp->variants.elts;
    n = exp->variants.nelts;

    if (exp->hash == NGX_HTTP_PERSONA_HASH_SPLIT) {
        u = persona_murmur2(ctx->id.data, ctx->id.len,
                            exp->seed.data, exp->seed.len);

        for (i = 0; i < n; i++) {
            if (u < v[i].uend) {
                ctx->assign[exp->index] = i;
                break;
            }
        }

        return ctx->assign[exp->index];
    }

    if (exp->hash == NGX_HTTP_PERSONA_HASH_V1) {
        h = persona_hash_v1(exp->seed.data, exp->seed.len,
                            ctx->id.data, ctx->id.len);

    } else {
        h = persona_hash_v2(exp->seed.data, exp->seed.len,
                            ctx->id.data, ctx->id.len);
    }

    for (i = 0; i < n; i++) {
        if (h >= v[i].start && h < v[i].end) {
            ctx->assign[exp->index] = i;
            break;
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
