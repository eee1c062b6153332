
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Segment lists exported from a CRM: an LMDB file mapping a visitor id to
 * "segment,segment,...", built by scripts/persona-segments-build.  LMDB
 * maps the file and looks a key up in a few page reads, so ten million
 * ids cost no start-up time.  The file is replaced by rename(); each
 * worker notices it on a timer, opens the new file and closes the old one
 * between requests, so a lookup never sees a torn file.  One read
 * transaction per worker is reset and renewed around each lookup: LMDB
 * allocates nothing then.
 */


#include "ngx_http_persona_module.h"

#include <lmdb.h>


typedef struct {
    ngx_str_t                   path;
    ngx_msec_t                  interval;

    MDB_env                    *env;
    MDB_txn                    *txn;
    MDB_dbi                     dbi;
    ngx_file_uniq_t             uniq;
    time_t                      mtime;

    ngx_event_t                 timer;
    ngx_log_t                  *log;
} ngx_http_persona_crm_t;


static ngx_int_t ngx_http_persona_crm_open(ngx_http_persona_crm_t *crm,
    ngx_log_t *log, ngx_uint_t check);
static void ngx_http_persona_crm_close(ngx_http_persona_crm_t *crm);
static void ngx_http_persona_crm_timer(ngx_event_t *ev);
static ngx_int_t ngx_http_persona_crm_lookup(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx);


/* one per configuration: workers use the one of the running cycle */
static ngx_http_persona_crm_t  *ngx_http_persona_crm;


char *
ngx_http_persona_segments_db(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    ngx_str_t               *value, s;
    ngx_uint_t               i;
    ngx_http_persona_crm_t  *crm;

    if (pmcf->crm) {
        return "is duplicate";
    }

    value = cf->args->elts;

    crm = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_crm_t));
    if (crm == NULL) {
        return NGX_CONF_ERROR;
    }

    crm->path = value[1];
    crm->interval = 5000;

    if (ngx_conf_full_name(cf->cycle, &crm->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "reload=", 7) == 0) {
            s.len = value[i].len - 7;
            s.data = value[i].data + 7;

            crm->interval = ngx_parse_time(&s, 0);
            if (crm->interval == (ngx_msec_t) NGX_ERROR
                || crm->interval == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid reload interval \"%V\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    /* checked now, so that nginx -t reports a bad file; reopened by
     * each worker, since an LMDB environment must not cross fork() */

    if (ngx_http_persona_crm_open(crm, cf->log, 1) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "persona_segments_db \"%V\" cannot be used",
                           &crm->path);
        return NGX_CONF_ERROR;
    }

    ngx_http_persona_crm_close(crm);

    pmcf->crm = (ngx_uint_t) crm;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_persona_crm_open(ngx_http_persona_crm_t *crm, ngx_log_t *log,
    ngx_uint_t check)
{
    int              rc;
    ngx_uint_t       level;
    MDB_env         *env;
    MDB_txn         *txn;
    MDB_dbi          dbi;
    ngx_file_info_t  fi;

    if (ngx_file_info(crm->path.data, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      ngx_file_info_n " \"%V\" failed", &crm->path);
        return NGX_ERROR;
    }

    env = NULL;
    txn = NULL;

    rc = mdb_env_create(&env);

    if (rc == 0) {
        rc = mdb_env_open(env, (char *) crm->path.data,
                          MDB_RDONLY|MDB_NOSUBDIR|MDB_NOLOCK|MDB_NOTLS,
                          0644);
    }

    if (rc == 0) {
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    }

    if (rc == 0) {
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    }

    if (rc != 0) {
        level = check ? NGX_LOG_EMERG : NGX_LOG_ERR;

        ngx_log_error(level, log, 0,
                      "persona: segments database \"%V\": %s",
                      &crm->path, mdb_strerror(rc));

        if (txn != NULL) {
            mdb_txn_abort(txn);
        }

        if (env != NULL) {
            mdb_env_close(env);
        }

        return NGX_ERROR;
    }

    mdb_txn_reset(txn);

    crm->env = env;
    crm->txn = txn;
    crm->dbi = dbi;
    crm->uniq = ngx_file_uniq(&fi);
    crm->mtime = ngx_file_mtime(&fi);

    return NGX_OK;
}


static void
ngx_http_persona_crm_close(ngx_http_persona_crm_t *crm)
{
    if (crm->txn != NULL) {
        mdb_txn_abort(crm->txn);
        crm->txn = NULL;
    }

    if (crm->env != NULL) {
        mdb_env_close(crm->env);
        crm->env = NULL;
    }
}


ngx_int_t
ngx_http_persona_crm_init_process(ngx_cycle_t *cycle)
{
    ngx_http_persona_crm_t        *crm;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_persona_module);

    if (pmcf == NULL || !pmcf->crm) {
        return NGX_OK;
    }

    crm = (ngx_http_persona_crm_t *) pmcf->crm;

    /* if the file went bad since nginx -t, lookups find nothing until
     * the timer finds a good file */

    (void) ngx_http_persona_crm_open(crm, cycle->log, 0);

    ngx_http_persona_crm = crm;

    crm->log = cycle->log;
    crm->timer.handler = ngx_http_persona_crm_timer;
    crm->timer.data = crm;
    crm->timer.log = cycle->log;
    crm->timer.cancelable = 1;

    ngx_add_timer(&crm->timer, crm->interval);

    return NGX_OK;
}


void
ngx_http_persona_crm_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_persona_crm != NULL) {
        ngx_http_persona_crm_close(ngx_http_persona_crm);
        ngx_http_persona_crm = NULL;
    }
}


/*
 * A stat() every few seconds, in the timer, not in requests.  The new
 * file is opened before the old one is closed, and a bad new file leaves
 * the old data in place.
 */

static void
ngx_http_persona_crm_timer(ngx_event_t *ev)
{
    ngx_http_persona_crm_t *crm = ev->data;

    ngx_file_info_t         fi;
    ngx_http_persona_crm_t  fresh;

    if (ngx_exiting || ngx_quit) {
        return;
    }

    if (ngx_file_info(crm->path.data, &fi) != NGX_FILE_ERROR
        && (ngx_file_uniq(&fi) != crm->uniq
            || ngx_file_mtime(&fi) != crm->mtime))
    {
        fresh = *crm;
        fresh.env = NULL;
        fresh.txn = NULL;

        if (ngx_http_persona_crm_open(&fresh, crm->log, 0) == NGX_OK) {
            ngx_http_persona_crm_close(crm);

            crm->env = fresh.env;
            crm->txn = fresh.txn;
            crm->dbi = fresh.dbi;

            ngx_log_error(NGX_LOG_INFO, crm->log, 0,
                          "persona: segments database \"%V\" reloaded",
                          &crm->path);
        }

        /* a bad file is reported once, not at every tick */

        crm->uniq = ngx_file_uniq(&fi);
        crm->mtime = ngx_file_mtime(&fi);
    }

    ngx_add_timer(ev, crm->interval);
}


static ngx_int_t
ngx_http_persona_crm_lookup(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx)
{
    int                      rc;
    MDB_val                  key, data;
    ngx_http_persona_crm_t  *crm;

    ctx->crm_done = 1;

    crm = ngx_http_persona_crm;

    if (crm == NULL || crm->txn == NULL) {
        return NGX_OK;
    }

    if (ngx_http_persona_identify(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->id.len == 0) {
        return NGX_OK;
    }

    rc = mdb_txn_renew(crm->txn);

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "persona: segments database: %s", mdb_strerror(rc));
        return NGX_OK;
    }

    key.mv_size = ctx->id.len;
    key.mv_data = ctx->id.data;

    rc = mdb_get(crm->txn, crm->dbi, &key, &data);

    if (rc == 0 && data.mv_size) {
        /* copied: the map may be replaced before the request ends */

        ctx->crm.data = ngx_pnalloc(r->pool, data.mv_size);

        if (ctx->crm.data == NULL) {
            mdb_txn_reset(crm->txn);
            return NGX_ERROR;
        }

        ngx_memcpy(ctx->crm.data, data.mv_data, data.mv_size);
        ctx->crm.len = data.mv_size;

    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "persona: segments database: %s", mdb_strerror(rc));
    }

    mdb_txn_reset(crm->txn);

    return NGX_OK;
}


/* the CRM's segment list for this visitor, "a,b,c" (looked up once) */

ngx_int_t
ngx_http_persona_crm_segments(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *list)
{
    if (!ctx->crm_done) {
        if (ngx_http_persona_crm_lookup(r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    *list = ctx->crm;

    return NGX_OK;
}


ngx_int_t
ngx_http_persona_crm_member(ngx_http_request_t *r,
    ngx_http_persona_ctx_t *ctx, ngx_str_t *segment)
{
    u_char     *p, *last, *comma;
    ngx_str_t   list;

    if (ngx_http_persona_crm_segments(r, ctx, &list) != NGX_OK) {
        return NGX_ERROR;
    }

    p = list.data;
    last = p + list.len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        if ((size_t) (comma - p) == segment->len
            && ngx_strncmp(p, segment->data, segment->len) == 0)
        {
            return 1;
        }

        p = comma + 1;
    }

    return 0;
}
