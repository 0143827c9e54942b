/* Commands in the Redis protocol (RESP): the bytes hiredis's
 * redisFormatCommandArgv makes, written in one pass into one buffer. hiredis
 * 0.14 builds them with sdscatfmt and grows its string per argument, which
 * was a sixth of the daemon's instructions per observation. */
#ifndef INDICATORD_RESP_H
#define INDICATORD_RESP_H

#include <stddef.h>

/* The length of the command; argvlen NULL means every argument is a C
 * string. */
size_t resp_command_len(int argc, const char **argv, const size_t *argvlen);
/* Writes the command and a NUL into buf, which holds resp_command_len() + 1
 * bytes (hiredis reads a formatted command as a C string); returns its
 * length without the NUL. */
size_t resp_command_write(char *buf, int argc, const char **argv,
                          const size_t *argvlen);

#endif
