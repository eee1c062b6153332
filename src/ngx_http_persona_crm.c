
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Segment lists exported from a CRM: an LMDB file mapping a visitor id to
 * "segment,segment,...", built by scripts/persona-segments-build.  LMDB
 * maps the file and looks a key up in a few page reads, so ten million
 * ids cost no start-up time.  The file is replaced by rename(); each
 * worker notices it through the watched-file timer, opens the new file
 * and closes the old one between requests, so a lookup never sees a torn
 * file.  One read transaction per open file is reset and renewed around
 * each lookup: LMDB allocates nothing then.
 *
 * A lookup takes an id that is already known: who the visitor is is
 * decided before their segments.
 *
 * The builder also stores the list's vocabulary, every segment name it
 * holds, under a key no id can be (it starts with a NUL byte, which
 * nginx never lets into a request); it is read when the configuration is
 * read, to warn about names of conditions the list does not know.
 */


#include "ngx_http_persona.h"

#include <lmdb.h>

#include "persona_list.h"


#define NGX_HTTP_PERSONA_CRM_VOCABULARY  "\0segments"


struct ngx_http_persona_crm_s {
    ngx_str_t                   path;
    ngx_http_persona_watch_t   *watch;
    ngx_str_t                   vocabulary;
    unsigned                    has_vocabulary:1;
};


/* an open file, per process: an environment must not cross fork() */
typedef struct {
    MDB_env                    *env;
    MDB_txn                    *txn;
    MDB_dbi                     dbi;
} ngx_http_persona_crm_db_t;


static void *ngx_http_persona_crm_open(void *conf, ngx_str_t *path,
    ngx_log_t *log, ngx_uint_t level);
static void ngx_http_persona_crm_close(void *data);
static ngx_int_t ngx_http_persona_crm_get(void *data, ngx_str_t *key,
    ngx_pool_t *pool, ngx_log_t *log, ngx_str_t *value);


/* persona_segments_db PATH [reload=TIME] */

char *
ngx_http_persona_segments_db(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_persona_main_conf_t *pmcf = conf;

    void                    *db;
    ngx_int_t                rc;
    ngx_str_t               *value, key;
    ngx_uint_t               i;
    ngx_msec_t               interval;
    ngx_http_persona_crm_t  *crm;

    if (pmcf->crm != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    crm = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_crm_t));
    if (crm == NULL) {
        return NGX_CONF_ERROR;
    }

    crm->path = value[1];
    interval = 5000;

    if (ngx_conf_full_name(cf->cycle, &crm->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "reload=", 7) == 0) {
            if (ngx_http_persona_watch_interval(cf, &value[i], &interval)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            if (interval == 0) {
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

    /* checked now, so that nginx -t reports a bad file; opened again by
     * each worker */

    db = ngx_http_persona_crm_open(crm, &crm->path, cf->log, NGX_LOG_EMERG);

    if (db == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "persona_segments_db \"%V\" cannot be used",
                           &crm->path);
        return NGX_CONF_ERROR;
    }

    key.len = sizeof(NGX_HTTP_PERSONA_CRM_VOCABULARY) - 1;
    key.data = (u_char *) NGX_HTTP_PERSONA_CRM_VOCABULARY;

    rc = ngx_http_persona_crm_get(db, &key, cf->pool, cf->log,
                                  &crm->vocabulary);

    ngx_http_persona_crm_close(db);

    if (rc == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    crm->has_vocabulary = (rc == NGX_OK);

    if (ngx_http_persona_watch_add(cf, "segments database", &crm->path,
                                   interval, ngx_http_persona_crm_open,
                                   ngx_http_persona_crm_close, crm, NULL,
                                   &crm->watch)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    pmcf->crm = crm;

    return NGX_CONF_OK;
}


static void *
ngx_http_persona_crm_open(void *conf, ngx_str_t *path, ngx_log_t *log,
    ngx_uint_t level)
{
    int                         rc;
    MDB_env                    *env;
    MDB_txn                    *txn;
    MDB_dbi                     dbi;
    ngx_file_info_t             fi;
    ngx_http_persona_crm_db_t  *db;

    if (ngx_file_info(path->data, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(level, log, ngx_errno,
                      ngx_file_info_n " \"%V\" failed", path);
        return NULL;
    }

    db = ngx_alloc(sizeof(ngx_http_persona_crm_db_t), log);
    if (db == NULL) {
        return NULL;
    }

    env = NULL;
    txn = NULL;

    rc = mdb_env_create(&env);

    if (rc == 0) {
        rc = mdb_env_open(env, (char *) path->data,
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
        ngx_log_error(level, log, 0,
                      "persona: segments database \"%V\": %s",
                      path, mdb_strerror(rc));

        if (txn != NULL) {
            mdb_txn_abort(txn);
        }

        if (env != NULL) {
            mdb_env_close(env);
        }

        ngx_free(db);

        return NULL;
    }

    mdb_txn_reset(txn);

    db->env = env;
    db->txn = txn;
    db->dbi = dbi;

    return db;
}


static void
ngx_http_persona_crm_close(void *data)
{
    ngx_http_persona_crm_db_t *db = data;

    mdb_txn_abort(db->txn);
    mdb_env_close(db->env);
    ngx_free(db);
}


/* the visitor's segments, "a,b,c", copied into the request pool */

ngx_int_t
ngx_http_persona_crm_lookup(ngx_http_request_t *r,
    ngx_http_persona_crm_t *crm, ngx_str_t *id, ngx_str_t *list)
{
    void  *db;

    ngx_str_null(list);

    db = ngx_http_persona_watch_data(crm->watch);

    /* an id starting with NUL would read the vocabulary */

    if (db == NULL || id->len == 0 || id->data[0] == '\0') {
        return NGX_OK;
    }

    return ngx_http_persona_crm_get(db, id, r->pool, r->connection->log,
                                    list) == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/*
 * The value of key, copied into pool (the map may be replaced before
 * the copy is used): NGX_OK, NGX_DECLINED when the key is absent or the
 * file cannot be read (logged), NGX_ERROR without memory.
 */

static ngx_int_t
ngx_http_persona_crm_get(void *data, ngx_str_t *key, ngx_pool_t *pool,
    ngx_log_t *log, ngx_str_t *value)
{
    ngx_http_persona_crm_db_t *db = data;

    int        rc;
    MDB_val    k, v;
    ngx_int_t  ret;

    ngx_str_null(value);

    rc = mdb_txn_renew(db->txn);

    if (rc != 0) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "persona: segments database: %s", mdb_strerror(rc));
        return NGX_DECLINED;
    }

    k.mv_size = key->len;
    k.mv_data = key->data;

    rc = mdb_get(db->txn, db->dbi, &k, &v);

    ret = (rc == 0) ? NGX_OK : NGX_DECLINED;

    if (rc == 0 && v.mv_size) {
        value->data = ngx_pnalloc(pool, v.mv_size);

        if (value->data == NULL) {
            ret = NGX_ERROR;

        } else {
            ngx_memcpy(value->data, v.mv_data, v.mv_size);
            value->len = v.mv_size;
        }

    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "persona: segments database: %s", mdb_strerror(rc));
    }

    mdb_txn_reset(db->txn);

    return ret;
}


/* 1 or 0; NGX_DECLINED for a list built without its vocabulary */

ngx_int_t
ngx_http_persona_crm_knows(ngx_http_persona_crm_t *crm, ngx_str_t *name)
{
    if (!crm->has_vocabulary) {
        return NGX_DECLINED;
    }

    return persona_list_has(crm->vocabulary.data, crm->vocabulary.len,
                            name->data, name->len);
}
