/*
 * fuzz_backup_status.c - backup_status_parse on arbitrary bytes: a status
 * document a backup job saved is untrusted input.  Each input is parsed
 * with the queries the example policies use (restic snapshots, borg info
 * archives and repository), in each timestamp format, and the timestamp
 * parsers see the raw bytes too.  Nothing may crash, leak or read past the
 * buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct backup_query queries[] = {
		{"", "/time", "/summary/total_bytes_processed", "/short_id", BACKUP_TIME_RFC3339, 0},
		{"/archives", "/start", "/stats/original_size", "/name", BACKUP_TIME_LOCAL, 3600},
		{NULL, "/repository/last_modified", "/cache/stats/total_size", NULL, BACKUP_TIME_LOCAL, -19800},
		{"/a~1b/0/~0c", "/t", NULL, NULL, BACKUP_TIME_UNIX, 0},
	};
	struct backup_found f;
	struct pst_err e;
	int64_t us;
	int off;
	size_t i;
	/* A copy without a terminator, so a read past the end is caught by ASan. */
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		(void)backup_status_parse(buf, size, &queries[i], &f, &e);
	(void)timestamp_parse_rfc3339(buf, size, &us);
	(void)timestamp_parse_local(buf, size, 0, &us);
	(void)timestamp_parse_offset(buf, size, &off);
	free(buf);
	return 0;
}
