/* Loading the configuration (contract §3): the YAML file and its drop-ins,
 * every key validated, into the structure of model/config.h. The loader
 * never exits and never touches the network; it reports every problem as
 * "file:line:col: message" and never puts a secret into a message. Feed
 * formats and receiver types come from their tables (feed_format.h,
 * receiver.h). */
#ifndef INDICATORD_CONFIG_LOAD_H
#define INDICATORD_CONFIG_LOAD_H

#include "config.h"
#include "diag.h"

#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/indicatord/indicatord.yaml"

/* Loads path and its drop-ins. Returns the config, or NULL after adding
 * every problem found to d. Reads files only; no network. */
struct config *config_load(const char *path, struct diag *d);
/* The same for text held in memory; name stands for the main file (drop-ins
 * and relative *_file names are looked up beside it). */
struct config *config_load_text(const char *name, const char *text, size_t len,
                                struct diag *d);

#endif
