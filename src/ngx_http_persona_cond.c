
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Conditions (persona_consent, persona_segment, experiment targets,
 * persona_content rules).  The language itself lives in
 * src/core/persona_rule.c; this file connects it to nginx: variables by
 * index, segments by number, regular expressions through nginx's PCRE
 * interface (without captures, so that $1... of the request stay as the
 * configuration set them).
 *
 * What segment(NAME) means is the caller's: segment.c evaluates it in
 * full, CRM list included, once the visitor is known.  Before that (in
 * persona_consent, which decides whether there is an id at all) a segment
 * is its condition alone, evaluated afresh and never cached.
 *
 * Values come from the visitor, so a pattern may meet its worst case: the
 * module matches with its own limits (a match context with low match and
 * depth limits), which make such a match cheap to abandon.  A condition
 * that cannot be evaluated, for that or any other reason, is false, with a
 * warning at most once a second per worker: a page is never lost to it.
 */


#include "ngx_http_persona.h"

#include "persona_rule.h"


#define NGX_HTTP_PERSONA_SEG_UNKNOWN  0
#define NGX_HTTP_PERSONA_SEG_BUSY     1
#define NGX_HTTP_PERSONA_SEG_OUT      2
#define NGX_HTTP_PERSONA_SEG_IN       3

/*
 * A pattern that needs more than this has met a hostile value: ordinary
 * patterns over headers and cookies need a few hundred steps, a
 * backtracking one gives up within a few milliseconds.
 */
#define NGX_HTTP_PERSONA_MATCH_LIMIT  100000
#define NGX_HTTP_PERSONA_DEPTH_LIMIT  10000


struct ngx_http_persona_cond_s {
    persona_rule_t             *rule;
    ngx_str_t                   source;
};


/* a variable used by a condition or a template, checked once all are known */
typedef struct {
    ngx_int_t                     index;
    ngx_str_t                    *fragment;   /* NULL: not in a fragment */
    ngx_str_t                     file;
    ngx_uint_t                    line;
} ngx_http_persona_var_ref_t;


typedef struct {
    ngx_http_request_t           *request;
    ngx_http_persona_ctx_t       *ctx;
    ngx_http_persona_segment_pt   segment;
    ngx_int_t                     match_rc;   /* a failed match */
} ngx_http_persona_cond_rt_t;


static void *ngx_http_persona_cond_alloc(void *data, size_t size);
static int ngx_http_persona_cond_variable(void *data, const unsigned char *name,
    size_t len);
static int ngx_http_persona_cond_segment(void *data, const unsigned char *name,
    size_t len);
static void *ngx_http_persona_cond_regex(void *data, const unsigned char *re,
    size_t len, int caseless, char *err, size_t errlen);
static int ngx_http_persona_cond_get_variable(void *data, int id,
    const unsigned char **p, size_t *len);
static int ngx_http_persona_cond_get_segment(void *data, int id);
static int ngx_http_persona_cond_match(void *data, void *re,
    const unsigned char *s, size_t len);
static ngx_int_t ngx_http_persona_cond_exec(ngx_http_request_t *r,
    ngx_regex_t *re, const u_char *s, size_t len);
static void ngx_http_persona_cond_failed(ngx_http_request_t *r,
    ngx_http_persona_cond_t *cond, ngx_int_t match_rc);
static void ngx_http_persona_cond_segment_ref(void *data, int id);


#if (NGX_PCRE2)

/* per process, made on first use and freed with the cycle */
static pcre2_match_context  *ngx_http_persona_match_ctx;
static pcre2_match_data     *ngx_http_persona_match_data;

static void ngx_http_persona_cond_match_free(void *data);

#endif

static time_t      ngx_http_persona_cond_warned;
static ngx_uint_t  ngx_http_persona_cond_unwarned;


ngx_http_persona_cond_t *
ngx_http_persona_cond_compile(ngx_conf_t *cf, ngx_str_t *src)
{
    char                      err[NGX_MAX_CONF_ERRSTR];
    persona_rule_env_t        env;
    ngx_http_persona_cond_t  *cond;

    cond = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_cond_t));
    if (cond == NULL) {
        return NULL;
    }

    cond->source = *src;

    env.alloc = ngx_http_persona_cond_alloc;
    env.variable = ngx_http_persona_cond_variable;
    env.segment = ngx_http_persona_cond_segment;
    env.regex = ngx_http_persona_cond_regex;
    env.ctx = cf;

    err[0] = '\0';

    cond->rule = persona_rule_compile(src->data, src->len, &env, err,
                                      sizeof(err));
    if (cond->rule == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid condition \"%V\": %s", src, err);
        return NULL;
    }

    return cond;
}


static void *
ngx_http_persona_cond_alloc(void *data, size_t size)
{
    ngx_conf_t *cf = data;

    return ngx_palloc(cf->pool, size);
}


static int
ngx_http_persona_cond_variable(void *data, const unsigned char *name,
    size_t len)
{
    ngx_conf_t *cf = data;

    ngx_int_t  index;
    ngx_str_t  s;

    s.len = len;
    s.data = (u_char *) name;

    index = ngx_http_persona_variable_index(cf, &s, NULL);

    return index == NGX_ERROR ? -1 : (int) index;
}


/*
 * The index of a variable a condition or a fragment uses.  The variable
 * may be defined later ("set", "map" further down), so the reference is
 * remembered with its place and checked once the http block is read:
 * nginx itself would report an unknown name without telling where.
 */

ngx_int_t
ngx_http_persona_variable_index(ngx_conf_t *cf, ngx_str_t *name,
    ngx_str_t *fragment)
{
    ngx_int_t                      index;
    ngx_http_persona_var_ref_t    *ref;
    ngx_http_persona_main_conf_t  *pmcf;

    index = ngx_http_get_variable_index(cf, name);
    if (index == NGX_ERROR) {
        return NGX_ERROR;
    }

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    if (pmcf->var_refs.elts == NULL
        && ngx_array_init(&pmcf->var_refs, cf->pool, 8,
                          sizeof(ngx_http_persona_var_ref_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ref = ngx_array_push(&pmcf->var_refs);
    if (ref == NULL) {
        return NGX_ERROR;
    }

    ref->index = index;
    ref->fragment = fragment;
    ref->file = cf->conf_file->file.name;
    ref->line = cf->conf_file->line;

    return index;
}


/*
 * Run from postconfiguration, the last moment before nginx resolves
 * variables: a name is known as nginx will find it, by its full name or
 * by a prefix such as "http_" or "cookie_".
 */

char *
ngx_http_persona_variables_check(ngx_conf_t *cf)
{
    ngx_str_t                     *name;
    ngx_uint_t                     i, n;
    ngx_hash_key_t                *key;
    ngx_http_variable_t           *v, *pv;
    ngx_http_persona_var_ref_t    *ref;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);
    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    if (cmcf->variables_keys == NULL) {
        return NGX_CONF_OK;
    }

    ref = pmcf->var_refs.elts;
    v = cmcf->variables.elts;
    key = cmcf->variables_keys->keys.elts;
    pv = cmcf->prefix_variables.elts;

    for (i = 0; i < pmcf->var_refs.nelts; i++) {
        name = &v[ref[i].index].name;

        if (v[ref[i].index].get_handler != NULL) {
            continue;
        }

        for (n = 0; n < cmcf->variables_keys->keys.nelts; n++) {
            if (key[n].key.len == name->len
                && ngx_strncmp(key[n].key.data, name->data, name->len) == 0)
            {
                break;
            }
        }

        if (n < cmcf->variables_keys->keys.nelts) {
            continue;
        }

        for (n = 0; n < cmcf->prefix_variables.nelts; n++) {
            if (name->len >= pv[n].name.len
                && ngx_strncmp(name->data, pv[n].name.data, pv[n].name.len)
                   == 0)
            {
                break;
            }
        }

        if (n < cmcf->prefix_variables.nelts) {
            continue;
        }

        if (ref[i].fragment != NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown \"%V\" variable in fragment \"%V\" "
                          "in %V:%ui", name, ref[i].fragment, &ref[i].file,
                          ref[i].line);

        } else {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown \"%V\" variable in %V:%ui", name,
                          &ref[i].file, ref[i].line);
        }

        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Segments may be referred to before they are defined (an experiments
 * file included before the segments file); a reference creates the entry
 * and the segment check verifies that every entry got a definition.
 */

static int
ngx_http_persona_cond_segment(void *data, const unsigned char *name,
    size_t len)
{
    ngx_conf_t *cf = data;

    ngx_str_t                       s;
    ngx_int_t                       i;

    s.len = len;
    s.data = (u_char *) name;

    i = ngx_http_persona_segment_index(cf, &s, 1);

    return i == NGX_ERROR ? -1 : (int) i;
}


static void *
ngx_http_persona_cond_regex(void *data, const unsigned char *re, size_t len,
    int caseless, char *err, size_t errlen)
{
    ngx_conf_t *cf = data;

    u_char               errstr[NGX_MAX_CONF_ERRSTR];
    ngx_regex_compile_t  rc;

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

    rc.pattern.len = len;
    rc.pattern.data = ngx_pnalloc(cf->pool, len);
    if (rc.pattern.data == NULL) {
        return NULL;
    }

    ngx_memcpy(rc.pattern.data, re, len);

    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;
    rc.options = caseless ? NGX_REGEX_CASELESS : 0;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_snprintf((u_char *) err, errlen - 1, "%V%Z", &rc.err);
        err[errlen - 1] = '\0';
        return NULL;
    }

    return rc.regex;
}


/* segment: NULL for a segment's condition alone */

ngx_int_t
ngx_http_persona_cond_eval(ngx_http_request_t *r, ngx_http_persona_ctx_t *ctx,
    ngx_http_persona_cond_t *cond, ngx_http_persona_segment_pt segment)
{
    int                          rc;
    persona_rule_rt_t            rt;
    ngx_http_persona_cond_rt_t   data;

    data.request = r;
    data.ctx = ctx;
    data.segment = segment;
    data.match_rc = 0;

    rt.variable = ngx_http_persona_cond_get_variable;
    rt.segment = ngx_http_persona_cond_get_segment;
    rt.regex = ngx_http_persona_cond_match;
    rt.ctx = &data;

    rc = persona_rule_eval(cond->rule, &rt);

    if (rc < 0) {
        ngx_http_persona_cond_failed(r, cond, data.match_rc);
        return 0;
    }

    return rc;
}


static void
ngx_http_persona_cond_failed(ngx_http_request_t *r,
    ngx_http_persona_cond_t *cond, ngx_int_t match_rc)
{
    u_char  reason[128];
#if (NGX_PCRE2)
    u_char  msg[96];
#endif

    /* a visitor can make every request fail: one line a second at most */

    if (ngx_time() == ngx_http_persona_cond_warned) {
        ngx_http_persona_cond_unwarned++;
        return;
    }

    ngx_http_persona_cond_warned = ngx_time();

    if (match_rc == 0) {
        ngx_cpystrn(reason, (u_char *) "a variable could not be read",
                    sizeof(reason));

    } else {
#if (NGX_PCRE2)
        if (pcre2_get_error_message(match_rc, msg, sizeof(msg)) < 0) {
            msg[0] = '\0';
        }

        ngx_snprintf(reason, sizeof(reason) - 1, ngx_regex_exec_n
                     " failed: %i, %s%Z", match_rc, msg);
#else
        ngx_snprintf(reason, sizeof(reason) - 1, ngx_regex_exec_n
                     " failed: %i%Z", match_rc);
#endif
        reason[sizeof(reason) - 1] = '\0';
    }

    if (ngx_http_persona_cond_unwarned) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "persona: condition \"%V\" taken as false, %s "
                      "(and %ui failures not logged since the last "
                      "warning)", &cond->source, reason,
                      ngx_http_persona_cond_unwarned);

    } else {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "persona: condition \"%V\" taken as false, %s",
                      &cond->source, reason);
    }

    ngx_http_persona_cond_unwarned = 0;
}


static int
ngx_http_persona_cond_get_variable(void *data, int id,
    const unsigned char **p, size_t *len)
{
    ngx_http_persona_cond_rt_t *rt = data;

    ngx_http_variable_value_t  *vv;

    vv = ngx_http_get_indexed_variable(rt->request, id);

    if (vv == NULL) {
        return -1;
    }

    if (vv->not_found) {
        *p = (const unsigned char *) "";
        *len = 0;
        return 0;
    }

    *p = vv->data;
    *len = vv->len;

    return 0;
}


static int
ngx_http_persona_cond_get_segment(void *data, int id)
{
    ngx_http_persona_cond_rt_t *rt = data;

    ngx_int_t                      rc;
    ngx_http_persona_segment_t    *seg;
    ngx_http_persona_main_conf_t  *pmcf;

    if (rt->segment != NULL) {
        rc = rt->segment(rt->request, rt->ctx, id);
        return rc == NGX_ERROR ? -1 : (int) rc;
    }

    /* cycles are refused at configuration time: this ends */

    pmcf = ngx_http_get_module_main_conf(rt->request,
                                         ngx_http_persona_module);
    seg = pmcf->segments.elts;

    if (seg[id].cond == NULL) {
        return 0;
    }

    rc = ngx_http_persona_cond_eval(rt->request, rt->ctx, seg[id].cond, NULL);

    return rc == NGX_ERROR ? -1 : (int) rc;
}


static int
ngx_http_persona_cond_match(void *data, void *re, const unsigned char *s,
    size_t len)
{
    ngx_http_persona_cond_rt_t *rt = data;

    ngx_int_t  rc;

    rc = ngx_http_persona_cond_exec(rt->request, re, s, len);

    if (rc >= 0) {
        return 1;
    }

    if (rc == NGX_REGEX_NO_MATCHED) {
        return 0;
    }

    rt->match_rc = rc;

    return -1;
}


/*
 * nginx's ngx_regex_exec() matches with PCRE's default limits (ten
 * million steps: a tenth of a second and more per hostile value), so the
 * module calls PCRE itself, with its own limits.  Only whether the
 * pattern matches is needed: one pair of offsets, no captures.
 */

#if (NGX_PCRE2)

static ngx_int_t
ngx_http_persona_cond_exec(ngx_http_request_t *r, ngx_regex_t *re,
    const u_char *s, size_t len)
{
    ngx_pool_cleanup_t  *cln;

    if (ngx_http_persona_match_data == NULL) {
        cln = ngx_pool_cleanup_add(ngx_cycle->pool, 0);
        if (cln == NULL) {
            return PCRE2_ERROR_NOMEMORY;
        }

        ngx_http_persona_match_ctx = pcre2_match_context_create(NULL);
        ngx_http_persona_match_data = pcre2_match_data_create(1, NULL);

        cln->handler = ngx_http_persona_cond_match_free;

        if (ngx_http_persona_match_ctx == NULL
            || ngx_http_persona_match_data == NULL)
        {
            ngx_http_persona_cond_match_free(NULL);
            return PCRE2_ERROR_NOMEMORY;
        }

        pcre2_set_match_limit(ngx_http_persona_match_ctx,
                              NGX_HTTP_PERSONA_MATCH_LIMIT);
        pcre2_set_depth_limit(ngx_http_persona_match_ctx,
                              NGX_HTTP_PERSONA_DEPTH_LIMIT);
    }

    return pcre2_match(re, s, len, 0, 0, ngx_http_persona_match_data,
                       ngx_http_persona_match_ctx);
}


static void
ngx_http_persona_cond_match_free(void *data)
{
    if (ngx_http_persona_match_data != NULL) {
        pcre2_match_data_free(ngx_http_persona_match_data);
        ngx_http_persona_match_data = NULL;
    }

    if (ngx_http_persona_match_ctx != NULL) {
        pcre2_match_context_free(ngx_http_persona_match_ctx);
        ngx_http_persona_match_ctx = NULL;
    }
}

#else

static ngx_int_t
ngx_http_persona_cond_exec(ngx_http_request_t *r, ngx_regex_t *re,
    const u_char *s, size_t len)
{
    pcre_extra  extra;

    /* a copy keeps what pcre_study() found, JIT code included */

    if (re->extra != NULL) {
        extra = *re->extra;

    } else {
        ngx_memzero(&extra, sizeof(pcre_extra));
    }

    extra.flags |= PCRE_EXTRA_MATCH_LIMIT | PCRE_EXTRA_MATCH_LIMIT_RECURSION;
    extra.match_limit = NGX_HTTP_PERSONA_MATCH_LIMIT;
    extra.match_limit_recursion = NGX_HTTP_PERSONA_DEPTH_LIMIT;

    return pcre_exec(re->code, &extra, (const char *) s, len, 0, 0, NULL, 0);
}

#endif


/* the segments a condition refers to, as ints in ids */

static void
ngx_http_persona_cond_segment_ref(void *data, int id)
{
    ngx_array_t *ids = data;

    int  *d;

    d = ngx_array_push(ids);
    if (d != NULL) {
        *d = id;
    }
}


void
ngx_http_persona_cond_segments(ngx_http_persona_cond_t *cond,
    ngx_array_t *ids)
{
    persona_rule_segments(cond->rule, ngx_http_persona_cond_segment_ref, ids);
}


/* the number of the segment of that name, or NGX_DECLINED */

ngx_int_t
ngx_http_persona_segment_find(ngx_http_persona_main_conf_t *pmcf,
    ngx_str_t *name)
{
    ngx_uint_t                   i;
    ngx_http_persona_segment_t  *seg;

    seg = pmcf->segments.elts;

    for (i = 0; i < pmcf->segments.nelts; i++) {
        if (seg[i].name.len == name->len
            && ngx_strncmp(seg[i].name.data, name->data, name->len) == 0)
        {
            return i;
        }
    }

    return NGX_DECLINED;
}


/* the number of a segment name; add: a name not seen yet gets one */

ngx_int_t
ngx_http_persona_segment_index(ngx_conf_t *cf, ngx_str_t *name,
    ngx_uint_t add)
{
    ngx_int_t                      i;
    ngx_http_persona_segment_t    *seg;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    i = ngx_http_persona_segment_find(pmcf, name);

    if (i != NGX_DECLINED || !add) {
        return i;
    }

    seg = ngx_array_push(&pmcf->segments);
    if (seg == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(seg, sizeof(ngx_http_persona_segment_t));

    seg->name.len = name->len;
    seg->name.data = ngx_pstrdup(cf->pool, name);
    if (seg->name.data == NULL) {
        return NGX_ERROR;
    }

    seg->file = cf->conf_file->file.name;
    seg->line = cf->conf_file->line;

    return pmcf->segments.nelts - 1;
}


