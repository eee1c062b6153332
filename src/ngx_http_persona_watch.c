
/*
 * Copyright (C) ngx_http_persona_module authors
 *
 * Files reloaded when they change: the geo databases and the CRM segment
 * list.  The configuration names the file, how often to look at it, and
 * how to open and close it; what is loaded at run time lives here, per
 * process, never in the configuration.
 *
 * Only processes that serve requests watch (workers, or nginx without a
 * master): the cache manager and loader never load a copy.  Each worker
 * looks at the file on a timer, with a stat(), never in a request.  The
 * new file is opened before the old data is closed, and a file that fails
 * to open is reported once and leaves the old data in use.
 *
 * With metrics, what workers load and refuse is counted in shared memory
 * per version of the file (its identity, modification time and size), so
 * that a version counts once however many workers load it.
 */


#include "ngx_http_persona.h"


struct ngx_http_persona_watch_s {
    const char                      *what;       /* "geoip2 database" */
    ngx_str_t                        path;
    ngx_msec_t                       interval;   /* 0: never reloaded */
    ngx_http_persona_watch_open_pt   open;
    ngx_http_persona_watch_close_pt  close;
    void                            *conf;

    /* opened when the configuration was read: shared through fork() */
    void                            *initial;
    ngx_file_uniq_t                  uniq;
    time_t                           mtime;
    off_t                            size;

    ngx_http_persona_watch_stats_t  *stats;      /* NULL: no metrics */
};


typedef struct {
    ngx_http_persona_watch_t        *watch;
    void                            *data;
    ngx_file_uniq_t                  uniq;
    time_t                           mtime;
    off_t                            size;
    ngx_event_t                      timer;
} ngx_http_persona_watched_t;


static void ngx_http_persona_watch_timer(ngx_event_t *ev);
static void ngx_http_persona_watch_report(ngx_http_persona_watch_t *w,
    ngx_uint_t loaded, ngx_file_uniq_t uniq, time_t mtime, off_t size);


/* the watched files of this process, by the order they were declared */
static ngx_http_persona_watched_t  *ngx_http_persona_watched;
static ngx_uint_t                   ngx_http_persona_nwatched;


/*
 * data: what open() returned when the configuration was read, or NULL
 * when each process opens its own (an LMDB environment must not cross
 * fork()).
 */

char *
ngx_http_persona_watch_add(ngx_conf_t *cf, const char *what,
    ngx_str_t *path, ngx_msec_t interval, ngx_http_persona_watch_open_pt open,
    ngx_http_persona_watch_close_pt close, void *conf, void *data,
    ngx_http_persona_watch_t **watch)
{
    ngx_file_info_t                fi;
    ngx_http_persona_watch_t      *w, **pw;
    ngx_http_persona_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_persona_module);

    w = ngx_pcalloc(cf->pool, sizeof(ngx_http_persona_watch_t));
    if (w == NULL) {
        return NGX_CONF_ERROR;
    }

    w->what = what;
    w->path = *path;
    w->interval = interval;
    w->open = open;
    w->close = close;
    w->conf = conf;
    w->initial = data;

    if (ngx_file_info(path->data, &fi) != NGX_FILE_ERROR) {
        w->uniq = ngx_file_uniq(&fi);
        w->mtime = ngx_file_mtime(&fi);
        w->size = ngx_file_size(&fi);
    }

    pw = ngx_array_push(&pmcf->watches);
    if (pw == NULL) {
        return NGX_CONF_ERROR;
    }

    *pw = w;
    *watch = w;

    return NGX_CONF_OK;
}


/* "reload=TIME" of persona_geoip2 and persona_segments_db */

char *
ngx_http_persona_watch_interval(ngx_conf_t *cf, ngx_str_t *value,
    ngx_msec_t *interval)
{
    ngx_str_t  s;

    s.len = value->len - 7;
    s.data = value->data + 7;

    *interval = ngx_parse_time(&s, 0);

    if (*interval == (ngx_msec_t) NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid reload interval \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the data requests use now; NULL when no good file was ever opened */

void *
ngx_http_persona_watch_data(ngx_http_persona_watch_t *watch)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_persona_nwatched; i++) {
        if (ngx_http_persona_watched[i].watch == watch) {
            return ngx_http_persona_watched[i].data;
        }
    }

    return watch->initial;
}


ngx_int_t
ngx_http_persona_watch_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i, n;
    ngx_http_persona_watch_t     **w;
    ngx_http_persona_watched_t    *wd;
    ngx_http_persona_main_conf_t  *pmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    pmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_persona_module);
    if (pmcf == NULL || pmcf->watches.nelts == 0) {
        return NGX_OK;
    }

    n = pmcf->watches.nelts;

    wd = ngx_pcalloc(cycle->pool, n * sizeof(ngx_http_persona_watched_t));
    if (wd == NULL) {
        return NGX_ERROR;
    }

    w = pmcf->watches.elts;

    for (i = 0; i < n; i++) {
        wd[i].watch = w[i];
        wd[i].uniq = w[i]->uniq;
        wd[i].mtime = w[i]->mtime;
        wd[i].size = w[i]->size;

        if (w[i]->initial != NULL) {
            wd[i].data = w[i]->initial;

        } else {
            /* if the file went bad since nginx -t, lookups find nothing
             * until the timer finds a good file */
            wd[i].data = w[i]->open(w[i]->conf, &w[i]->path, cycle->log,
                                    NGX_LOG_ERR);
        }

        ngx_http_persona_watch_report(w[i], wd[i].data != NULL, wd[i].uniq,
                                      wd[i].mtime, wd[i].size);

        if (w[i]->interval == 0) {
            continue;
        }

        wd[i].timer.handler = ngx_http_persona_watch_timer;
        wd[i].timer.data = &wd[i];
        wd[i].timer.log = cycle->log;
        wd[i].timer.cancelable = 1;

        ngx_add_timer(&wd[i].timer, w[i]->interval);
    }

    ngx_http_persona_watched = wd;
    ngx_http_persona_nwatched = n;

    return NGX_OK;
}


void
ngx_http_persona_watch_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_persona_watched_t  *wd;

    for (i = 0; i < ngx_http_persona_nwatched; i++) {
        wd = &ngx_http_persona_watched[i];

        /* what the configuration opened goes with the configuration */

        if (wd->data != NULL && wd->data != wd->watch->initial) {
            wd->watch->close(wd->data);
        }

        wd->data = NULL;
    }

    ngx_http_persona_nwatched = 0;
    ngx_http_persona_watched = NULL;
}


static void
ngx_http_persona_watch_timer(ngx_event_t *ev)
{
    ngx_http_persona_watched_t *wd = ev->data;

    void                      *data;
    ngx_file_info_t            fi;
    ngx_http_persona_watch_t  *w;

    if (ngx_exiting || ngx_quit) {
        return;
    }

    w = wd->watch;

    if (ngx_file_info(w->path.data, &fi) != NGX_FILE_ERROR
        && (ngx_file_uniq(&fi) != wd->uniq
            || ngx_file_mtime(&fi) != wd->mtime
            || ngx_file_size(&fi) != wd->size))
    {
        data = w->open(w->conf, &w->path, ev->log, NGX_LOG_ERR);

        ngx_http_persona_watch_report(w, data != NULL, ngx_file_uniq(&fi),
                                      ngx_file_mtime(&fi),
                                      ngx_file_size(&fi));

        if (data != NULL) {
            if (wd->data != NULL && wd->data != w->initial) {
                w->close(wd->data);
            }

            wd->data = data;

            ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                          "persona: %s \"%V\" reloaded", w->what,
                          &w->path);

        } else {
            ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                          "persona: %s \"%V\" not reloaded, the "
                          "previous data stays in use", w->what, &w->path);
        }

        wd->uniq = ngx_file_uniq(&fi);
        wd->mtime = ngx_file_mtime(&fi);
        wd->size = ngx_file_size(&fi);
    }

    ngx_add_timer(ev, w->interval);
}


void
ngx_http_persona_watch_name(ngx_http_persona_watch_t *watch,
    const char **what, ngx_str_t **path)
{
    *what = watch->what;
    *path = &watch->path;
}


/* from the metrics zone, when the configuration is read */

void
ngx_http_persona_watch_stats(ngx_http_persona_watch_t *watch,
    ngx_http_persona_watch_stats_t *stats)
{
    watch->stats = stats;
}


static void
ngx_http_persona_watch_report(ngx_http_persona_watch_t *w, ngx_uint_t loaded,
    ngx_file_uniq_t uniq, time_t mtime, off_t size)
{
    ngx_atomic_uint_t                version, old;
    ngx_http_persona_watch_stats_t  *st;

    st = w->stats;

    if (st == NULL) {
        return;
    }

    version = ((ngx_atomic_uint_t) uniq * 2654435761u)
              ^ ((ngx_atomic_uint_t) mtime << 16)
              ^ (ngx_atomic_uint_t) size;
    version += (version == 0);

    if (loaded) {
        old = st->version;

        if (old != version && ngx_atomic_cmp_set(&st->version, old, version))
        {
            st->mtime = (ngx_atomic_uint_t) mtime;
            (void) ngx_atomic_fetch_add(&st->generation, 1);
        }

        return;
    }

    old = st->failed;

    if (old != version && ngx_atomic_cmp_set(&st->failed, old, version)) {
        (void) ngx_atomic_fetch_add(&st->failures, 1);
    }
}
