/*
 * replay.c - runs a libFuzzer target over files, without libFuzzer.
 *
 * Built with each tests/fuzz/fuzz_*.c when the compiler has no
 * -fsanitize=fuzzer, so that every build exercises the parsers with the seed
 * corpus under ctest.  Arguments are files or directories (their regular
 * files, in name order, not recursing); each file's first REPLAY_MAX_INPUT bytes
 * are one input, in a heap block of exactly that size so that sanitizers
 * see a read past the end.  Exits nonzero when an argument cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1024 * 1024)

/* Run the target on one file; 0, or -1 after saying what went wrong. */
static int replay_file(const char *path, size_t *count)
{
	uint8_t *data;
	size_t len = 0;
	ssize_t k;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* One spare byte tells a file over the cap from one exactly at it. */
	data = malloc(REPLAY_MAX_INPUT + 1);
	if (data == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		close(fd);
		return -1;
	}
	while (len < REPLAY_MAX_INPUT + 1) {
		k = read(fd, data + len, REPLAY_MAX_INPUT + 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
			free(data);
			close(fd);
			return -1;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	if (len > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: over %d bytes, using the first %d\n",
			path, REPLAY_MAX_INPUT, REPLAY_MAX_INPUT);
		len = REPLAY_MAX_INPUT;
	}
	{
		uint8_t *exact = malloc(len > 0 ? len : 1);

		if (exact == NULL) {
			fprintf(stderr, "replay: %s: out of memory\n", path);
			free(data);
			return -1;
		}
		memcpy(exact, data, len);
		free(data);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	(*count)++;
	return 0;
}

static int replay_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	struct stat st;
	char path[4096];
	int i, n, rc = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] == '.')
			goto next;
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >=
		    (int)sizeof(path)) {
			fprintf(stderr, "replay: %s/%s: path too long\n", dir,
				names[i]->d_name);
			rc = -1;
			goto next;
		}
		if (stat(path, &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
			rc = -1;
			goto next;
		}
		if (S_ISREG(st.st_mode) && replay_file(path, count) != 0)
			rc = -1;
next:
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	struct stat st;
	size_t count = 0;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (replay_file(argv[i], &count) != 0) {
			rc = 1;
		}
	}
	printf("replayed %zu inputs\n", count);
	return rc;
}
