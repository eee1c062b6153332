
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * The header filter sends the visitor cookie and decides whether a
 * response can be personalized; the body filter streams the response
 * through the slot scanner and replaces each slot's default content with
 * its fragment.
 *
 * Output buffers point into the input buffers wherever bytes pass
 * unchanged; an input buffer is marked consumed (through b->shadow, as the
 * sub filter does) only once everything made from it has been sent, so
 * upstream buffers are reused at the pace of the client.  The default
 * content of a slot that will be replaced is copied aside, up to
 * persona_slot_buffer_size, so that a slot whose closing marker never
 * comes keeps its default content instead of losing it.
 */


#include "ngx_http_persona.h"

#include "persona_scan.h"


#define NGX_HTTP_PERSONA_SMALL_BUF  128
#define NGX_HTTP_PERSONA_HOLD_START 1024


struct ngx_http_persona_filter_ctx_s {
    persona_scan_t                  scan;

    ngx_http_request_t             *request;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_loc_conf_t    *plcf;

    ngx_buf_t                      *in;         /* buffer being scanned */
    ngx_buf_t                      *ref;        /* last buffer pointing
                                                   into "in" */
    ngx_chain_t                    *out;
    ngx_chain_t                   **last_out;
    ngx_chain_t                    *in_first;   /* first output link made
                                                   from "in" */
    ngx_chain_t                    *last;       /* last output link */
    ngx_chain_t                    *busy;
    ngx_chain_t                    *free;       /* buffers without memory */
    ngx_chain_t                    *free_mem;   /* buffers with memory */

    ngx_http_persona_slot_t        *slot;
    ngx_http_persona_content_t     *content;    /* replacement */
    ngx_int_t                       exp;        /* exposure shown */
    ngx_str_t                       text;       /* content rendered */
    size_t                          added;      /* by slots, in bytes */
    ngx_buf_t                      *hold;       /* default being held */

    u_char                         *pending;    /* exposures to commit */
    u_char                         *filled;     /* slots met, by index */

    unsigned                        holding:1;
    unsigned                        done:1;
};


static ngx_int_t ngx_http_persona_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_persona_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_chain_t *ngx_http_persona_final(ngx_chain_t *in);
static ngx_int_t ngx_http_persona_validators_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_persona_validators_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_persona_filter_applies(ngx_http_request_t *r,
    ngx_http_persona_loc_conf_t *plcf, ngx_uint_t report);
static ngx_uint_t ngx_http_persona_declared(ngx_http_request_t *r);
static void ngx_http_persona_cc_add(ngx_str_t *out, u_char *p,
    size_t len);
static ngx_int_t ngx_http_persona_cache_headers(ngx_http_request_t *r,
    ngx_http_persona_loc_conf_t *plcf);
static int ngx_http_persona_scan_event(void *data, persona_scan_event_e ev,
    const unsigned char *p, size_t len);
static ngx_int_t ngx_http_persona_open_slot(
    ngx_http_persona_filter_ctx_t *f, const u_char *name, size_t len);
static ngx_int_t ngx_http_persona_close_slot(
    ngx_http_persona_filter_ctx_t *f);
static ngx_int_t ngx_http_persona_emit(ngx_http_persona_filter_ctx_t *f,
    const u_char *p, size_t len);
static ngx_int_t ngx_http_persona_append(ngx_http_persona_filter_ctx_t *f,
    ngx_buf_t *b);
static ngx_int_t ngx_http_persona_hold(ngx_http_persona_filter_ctx_t *f,
    const u_char *p, size_t len);
static ngx_int_t ngx_http_persona_release_hold(
    ngx_http_persona_filter_ctx_t *f);
static ngx_int_t ngx_http_persona_recycle_mem(
    ngx_http_persona_filter_ctx_t *f, ngx_buf_t *b);
static ngx_buf_t *ngx_http_persona_get_buf(ngx_http_persona_filter_ctx_t *f);
static ngx_buf_t *ngx_http_persona_get_mem_buf(
    ngx_http_persona_filter_ctx_t *f, size_t size);
static void ngx_http_persona_recycle(ngx_http_persona_filter_ctx_t *f);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static time_t  ngx_http_persona_encoding_warned;
static time_t  ngx_http_persona_fill_warned;


ngx_int_t
ngx_http_persona_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_persona_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_persona_body_filter;

    return NGX_OK;
}


/*
 * The validators filter.  nginx answers If-None-Match, If-Modified-Since,
 * If-Match and If-Unmodified-Since in its not-modified filter, which runs
 * before the module's header filter: left alone, the ETag or the date of
 * the file or of the upstream page would answer 304 to a visitor whose
 * page differs.  This second filter module of the .so is in no order
 * list, so nginx appends it last and its header filter runs first; a
 * response that will be personalized is taken out of conditional
 * handling, and the header filter then drops its validators.
 */

static ngx_http_module_t  ngx_http_persona_validators_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_persona_validators_init,      /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_persona_validators_module = {
    NGX_MODULE_V1,
    &ngx_http_persona_validators_module_ctx, /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_output_header_filter_pt  ngx_http_persona_next_validators;


static ngx_int_t
ngx_http_persona_validators_init(ngx_conf_t *cf)
{
    ngx_http_persona_next_validators = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_persona_validators_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_validators_filter(ngx_http_request_t *r)
{
    ngx_http_persona_loc_conf_t  *plcf;

    if (r == r->main) {
        plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);

        if (plcf->enable && plcf->slots != NULL
            && ngx_http_persona_filter_applies(r, plcf, 0))
        {
            r->disable_not_modified = 1;
        }
    }

    return ngx_http_persona_next_validators(r);
}


static ngx_int_t
ngx_http_persona_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t                      n, i;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_slot_t        *slot;
    ngx_http_persona_loc_conf_t    *plcf;
    ngx_http_persona_main_conf_t   *pmcf;
    ngx_http_persona_filter_ctx_t  *f;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_persona_module);

    ctx = ngx_http_persona_find_ctx(r);

    if (ctx == NULL && !plcf->enable) {
        pmcf = ngx_http_get_module_main_conf(r, ngx_http_persona_module);

        /* the header of persona_mode declared never reaches a client */

        if (pmcf->declared) {
            (void) ngx_http_persona_declared(r);
        }

        return ngx_http_next_header_filter(r);
    }

    if (plcf->enable && plcf->slots != NULL
        && (ctx == NULL || !ctx->personal)
        && ngx_http_persona_filter_applies(r, plcf, 1))
    {
        if (ctx == NULL) {
            ctx = ngx_http_persona_get_ctx(r);
            if (ctx == NULL) {
                return NGX_ERROR;
            }
        }

        ctx->personal = 1;

        /*
         * the slots will need the visitor's id, and the cookie that
         * carries a new one can only go with this header
         */

        if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }

        /*
         * a HEAD gets the headers of the GET it stands for; the
         * validators went in the validators filter, before nginx could
         * answer 304 or 412 from them
         */

        ngx_http_clear_content_length(r);
        ngx_http_clear_last_modified(r);
        ngx_http_clear_accept_ranges(r);
        ngx_http_clear_etag(r);

        if (ngx_http_persona_cache_headers(r, plcf) != NGX_OK) {
            return NGX_ERROR;
        }

        if (!r->header_only) {
            n = ngx_http_persona_exposures_n(r);

            f = ngx_pcalloc(r->pool, sizeof(ngx_http_persona_filter_ctx_t)
                                     + n + plcf->slots->nelts);
            if (f == NULL) {
                return NGX_ERROR;
            }

            persona_scan_init(&f->scan);

            f->request = r;
            f->ctx = ctx;
            f->plcf = plcf;
            f->exp = NGX_HTTP_PERSONA_NONE;
            f->pending = (u_char *) (f + 1);
            f->filled = f->pending + n;

            ctx->filter = f;

            r->filter_need_in_memory = 1;
        }

        /* sticky variants of the page's slots are kept by this header */

        slot = plcf->slots->elts;

        for (i = 0; i < plcf->slots->nelts; i++) {
            if (slot[i].experiment != NULL && slot[i].experiment->sticky
                && ngx_http_persona_assign(r, ctx, slot[i].experiment)
                   == NGX_ERROR)
            {
                return NGX_ERROR;
            }
        }
    }

    if (ctx == NULL) {
        return ngx_http_next_header_filter(r);
    }

    /*
     * a response that read the visitor's id, variants or segments (in
     * "return", add_header, a header to the upstream) differs from one
     * visitor to the next as a page with slots does
     */

    if (ctx->varies && !ctx->personal
        && ngx_http_persona_cache_headers(r, plcf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_persona_sticky_header(r, ctx) != NGX_OK
        || ngx_http_persona_preview_header(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->id_new || ctx->cookie_expire) {
        if (ngx_http_persona_set_cookie(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_persona_entry_set_cookie(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_persona_filter_applies(ngx_http_request_t *r,
    ngx_http_persona_loc_conf_t *plcf, ngx_uint_t report)
{
    ngx_table_elt_t  *ce;

    if (r->headers_out.status != NGX_HTTP_OK
        || ngx_http_test_content_type(r, &plcf->types) == NULL)
    {
        return 0;
    }

    if (!ngx_http_persona_declared(r)
        && plcf->mode == NGX_HTTP_PERSONA_MODE_DECLARED)
    {
        return 0;
    }

    ce = r->headers_out.content_encoding;

    if (ce != NULL && ce->hash != 0 && ce->value.len
        && !(ce->value.len == 8
             && ngx_strncasecmp(ce->value.data, (u_char *) "identity", 8)
                == 0))
    {
        if (!report) {
            return 0;
        }

        ngx_http_persona_count(r, NGX_HTTP_PERSONA_COUNT_COMPRESSED);

        /* once a minute per worker: a busy site must not flood logs */

        if (ngx_time() - ngx_http_persona_encoding_warned >= 60) {
            ngx_http_persona_encoding_warned = ngx_time();
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "persona: response with \"Content-Encoding: %V\" "
                          "left untouched, slots are not filled; with "
                          "proxy_pass, send \"proxy_set_header "
                          "Accept-Encoding \\\"\\\";\" and let nginx "
                          "compress", &ce->value);
        }

        return 0;
    }

    return 1;
}


/*
 * "Persona-Slots" from the upstream says that the response has slots:
 * with persona_mode declared only such responses are personalized.  The
 * header is for the module alone and never leaves it; it is hidden, not
 * removed, so that the filters that look again still find it.
 */

static ngx_uint_t
ngx_http_persona_declared(ngx_http_request_t *r)
{
    static ngx_str_t  slots = ngx_string("Persona-Slots");

    return ngx_http_persona_hide_header(r, &slots);
}


/*
 * Hides every response header of that name, also those hidden before,
 * which a filter that looks again still finds: 1 if there was one.
 */

ngx_uint_t
ngx_http_persona_hide_header(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_uint_t        i, found;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    found = 0;
    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            h[i].hash = 0;
            found = 1;
        }
    }

    return found;
}


/*
 * A personalized page must not be served to someone else from a shared
 * cache, unless the cache key includes the variant (persona_cache none)
 * or the cache varies on the cookie (persona_cache vary).
 */

static ngx_int_t
ngx_http_persona_cache_headers(ngx_http_request_t *r,
    ngx_http_persona_loc_conf_t *plcf)
{
    u_char           *p;
    size_t            len;
    ngx_str_t         value;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *cc;

    static ngx_str_t  vary = ngx_string("Vary");
    static ngx_str_t  cookie = ngx_string("Cookie");
    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  private = ngx_string("private");

    if (plcf->cache == NGX_HTTP_PERSONA_CACHE_NONE) {
        return NGX_OK;
    }

    if (plcf->cache == NGX_HTTP_PERSONA_CACHE_VARY) {
        return ngx_http_persona_push_header(r, &vary, &cookie) ? NGX_OK
                                                               : NGX_ERROR;
    }

    /*
     * this filter runs after expires and add_header: every Cache-Control
     * they, the upstream or a cache left is folded into one that says
     * private and keeps the other directives, without public, s-maxage
     * and proxy-revalidate, which only speak to shared caches
     */

    cc = NULL;
    ngx_str_null(&value);

    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0 || h[i].key.len != sizeof("Cache-Control") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Cache-Control",
                               sizeof("Cache-Control") - 1) != 0)
        {
            continue;
        }

        /* ", " may stand for a lone "," between two directives */

        len = (value.len ? value.len : sizeof("private") - 1)
              + 2 + 2 * h[i].value.len;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (value.len) {
            value.len = ngx_cpymem(p, value.data, value.len) - p;

        } else {
            value.len = ngx_cpymem(p, "private", 7) - p;
        }

        value.data = p;

        ngx_http_persona_cc_add(&value, h[i].value.data, h[i].value.len);

        if (cc == NULL) {
            cc = &h[i];

        } else {
            h[i].hash = 0;
        }
    }

    if (cc == NULL) {
        return ngx_http_persona_push_header(r, &cache_control, &private)
               ? NGX_OK : NGX_ERROR;
    }

    cc->value = value;

    return NGX_OK;
}


/*
 * Appends to "out" the directives of one Cache-Control value but those
 * that let a shared cache keep the response; commas inside quoted
 * strings (no-cache="Set-Cookie, X") do not split directives.
 */

static void
ngx_http_persona_cc_add(ngx_str_t *out, u_char *p, size_t len)
{
    u_char      *end, *start, *last, *name_end;
    size_t       n;
    ngx_uint_t   quoted;

    end = p + len;

    while (p < end) {

        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;
        name_end = NULL;
        quoted = 0;

        while (p < end && (quoted || *p != ',')) {
            if (*p == '"') {
                quoted = !quoted;

            } else if (*p == '\\' && quoted && p + 1 < end) {
                p++;

            } else if (*p == '=' && name_end == NULL) {
                name_end = p;
            }

            p++;
        }

        last = p;

        while (last > start && (last[-1] == ' ' || last[-1] == '\t')) {
            last--;
        }

        if (last == start) {
            continue;
        }

        n = (name_end ? name_end : last) - start;

        if ((n == 6 && ngx_strncasecmp(start, (u_char *) "public", 6) == 0)
            || (n == 7
                && ngx_strncasecmp(start, (u_char *) "private", 7) == 0)
            || (n == 8
                && ngx_strncasecmp(start, (u_char *) "s-maxage", 8) == 0)
            || (n == 16
                && ngx_strncasecmp(start, (u_char *) "proxy-revalidate",
                                   16) == 0))
        {
            continue;
        }

        out->data[out->len++] = ',';
        out->data[out->len++] = ' ';
        out->len = ngx_cpymem(out->data + out->len, start, last - start)
                   - out->data;
    }
}


static ngx_int_t
ngx_http_persona_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    int                             rc;
    ngx_int_t                       ret;
    ngx_buf_t                      *b, *nb;
    ngx_uint_t                      i, n;
    ngx_chain_t                    *cl, **ll, *final;
    ngx_http_persona_ctx_t         *ctx;
    ngx_http_persona_filter_ctx_t  *f;

    if (r != r->main) {
        return ngx_http_next_body_filter(r, in);
    }

    ctx = ngx_http_persona_find_ctx(r);

    if (ctx == NULL || ctx->filter == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    f = ctx->filter;

    if (f->done || (in == NULL && f->busy == NULL)) {
        return ngx_http_next_body_filter(r, in);
    }

    f->out = NULL;
    f->last_out = &f->out;
    f->last = NULL;

    final = ngx_http_persona_final(in);

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        f->in = b;
        f->ref = NULL;
        f->in_first = NULL;

        if (!ngx_buf_in_memory(b) && ngx_buf_size(b) != 0) {
            /* cannot happen with filter_need_in_memory; do not guess */

            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "persona: response buffer not in memory");
            return NGX_ERROR;
        }

        rc = 0;

        if (ngx_buf_in_memory(b) && b->pos < b->last) {
            rc = persona_scan_feed(&f->scan, b->pos, b->last - b->pos,
                                   (b->last_buf ? PERSONA_SCAN_LAST : 0)
                                   | (cl == final ? PERSONA_SCAN_FINAL : 0),
                                   ngx_http_persona_scan_event, f);

        } else if (b->last_buf) {
            rc = persona_scan_feed(&f->scan, NULL, 0, PERSONA_SCAN_LAST,
                                   ngx_http_persona_scan_event, f);
        }

        if (rc != 0) {
            return NGX_ERROR;
        }

        if (b->last_buf || b->flush || b->sync || ngx_buf_in_memory(b)) {

            if (f->in_first == NULL) {
                nb = ngx_http_persona_get_buf(f);
                if (nb == NULL) {
                    return NGX_ERROR;
                }

                nb->sync = 1;

                if (ngx_http_persona_append(f, nb) != NGX_OK) {
                    return NGX_ERROR;
                }
            }

            /* the last buffer made from "in" releases it once sent */

            nb = f->last->buf;

            nb->last_buf = b->last_buf;
            nb->last_in_chain = b->last_in_chain;
            nb->flush = b->flush;
            nb->shadow = b;
            nb->recycled = b->recycled;
        }

        if (b->last_buf) {
            f->done = 1;
        }
    }

    ret = ngx_http_next_body_filter(r, f->out);

    if (ret != NGX_ERROR) {
        /* fragments handed on: these are exposures now */

        n = ngx_http_persona_exposures_n(r);

        for (i = 0; i < n; i++) {
            if (f->pending[i]) {
                ctx->exposed[i] |= NGX_HTTP_PERSONA_EXPOSED_SLOT;
                f->pending[i] = 0;
            }
        }
    }

    for (ll = &f->busy; *ll; ll = &(*ll)->next) { /* void */ }

    *ll = f->out;

    ngx_http_persona_recycle(f);

    return ret;
}


/*
 * When the rest of the response is at hand, the link after which no
 * marker can start: the scanner follows the HTML context only up to
 * there.  A response in one buffer is left to the scanner itself.
 */

static ngx_chain_t *
ngx_http_persona_final(ngx_chain_t *in)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl, *final;

    if (in == NULL || in->buf->last_buf) {
        return NULL;
    }

    final = NULL;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)
            && (final == NULL
                || persona_scan_horizon(b->pos, b->last) != NULL))
        {
            final = cl;
        }

        if (b->last_buf) {
            return final;
        }
    }

    return NULL;
}


static int
ngx_http_persona_scan_event(void *data, persona_scan_event_e ev,
    const unsigned char *p, size_t len)
{
    ngx_http_persona_filter_ctx_t *f = data;

    ngx_int_t  rc;

    switch (ev) {

    case PERSONA_SCAN_TEXT:
        rc = ngx_http_persona_emit(f, p, len);
        break;

    case PERSONA_SCAN_OPEN:
        rc = ngx_http_persona_open_slot(f, p, len);
        break;

    case PERSONA_SCAN_DEFAULT:
        rc = f->holding ? ngx_http_persona_hold(f, p, len)
                        : ngx_http_persona_emit(f, p, len);
        break;

    case PERSONA_SCAN_CLOSE:
        rc = ngx_http_persona_close_slot(f);
        break;

    default: /* PERSONA_SCAN_UNCLOSED */

        ngx_log_error(NGX_LOG_INFO, f->request->connection->log, 0,
                      "persona: slot \"%*s\" is not closed, its default "
                      "content is kept", len, p);

        rc = ngx_http_persona_release_hold(f);
        f->slot = NULL;
        break;
    }

    return rc == NGX_OK ? 0 : -1;
}


static ngx_int_t
ngx_http_persona_open_slot(ngx_http_persona_filter_ctx_t *f,
    const u_char *name, size_t len)
{
    ngx_int_t                 i;
    ngx_uint_t                k;
    ngx_http_persona_slot_t  *slot;

    f->slot = NULL;
    f->content = NULL;
    f->exp = NGX_HTTP_PERSONA_NONE;
    f->holding = 0;

    slot = f->plcf->slots->elts;

    for (k = 0; k < f->plcf->slots->nelts; k++) {
        if (slot[k].name.len == len
            && ngx_strncmp(slot[k].name.data, name, len) == 0)
        {
            f->slot = &slot[k];
            break;
        }
    }

    if (f->slot == NULL) {
        /* an unknown slot keeps its default content */
        return NGX_OK;
    }

    if (f->filled[k] && f->plcf->slot_once) {
        /*
         * a slot is filled once per response: a second occurrence, say
         * a template or a reflected page repeating the markers, keeps
         * its default content and shows the visitor nothing twice
         */
        f->slot = NULL;
        return NGX_OK;
    }

    f->filled[k] = 1;

    i = ngx_http_persona_slot_content(f->request, f->ctx, f->slot,
                                      &f->content);
    if (i == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (i >= 0) {
        f->exp = i;
    }

    if (f->content == NULL) {
        return NGX_OK;
    }

    if (ngx_http_persona_content_render(f->request, f->content, &f->text)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (f->text.len > f->plcf->fill_max_size - f->added) {
        /*
         * what slots add to one response is bounded: the rest keep their
         * default content and are no exposure
         */

        ngx_http_persona_count(f->request,
                               NGX_HTTP_PERSONA_COUNT_FILL_LIMIT);

        if (ngx_time() - ngx_http_persona_fill_warned >= 60) {
            ngx_http_persona_fill_warned = ngx_time();
            ngx_log_error(NGX_LOG_WARN, f->request->connection->log, 0,
                          "persona: slot \"%V\" would exceed "
                          "persona_fill_max_size %uz of this response, "
                          "it keeps its default content",
                          &f->slot->name, f->plcf->fill_max_size);
        }

        f->content = NULL;
        f->exp = NGX_HTTP_PERSONA_NONE;

        return NGX_OK;
    }

    f->added += f->text.len;

    /* defaults are usually short: start small, grow up to the limit */

    f->hold = ngx_http_persona_get_mem_buf(f, ngx_min(f->plcf->slot_buffer_size,
                                                  NGX_HTTP_PERSONA_HOLD_START));
    if (f->hold == NULL) {
        return NGX_ERROR;
    }

    f->holding = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_close_slot(ngx_http_persona_filter_ctx_t *f)
{
    ngx_buf_t  *b;
    ngx_str_t   text;

    if (f->holding) {
        /* the held default is dropped: its buffer is free again */

        f->holding = 0;
        f->hold->pos = f->hold->start;
        f->hold->last = f->hold->start;

        if (ngx_http_persona_recycle_mem(f, f->hold) != NGX_OK) {
            return NGX_ERROR;
        }

        f->hold = NULL;

        text = f->text;

        if (text.len) {
            b = ngx_http_persona_get_buf(f);
            if (b == NULL) {
                return NGX_ERROR;
            }

            b->memory = 1;
            b->pos = text.data;
            b->last = text.data + text.len;

            if (ngx_http_persona_append(f, b) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    if (f->exp != NGX_HTTP_PERSONA_NONE) {
        f->pending[f->exp] = 1;
    }

    f->slot = NULL;
    f->content = NULL;
    f->exp = NGX_HTTP_PERSONA_NONE;

    return NGX_OK;
}


/* bytes that pass unchanged: pointed to in the input, or copied */

static ngx_int_t
ngx_http_persona_emit(ngx_http_persona_filter_ctx_t *f, const u_char *p,
    size_t len)
{
    ngx_buf_t  *b;

    if (len == 0) {
        return NGX_OK;
    }

    if (p >= f->in->pos && p + len <= f->in->last) {

        if (f->ref != NULL && f->ref->last == p && f->last != NULL
            && f->last->buf == f->ref)
        {
            f->ref->last += len;
            return NGX_OK;
        }

        b = ngx_http_persona_get_buf(f);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->memory = 1;
        b->pos = (u_char *) p;
        b->last = (u_char *) p + len;

        f->ref = b;

        return ngx_http_persona_append(f, b);
    }

    /* held by the scanner: only valid during the callback */

    b = ngx_http_persona_get_mem_buf(f, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->pos, p, len);

    return ngx_http_persona_append(f, b);
}


static ngx_int_t
ngx_http_persona_append(ngx_http_persona_filter_ctx_t *f, ngx_buf_t *b)
{
    ngx_chain_t  *cl;

    cl = ngx_alloc_chain_link(f->request->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    *f->last_out = cl;
    f->last_out = &cl->next;
    f->last = cl;

    if (f->in_first == NULL) {
        f->in_first = cl;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_persona_hold(ngx_http_persona_filter_ctx_t *f, const u_char *p,
    size_t len)
{
    size_t      size;
    ngx_buf_t  *b, *nb;

    b = f->hold;
    size = (size_t) (b->last - b->pos) + len;

    /* the buffer may be a larger one reused: the limit is the setting */

    if (size <= f->plcf->slot_buffer_size) {

        if ((size_t) (b->end - b->last) < len) {
            nb = ngx_http_persona_get_mem_buf(f,
                     ngx_min(ngx_max(2 * (size_t) (b->end - b->start), size),
                             f->plcf->slot_buffer_size));
            if (nb == NULL) {
                return NGX_ERROR;
            }

            nb->last = ngx_cpymem(nb->pos, b->pos, b->last - b->pos);

            if (ngx_http_persona_recycle_mem(f, b) != NGX_OK) {
                return NGX_ERROR;
            }

            f->hold = nb;
            b = nb;
        }

        b->last = ngx_cpymem(b->last, p, len);
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_WARN, f->request->connection->log, 0,
                  "persona: default content of slot \"%V\" is larger than "
                  "persona_slot_buffer_size, the slot keeps it",
                  &f->slot->name);

    /* the default is shown after all: no fragment, no exposure */

    ngx_http_persona_count(f->request, NGX_HTTP_PERSONA_COUNT_SLOT_LARGE);

    f->content = NULL;
    f->exp = NGX_HTTP_PERSONA_NONE;

    if (ngx_http_persona_release_hold(f) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_persona_emit(f, p, len);
}


static ngx_int_t
ngx_http_persona_release_hold(ngx_http_persona_filter_ctx_t *f)
{
    ngx_buf_t  *b;

    if (!f->holding) {
        return NGX_OK;
    }

    f->holding = 0;
    b = f->hold;
    f->hold = NULL;

    if (b->last == b->pos) {
        return ngx_http_persona_recycle_mem(f, b);
    }

    return ngx_http_persona_append(f, b);
}


static ngx_buf_t *
ngx_http_persona_get_buf(ngx_http_persona_filter_ctx_t *f)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (f->free != NULL) {
        cl = f->free;
        f->free = cl->next;
        b = cl->buf;
        ngx_free_chain(f->request->pool, cl);

        ngx_memzero(b, sizeof(ngx_buf_t));

    } else {
        b = ngx_calloc_buf(f->request->pool);
        if (b == NULL) {
            return NULL;
        }
    }

    b->tag = (ngx_buf_tag_t) &ngx_http_persona_module;

    return b;
}


/* a buffer with memory of its own, at least "size" bytes */

static ngx_buf_t *
ngx_http_persona_get_mem_buf(ngx_http_persona_filter_ctx_t *f, size_t size)
{
    u_char       *start, *end;
    ngx_buf_t    *b;
    ngx_chain_t  *cl, **ll;

    for (ll = &f->free_mem; *ll; ll = &(*ll)->next) {
        cl = *ll;
        b = cl->buf;

        if ((size_t) (b->end - b->start) < size) {
            continue;
        }

        *ll = cl->next;
        ngx_free_chain(f->request->pool, cl);

        start = b->start;
        end = b->end;

        ngx_memzero(b, sizeof(ngx_buf_t));

        b->start = start;
        b->end = end;
        b->pos = start;
        b->last = start;
        b->temporary = 1;
        b->tag = (ngx_buf_tag_t) &ngx_http_persona_module;

        return b;
    }

    b = ngx_create_temp_buf(f->request->pool,
                            ngx_max(size, NGX_HTTP_PERSONA_SMALL_BUF));
    if (b == NULL) {
        return NULL;
    }

    b->tag = (ngx_buf_tag_t) &ngx_http_persona_module;

    return b;
}


static ngx_int_t
ngx_http_persona_recycle_mem(ngx_http_persona_filter_ctx_t *f, ngx_buf_t *b)
{
    ngx_chain_t  *cl;

    cl = ngx_alloc_chain_link(f->request->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = f->free_mem;
    f->free_mem = cl;

    return NGX_OK;
}


/*
 * Sent buffers release the input buffers they were made from and go back
 * to the free lists; a buffer still in the output stops the walk, since
 * output is sent in order.
 */

static void
ngx_http_persona_recycle(ngx_http_persona_filter_ctx_t *f)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    while (f->busy != NULL) {
        cl = f->busy;
        b = cl->buf;

        if (ngx_buf_size(b) != 0) {
            break;
        }

        if (b->shadow) {
            b->shadow->pos = b->shadow->last;
        }

        f->busy = cl->next;

        /*
         * an empty buffer (sync, flush, last) is "sent" from the start
         * and may still sit in a later filter's chain (postpone, gzip):
         * only data buffers, which the write filter empties, come back,
         * as in nginx's sub filter
         */

        if (b->tag != (ngx_buf_tag_t) &ngx_http_persona_module
            || !ngx_buf_in_memory(b))
        {
            continue;
        }

        if (b->temporary) {
            cl->next = f->free_mem;
            f->free_mem = cl;

        } else {
            cl->next = f->free;
            f->free = cl;
        }
    }
}
