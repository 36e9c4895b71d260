
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The configuration in force, as immutable generations: a thread takes a
 * reference to the current one for the length of an operation (or a
 * cleanup pass) and reads it without a lock; SIGHUP (sbx_confgen_reload,
 * on the main thread) loads the file and the environment again into a new
 * generation and makes it current, and the old one is freed when its last
 * reader lets go.  Keys that only a restart can apply (the listeners, the
 * instance, Redis's address and prefix, the agent's paths, the log files)
 * keep their old values in the new generation, with a warning.
 */


#ifndef SBX_CONFGEN_H
#define SBX_CONFGEN_H


#include "sbx_config.h"


/*
 * Makes a copy of boot the first generation; path is the file SIGHUP
 * reads again (NULL: defaults and environment only).
 */
int sbx_confgen_init(const sbx_config_t *boot, const char *path);

/* The current generation, referenced until sbx_confgen_release(). */
const sbx_config_t *sbx_confgen_acquire(void);

void sbx_confgen_release(const sbx_config_t *conf);

/*
 * Loads the configuration again.  An invalid one is logged and ignored:
 * the current generation stays.  Returns SBX_OK when a new generation is
 * in force.
 */
int sbx_confgen_reload(void);

/* Frees the current generation (at exit, once no thread reads it). */
void sbx_confgen_free(void);


#endif /* SBX_CONFGEN_H */
