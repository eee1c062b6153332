
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Live metrics: counters in a shared memory zone (persona_metrics_zone),
 * summed over workers and kept across reloads (nginx hands the zone of
 * the same name and size to the new configuration), served in the
 * Prometheus text format by a persona_metrics location.
 *
 * A series is one node of a red-black tree keyed by its text, the metric
 * name with its labels, so that the scrape writes it as it is.  The
 * series of the configured experiments, content rules and module
 * counters are found (or made) when the configuration is read and
 * requests add to them with an atomic increment, without a lock; goals,
 * which beacons name, are looked up under the zone's mutex.  Events are
 * counted when a request is logged, from the request context, whether
 * or not an access_log writes them: the same events as the log lines.
 *
 * What is computed rather than counted, at the scrape: the sample-ratio
 * p-value of each experiment, from the visitors first seen on a page of
 * the experiment (the request that issued their id), and the age of the
 * watched databases.
 */


#include "ngx_http_persona.h"

#include "persona_stats.h"


#define NGX_HTTP_PERSONA_SERIES_MAX  16384


enum {
    NGX_HTTP_PERSONA_M_VISITORS = 0,
    NGX_HTTP_PERSONA_M_EXPOSURES,
    NGX_HTTP_PERSONA_M_NEW_VISITORS,
    NGX_HTTP_PERSONA_M_CONTENT,
    NGX_HTTP_PERSONA_M_CONVERSIONS,
    NGX_HTTP_PERSONA_M_CONVERSION_VALUE,
    NGX_HTTP_PERSONA_M_EXP_CONVERSIONS,
    NGX_HTTP_PERSONA_M_EXP_CONVERSION_VALUE,
    NGX_HTTP_PERSONA_M_BAILOUTS,
    NGX_HTTP_PERSONA_M_DATABASE,
    NGX_HTTP_PERSONA_M_N
};


typedef struct {
    ngx_rbtree_t                     rbtree;
    ngx_rbtree_node_t                sentinel;
    ngx_queue_t                      queue;      /* series, oldest first */
    ngx_atomic_t                     dropped;    /* series without room */
} ngx_http_persona_metrics_sh_t;


typedef struct {
    ngx_str_node_t                   sn;         /* name{labels} */
    ngx_queue_t                      queue;
    ngx_uint_t                       family;
    ngx_atomic_t                     count;
    double                           sum;        /* under the mutex */
    ngx_http_persona_watch_stats_t   stats;      /* of a database */
} ngx_http_persona_series_t;


struct ngx_http_persona_metrics_s {
    ngx_shm_zone_t                  *zone;
    ngx_slab_pool_t                 *shpool;
    ngx_http_persona_metrics_sh_t   *sh;
    ngx_http_persona_main_conf_t    *pmcf;

    /* per experiment i, from exp_off[i]: per variant k, 2k + holdout */
    ngx_uint_t                      *exp_off;
    ngx_atomic_t                   **exposures;
    ngx_atomic_t                   **new_visitors; /* [exp_off[i] / 2 + k] */

    /* per content set j, from set_off[j]: per rule k, 2k + holdout */
    ngx_uint_t                      *set_off;
    ngx_atomic_t                   **content;

    ngx_atomic_t                    *counters[NGX_HTTP_PERSONA_COUNT_N];
    ngx_atomic_t                    *visitors[2];   /* by holdout */
};


typedef struct {
    const char                      *name;
    const char                      *type;
    const char                      *help;
} ngx_http_persona_family_t;


static ngx_int_t ngx_http_persona_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_persona_metrics_bind(ngx_http_persona_metrics_t *m);
static ngx_http_persona_series_t *ngx_http_persona_series(
    ngx_http_persona_metrics_t *m, ngx_uint_t family, u_char *text,
    size_t len);
static ngx_atomic_t *ngx_http_persona_series_count(
    ngx_http_persona_metrics_t *m, ngx_uint_t family, u_char *text,
    size_t len);
static ngx_int_t ngx_http_persona_metrics_log(ngx_http_request_t *r);
static void ngx_http_persona_metrics_conversion(ngx_http_request_t *r,
    ngx_http_persona_metrics_t *m, ngx_http_persona_ctx_t *ctx,
    ngx_keyval_t *kv, ngx_uint_t held);
static void ngx_http_persona_series_add(ngx_http_persona_metrics_t *m,
    ngx_uint_t family, u_char *labels, size_t len, double value,
    ngx_uint_t valued);
static ngx_int_t ngx_http_persona_metrics_handler(ngx_http_request_t *r);
static u_char *ngx_http_persona_metrics_write(ngx_http_request_t *r,
    ngx_http_persona_metrics_t *m, u_char *p, u_char *last);
static u_char *ngx_http_persona_write_family(u_char *p, u_char *last,
    const char *name, const char *type, const char *help);
static u_char *ngx_http_persona_write_srm(ngx_http_request_t *r,
    ngx_http_persona_metrics_t *m, u_char *p, u_char *last);
static u_char *ngx_http_persona_write_double(u_char *p, u_char *last,
    double d);
static u_char *ngx_http_persona_label_escape(u_char *p, u_char *last,
    u_char *s, size_t len);


/* the families in the order they are written; DATABASE writes three */

static ngx_http_persona_family_t  ngx_http_persona_families[] = {

    { "persona_visitors_total", "counter",
      "Visitor ids issued (new visitors with consent), by global "
      "holdout." },

    { "persona_exposures_total", "counter",
      "Exposures logged, by experiment, variant and global holdout." },

    { "persona_new_visitor_exposures_total", "counter",
      "Exposures in the response that issued the visitor's id: each "
      "visitor once, on the first page, outside the holdout." },

    { "persona_content_exposures_total", "counter",
      "Exposures of personalization rules, by content set, rule and "
      "holdout." },

    { "persona_conversions_total", "counter",
      "Conversions logged, by goal, channel of entry and global "
      "holdout." },

    { "persona_conversion_value_total", "counter",
      "Sum of the values of conversions, by goal, channel of entry and "
      "global holdout." },

    { "persona_experiment_conversions_total", "counter",
      "Conversions by the visitor's variant of each experiment." },

    { "persona_experiment_conversion_value_total", "counter",
      "Sum of conversion values by the visitor's variant of each "
      "experiment." },

    { "persona_filter_bailouts_total", "counter",
      "Responses or slots left as they were: compressed responses, slot "
      "defaults larger than persona_slot_buffer_size, slots beyond "
      "persona_fill_max_size." },

    { NULL, NULL, NULL }
};


static ngx_str_t  ngx_http_persona_bailouts[] = {
    ngx_string("compressed"),
    ngx_string("slot_too_large"),
    ngx_string("fill_limit"),
};


/* the text of one series; the buffer is per process and never shared */

static u_char  ngx_http_persona_text[NGX_HTTP_PERSONA_SERIES_MAX];


char *
ngx_http_persona_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    ssize_t                      size;
    ngx_str_t                   *value;
    ngx_http_persona_metrics_t  *m;

    value = cf->args->elts;

    if (pmcf->metrics != NULL && pmcf->metrics->zone != NULL) {
        return "is duplicate";
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\", must be at least "
                           "%uzk", &value[2], 8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    if (value[1].len == 0) {
        return "has an empty zone name";
    }

    m = pmcf->metrics;

    if (m == NULL) {
        m = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_metrics_t));
        if (m == NULL) {
            return NGX_CONF_ERROR;
        }

        pmcf->metrics = m;
    }

    m->pmcf = pmcf;

    m->zone = ngx_shared_memory_add(cf, &value[1], size,
                                    &ngx_http_persona_module);
    if (m->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (m->zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used by another module",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    m->zone->init = ngx_http_persona_metrics_init_zone;
    m->zone->data = m;

    return NGX_CONF_OK;
}


char *
ngx_http_persona_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    /* the zone may be declared further down: checked at the end */

    if (pmcf->metrics == NULL) {
        pmcf->metrics = ngx_pcalloc(cf->pool,
                                    sizeof(ngx_http_persona_metrics_t));
        if (pmcf->metrics == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_persona_metrics_handler;

    return NGX_CONF_OK;
}


/*
 * The http block is read: the tables of series of this configuration,
 * filled when the zone is initialized, and the log phase handler.
 */

ngx_int_t
ngx_http_persona_metrics_init(ngx_conf_t *cf)
{
    ngx_uint_t                       i, n, ne, nc;
    ngx_http_handler_pt             *h;
    ngx_http_persona_metrics_t      *m;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_persona_experiment_t   *exp;
    ngx_http_persona_content_set_t  *set;
    ngx_http_persona_main_conf_t    *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);
    m = pmcf->metrics;

    if (m == NULL) {
        return NGX_OK;
    }

    if (m->zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"persona_metrics\" needs a "
                           "\"persona_metrics_zone\" in the http block");
        return NGX_ERROR;
    }

    exp = pmcf->experiments.elts;
    ne = pmcf->experiments.nelts;
    set = pmcf->sets.elts;
    nc = pmcf->sets.nelts;

    m->exp_off = ngx_palloc(cf->pool, (ne + 1) * sizeof(ngx_uint_t));
    m->set_off = ngx_palloc(cf->pool, (nc + 1) * sizeof(ngx_uint_t));
    if (m->exp_off == NULL || m->set_off == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < ne; i++) {
        m->exp_off[i] = n;
        n += 2 * exp[i].variants.nelts;
    }

    m->exp_off[ne] = n;

    m->exposures = ngx_pcalloc(cf->pool, (n + 1) * sizeof(ngx_atomic_t *));
    m->new_visitors = ngx_pcalloc(cf->pool,
                                  (n / 2 + 1) * sizeof(ngx_atomic_t *));
    if (m->exposures == NULL || m->new_visitors == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < nc; i++) {
        m->set_off[i] = n;
        n += 2 * set[i].rules.nelts;
    }

    m->set_off[nc] = n;

    m->content = ngx_pcalloc(cf->pool, (n + 1) * sizeof(ngx_atomic_t *));
    if (m->content == NULL) {
        return NGX_ERROR;
    }

    pmcf->counters = m->counters;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_persona_metrics_log;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_persona_metrics_t *om = data;

    size_t                       len;
    ngx_http_persona_metrics_t  *m;

    m = shm_zone->data;
    m->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (om != NULL) {
        /* a reload: the counters go on */
        m->sh = om->sh;

    } else if (shm_zone->shm.exists) {
        m->sh = m->shpool->data;

    } else {
        m->sh = ngx_slab_alloc(m->shpool,
                               sizeof(ngx_http_persona_metrics_sh_t));
        if (m->sh == NULL) {
            return NGX_ERROR;
        }

        m->shpool->data = m->sh;

        ngx_rbtree_init(&m->sh->rbtree, &m->sh->sentinel,
                        ngx_str_rbtree_insert_value);
        ngx_queue_init(&m->sh->queue);
        m->sh->dropped = 0;

        len = sizeof(" in persona_metrics_zone \"\"") + shm_zone->shm.name.len;

        m->shpool->log_ctx = ngx_slab_alloc(m->shpool, len);
        if (m->shpool->log_ctx == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(m->shpool->log_ctx, " in persona_metrics_zone \"%V\"%Z",
                    &shm_zone->shm.name);

        m->shpool->log_nomem = 0;
    }

    ngx_shmtx_lock(&m->shpool->mutex);
    ngx_http_persona_metrics_bind(m);
    ngx_shmtx_unlock(&m->shpool->mutex);

    return NGX_OK;
}


/*
 * Every series this configuration counts into, found or made now, with
 * the mutex held: requests then only increment.  They start at zero, so
 * a dashboard sees a variant before its first exposure.
 */

static void
ngx_http_persona_metrics_bind(ngx_http_persona_metrics_t *m)
{
    u_char                           *p, *last;
    ngx_str_t                        *path;
    ngx_uint_t                        i, k, h, off;
    const char                       *what;
    ngx_http_persona_series_t        *s;
    ngx_http_persona_watch_t        **w;
    ngx_http_persona_variant_t       *var;
    ngx_http_persona_experiment_t    *exp;
    ngx_http_persona_content_set_t   *set;
    ngx_http_persona_content_rule_t  *rule;
    ngx_http_persona_main_conf_t     *pmcf;

    static const char  *held[] = { "false", "true" };

    pmcf = m->pmcf;
    p = ngx_http_persona_text;
    last = p + NGX_HTTP_PERSONA_SERIES_MAX;

    exp = pmcf->experiments.elts;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        var = exp[i].variants.elts;
        off = m->exp_off[i];

        for (k = 0; k < exp[i].variants.nelts; k++) {
            for (h = 0; h < 2; h++) {
                m->exposures[off + 2 * k + h] =
                    ngx_http_persona_series_count(m,
                        NGX_HTTP_PERSONA_M_EXPOSURES, p,
                        ngx_snprintf(p, last - p, "persona_exposures_total"
                                     "{experiment=\"%V\",variant=\"%V\","
                                     "holdout=\"%s\"}", &exp[i].name,
                                     &var[k].name, held[h]) - p);
            }

            m->new_visitors[off / 2 + k] =
                ngx_http_persona_series_count(m,
                    NGX_HTTP_PERSONA_M_NEW_VISITORS, p,
                    ngx_snprintf(p, last - p,
                                 "persona_new_visitor_exposures_total"
                                 "{experiment=\"%V\",variant=\"%V\"}",
                                 &exp[i].name, &var[k].name) - p);
        }
    }

    set = pmcf->sets.elts;

    for (i = 0; i < pmcf->sets.nelts; i++) {
        rule = set[i].rules.elts;
        off = m->set_off[i];

        for (k = 0; k < set[i].rules.nelts; k++) {
            if (rule[k].cond == NULL) {
                continue;
            }

            for (h = 0; h < 2; h++) {
                m->content[off + 2 * k + h] =
                    ngx_http_persona_series_count(m,
                        NGX_HTTP_PERSONA_M_CONTENT, p,
                        ngx_snprintf(p, last - p,
                                     "persona_content_exposures_total"
                                     "{content=\"%V\",rule=\"%V\","
                                     "holdout=\"%s\"}", &set[i].name,
                                     &rule[k].name, held[h]) - p);
            }
        }
    }

    for (h = 0; h < 2; h++) {
        m->visitors[h] = ngx_http_persona_series_count(m,
                             NGX_HTTP_PERSONA_M_VISITORS, p,
                             ngx_snprintf(p, last - p,
                                          "persona_visitors_total"
                                          "{holdout=\"%s\"}", held[h])
                             - p);
    }

    for (i = 0; i < NGX_HTTP_PERSONA_COUNT_N; i++) {
        m->counters[i] = ngx_http_persona_series_count(m,
                             NGX_HTTP_PERSONA_M_BAILOUTS, p,
                             ngx_snprintf(p, last - p,
                                          "persona_filter_bailouts_total"
                                          "{reason=\"%V\"}",
                                          &ngx_http_persona_bailouts[i])
                             - p);
    }

    /* databases are named by the first word of what they are
     * ("geoip2", "segments") and their path, written with the labels */

    w = pmcf->watches.elts;

    for (i = 0; i < pmcf->watches.nelts; i++) {
        ngx_http_persona_watch_name(w[i], &what, &path);

        for (k = 0; what[k] != '\0' && what[k] != ' '; k++) { /* void */ }

        last = ngx_snprintf(p, NGX_HTTP_PERSONA_SERIES_MAX / 2,
                            "{database=\"%*s\",path=\"", k, what);
        last = ngx_http_persona_label_escape(last,
                                             p + NGX_HTTP_PERSONA_SERIES_MAX
                                             - 2, path->data, path->len);
        *last++ = '"';
        *last++ = '}';

        s = ngx_http_persona_series(m, NGX_HTTP_PERSONA_M_DATABASE, p,
                                    last - p);

        ngx_http_persona_watch_stats(w[i], s ? &s->stats : NULL);
    }
}


/* with the mutex held; NULL when the zone is full (counted) */

static ngx_http_persona_series_t *
ngx_http_persona_series(ngx_http_persona_metrics_t *m, ngx_uint_t family,
    u_char *text, size_t len)
{
    uint32_t                    hash;
    ngx_str_t                   key;
    ngx_http_persona_series_t  *s;

    if (len == 0 || len >= NGX_HTTP_PERSONA_SERIES_MAX) {
        m->sh->dropped++;
        return NULL;
    }

    key.data = text;
    key.len = len;

    hash = ngx_crc32_short(text, len);

    s = (ngx_http_persona_series_t *) ngx_str_rbtree_lookup(&m->sh->rbtree,
                                                            &key, hash);
    if (s != NULL) {
        return s;
    }

    s = ngx_slab_alloc_locked(m->shpool,
                              sizeof(ngx_http_persona_series_t) + len);
    if (s == NULL) {
        m->sh->dropped++;
        return NULL;
    }

    ngx_memzero(s, sizeof(ngx_http_persona_series_t));

    s->sn.str.data = (u_char *) (s + 1);
    s->sn.str.len = len;
    ngx_memcpy(s->sn.str.data, text, len);

    s->sn.node.key = hash;
    s->family = family;

    ngx_rbtree_insert(&m->sh->rbtree, &s->sn.node);
    ngx_queue_insert_tail(&m->sh->queue, &s->queue);

    return s;
}


static ngx_atomic_t *
ngx_http_persona_series_count(ngx_http_persona_metrics_t *m,
    ngx_uint_t family, u_char *text, size_t len)
{
    ngx_http_persona_series_t  *s;

    s = ngx_http_persona_series(m, family, text, len);

    return (s != NULL) ? &s->count : NULL;
}


#define ngx_http_persona_inc(a)                                              \
    if ((a) != NULL) { (void) ngx_atomic_fetch_add((a), 1); }


/* the request's events, as its exposure and conversion lines have them */

static ngx_int_t
ngx_http_persona_metrics_log(ngx_http_request_t *r)
{
    ngx_int_t                      k, held;
    ngx_uint_t                     i, n, off;
    ngx_keyval_t                  *kv;
    ngx_http_persona_ctx_t        *ctx;
    ngx_http_persona_metrics_t    *m;
    ngx_http_persona_main_conf_t  *pmcf;

    if (r != r->main) {
        return NGX_OK;
    }

    ctx = ngx_http_persona_find_ctx(r);

    if (ctx == NULL || ctx->id.len == 0) {
        return NGX_OK;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    m = pmcf->metrics;
    n = pmcf->experiments.nelts;

    held = ngx_http_persona_holdout(r, ctx);

    if (held == NGX_ERROR) {
        return NGX_OK;
    }

    if (ctx->id_new) {
        ngx_http_persona_inc(m->visitors[held]);
    }

    for (i = 0; i < n; i++) {
        if (!ngx_http_persona_exposed(r, ctx, i)) {
            continue;
        }

        k = ctx->assign[i];
        off = m->exp_off[i];

        ngx_http_persona_inc(m->exposures[off + 2 * k + held]);

        if (ctx->id_new && !held) {
            ngx_http_persona_inc(m->new_visitors[off / 2 + k]);
        }
    }

    for (i = 0; i < pmcf->sets.nelts; i++) {
        if (!ngx_http_persona_content_exposed(r, ctx, i)) {
            continue;
        }

        k = ctx->rule[i];

        ngx_http_persona_inc(m->content[m->set_off[i] + 2 * k
                                        + ((ctx->set_state[i]
                                            & NGX_HTTP_PERSONA_SET_HELD)
                                           != 0)]);
    }

    if (ctx->goals != NULL) {
        kv = ctx->goals->elts;

        for (i = 0; i < ctx->goals->nelts; i++) {
            ngx_http_persona_metrics_conversion(r, m, ctx, &kv[i], held);
        }
    }

    return NGX_OK;
}


/* goals are named by the beacon: series looked up under the mutex */

static void
ngx_http_persona_metrics_conversion(ngx_http_request_t *r,
    ngx_http_persona_metrics_t *m, ngx_http_persona_ctx_t *ctx,
    ngx_keyval_t *kv, ngx_uint_t held)
{
    u_char                         *p, *last, buf[64];
    double                          value;
    ngx_int_t                       k;
    ngx_uint_t                      i, valued;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    pmcf = m->pmcf;

    value = 0;
    valued = (kv->value.len > 0 && kv->value.len < sizeof(buf));

    if (valued) {
        ngx_memcpy(buf, kv->value.data, kv->value.len);
        buf[kv->value.len] = '\0';
        value = strtod((char *) buf, NULL);
    }

    /* the labels in the first half of the buffer, series in the other */

    p = ngx_http_persona_text;
    last = p + NGX_HTTP_PERSONA_SERIES_MAX / 2;

    ngx_shmtx_lock(&m->shpool->mutex);

    ngx_http_persona_series_add(m, NGX_HTTP_PERSONA_M_CONVERSIONS, p,
                                ngx_snprintf(p, last - p,
                                             "{goal=\"%V\",entry_channel="
                                             "\"%V\",holdout=\"%s\"}",
                                             &kv->key, &ctx->entry,
                                             held ? "true" : "false") - p,
                                value, valued);

    exp = pmcf->experiments.elts;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        k = ngx_http_persona_variant_shown(r, ctx, &exp[i]);

        if (k < 0) {
            continue;
        }

        var = exp[i].variants.elts;

        ngx_http_persona_series_add(m, NGX_HTTP_PERSONA_M_EXP_CONVERSIONS, p,
                                    ngx_snprintf(p, last - p,
                                                 "{experiment=\"%V\","
                                                 "variant=\"%V\","
                                                 "goal=\"%V\"}",
                                                 &exp[i].name, &var[k].name,
                                                 &kv->key) - p,
                                    value, valued);
    }

    ngx_shmtx_unlock(&m->shpool->mutex);
}


/* a conversion: one more in the family, its value in the next one */

static void
ngx_http_persona_series_add(ngx_http_persona_metrics_t *m, ngx_uint_t family,
    u_char *labels, size_t len, double value, ngx_uint_t valued)
{
    u_char                     *p, *last;
    ngx_uint_t                  f;
    ngx_http_persona_series_t  *s;

    p = ngx_http_persona_text + NGX_HTTP_PERSONA_SERIES_MAX / 2;
    last = ngx_http_persona_text + NGX_HTTP_PERSONA_SERIES_MAX;

    for (f = family; f <= family + 1; f++) {
        s = ngx_http_persona_series(m, f, p,
                                    ngx_snprintf(p, last - p, "%s%*s",
                                        ngx_http_persona_families[f].name,
                                        len, labels) - p);
        if (s == NULL) {
            continue;
        }

        if (f == family) {
            (void) ngx_atomic_fetch_add(&s->count, 1);

        } else if (valued) {
            s->sum += value;
        }
    }
}


static ngx_int_t
ngx_http_persona_metrics_handler(ngx_http_request_t *r)
{
    size_t                         size;
    ngx_int_t                      rc;
    ngx_buf_t                     *b;
    ngx_chain_t                    out;
    ngx_queue_t                   *q;
    ngx_http_persona_series_t     *s;
    ngx_http_persona_metrics_t    *m;
    ngx_http_persona_main_conf_t  *pmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);
    m = pmcf->metrics;

    ngx_shmtx_lock(&m->shpool->mutex);

    /* a generous bound: each series is at most its text, a value and
     * three more lines for a database */

    size = 8192 + pmcf->experiments.nelts * 256;

    for (q = ngx_queue_head(&m->sh->queue);
         q != ngx_queue_sentinel(&m->sh->queue);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, ngx_http_persona_series_t, queue);
        size += 3 * s->sn.str.len + 256;
    }

    b = ngx_create_temp_buf(r->pool, size);

    if (b != NULL) {
        b->last = ngx_http_persona_metrics_write(r, m, b->pos, b->end);
    }

    ngx_shmtx_unlock(&m->shpool->mutex);

    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;
    r->headers_out.content_type_lowcase = NULL;

    if (r->method == NGX_HTTP_HEAD || b->last == b->pos) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main);
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static u_char *
ngx_http_persona_metrics_write(ngx_http_request_t *r,
    ngx_http_persona_metrics_t *m, u_char *p, u_char *last)
{
    time_t                      age;
    ngx_uint_t                  f, k;
    ngx_queue_t                *q;
    ngx_http_persona_series_t  *s;
    ngx_http_persona_family_t  *fam;

    static const char  *db[][3] = {
        { "persona_database_age_seconds", "gauge",
          "Seconds since the database file in use was modified." },
        { "persona_database_generation", "gauge",
          "Versions of the database file loaded since the zone started." },
        { "persona_database_reload_failures_total", "counter",
          "Versions of the database file that failed to load." },
    };

    for (f = 0; ngx_http_persona_families[f].name != NULL; f++) {
        fam = &ngx_http_persona_families[f];

        p = ngx_http_persona_write_family(p, last, fam->name, fam->type,
                                          fam->help);

        for (q = ngx_queue_head(&m->sh->queue);
             q != ngx_queue_sentinel(&m->sh->queue);
             q = ngx_queue_next(q))
        {
            s = ngx_queue_data(q, ngx_http_persona_series_t, queue);

            if (s->family != f) {
                continue;
            }

            p = ngx_slprintf(p, last, "%V ", &s->sn.str);

            if (f == NGX_HTTP_PERSONA_M_CONVERSION_VALUE
                || f == NGX_HTTP_PERSONA_M_EXP_CONVERSION_VALUE)
            {
                p = ngx_http_persona_write_double(p, last, s->sum);

            } else {
                p = ngx_slprintf(p, last, "%uA\n", s->count);
            }
        }
    }

    p = ngx_http_persona_write_srm(r, m, p, last);

    for (k = 0; k < 3; k++) {
        p = ngx_http_persona_write_family(p, last, db[k][0], db[k][1],
                                          db[k][2]);

        for (q = ngx_queue_head(&m->sh->queue);
             q != ngx_queue_sentinel(&m->sh->queue);
             q = ngx_queue_next(q))
        {
            s = ngx_queue_data(q, ngx_http_persona_series_t, queue);

            /* a file never loaded has no age */

            if (s->family != NGX_HTTP_PERSONA_M_DATABASE
                || (k == 0 && s->stats.generation == 0))
            {
                continue;
            }

            p = ngx_slprintf(p, last, "%s%V ", db[k][0], &s->sn.str);

            switch (k) {

            case 0:
                age = ngx_time() - (time_t) s->stats.mtime;
                p = ngx_slprintf(p, last, "%T\n", age > 0 ? age : 0);
                break;

            case 1:
                p = ngx_slprintf(p, last, "%uA\n", s->stats.generation);
                break;

            default:
                p = ngx_slprintf(p, last, "%uA\n", s->stats.failures);
            }
        }
    }

    p = ngx_http_persona_write_family(p, last,
                                      "persona_metrics_dropped_total",
                                      "counter",
                                      "Series not counted: the metrics "
                                      "zone was full.");

    return ngx_slprintf(p, last, "persona_metrics_dropped_total %uA\n",
                        m->sh->dropped);
}


static u_char *
ngx_http_persona_write_family(u_char *p, u_char *last, const char *name,
    const char *type, const char *help)
{
    return ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s %s\n", name, help,
                        name, type);
}


/*
 * The sample-ratio p-value of each experiment of this configuration,
 * against its configured weights, from new visitors: a visitor counts
 * once, and before any variant could change how many pages they see.
 */

static u_char *
ngx_http_persona_write_srm(ngx_http_request_t *r,
    ngx_http_persona_metrics_t *m, u_char *p, u_char *last)
{
    double                         *obs, *w, pv;
    ngx_uint_t                      i, k, n, off;
    ngx_atomic_t                   *a;
    ngx_http_persona_variant_t     *var;
    ngx_http_persona_experiment_t  *exp;
    ngx_http_persona_main_conf_t   *pmcf;

    pmcf = m->pmcf;

    p = ngx_http_persona_write_family(p, last,
                                      "persona_sample_ratio_p_value",
                                      "gauge",
                                      "Chi-square p-value of new visitors "
                                      "per variant against the configured "
                                      "weights; below 0.001 the split is "
                                      "not the configured one.");

    exp = pmcf->experiments.elts;

    for (i = 0; i < pmcf->experiments.nelts; i++) {
        n = exp[i].variants.nelts;
        var = exp[i].variants.elts;
        off = m->exp_off[i] / 2;

        obs = ngx_palloc(r->pool, 2 * n * sizeof(double));
        if (obs == NULL) {
            return p;
        }

        w = obs + n;

        for (k = 0; k < n; k++) {
            a = m->new_visitors[off + k];
            obs[k] = (a != NULL) ? (double) *a : 0;
            w[k] = var[k].weighted ? (double) var[k].weight : 1.0;
        }

        pv = persona_stats_srm_p(obs, w, n);

        if (pv < 0) {
            continue;
        }

        p = ngx_slprintf(p, last,
                         "persona_sample_ratio_p_value{experiment=\"%V\"} ",
                         &exp[i].name);
        p = ngx_http_persona_write_double(p, last, pv);
    }

    return p;
}


static u_char *
ngx_http_persona_write_double(u_char *p, u_char *last, double d)
{
    size_t  n;
    char    buf[32];

    n = persona_stats_double(buf, sizeof(buf), d);

    if (n == 0) {
        return ngx_slprintf(p, last, "NaN\n");
    }

    return ngx_slprintf(p, last, "%*s\n", n, buf);
}


/* a label value: backslash, quote and line feed escaped */

static u_char *
ngx_http_persona_label_escape(u_char *p, u_char *last, u_char *s,
    size_t len)
{
    size_t  i;

    for (i = 0; i < len && p + 2 <= last; i++) {
        switch (s[i]) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = s[i];
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = s[i];
        }
    }

    return p;
}
