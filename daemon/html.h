/* Text into HTML (the status page): escaped for element content and
 * attribute values alike, and always well-formed UTF-8, whatever the text
 * came from (a feed's body can hold any bytes). */
#ifndef INDICATORD_HTML_H
#define INDICATORD_HTML_H

#include "util.h"

#include <stddef.h>

/* Appends s escaped (& < > " ' as character references), each invalid
 * UTF-8 byte and each control character other than tab and newline as
 * U+FFFD. NULL appends nothing. */
void html_escape(struct strbuf *out, const char *s);
/* The same for len bytes of s. */
void html_escape_n(struct strbuf *out, const char *s, size_t len);

#endif
