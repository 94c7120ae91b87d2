/*
 * lines.h - iterating over the lines of a text buffer with line numbers.
 *
 * Config files read by probes are NUL-terminated buffers from rootfs_read,
 * but lines are handed out as (pointer, length) so no one writes into them.
 */
#ifndef POSTURE_LINES_H
#define POSTURE_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct line_iter {
	const char *p, *end;
	unsigned lineno; /* number of the line last returned, from 1 */
};

void lines_init(struct line_iter *it, const char *data, size_t len);
/* Next line without its "\n" (and without a trailing "\r"); false at the end. */
bool lines_next(struct line_iter *it, const char **line, size_t *len);

/* Trim ASCII white space at both ends of (*s, *n). */
void lines_trim(const char **s, size_t *n);
/* True when the trimmed line is empty or starts with comment_char. */
bool lines_is_blank_or_comment(const char *s, size_t n, char comment_char);

#endif
