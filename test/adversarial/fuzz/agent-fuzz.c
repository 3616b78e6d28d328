/*
 * libFuzzer harness for the request parser of agent/agent.c, run by
 * test/adversarial/agent-fuzz.test.ts:
 *   clang -fsanitize=fuzzer,address,undefined test/adversarial/fuzz/agent-fuzz.c
 *
 * agent.c is compiled in unchanged, with AGENT_NO_MAIN: only parse_request
 * and what it needs. Every request a jailed user's process can send reaches
 * parse_request in a keeper; after each run the harness checks the verdict
 * and the parsed request against its own reading of the protocol
 * (agent/protocol.h), and abort()s on any difference, which libFuzzer
 * reports as a crash. The body is its own allocation of exactly its length,
 * so ASan sees a read past it.
 *
 * Input: byte 0, mode; bytes 1-20, the request_header as sent, except that
 * magic is XORed with JAIL_AGENT_MAGIC and body_len with the body's length
 * (so zero there means right, and the fuzzer starts from valid requests);
 * the rest is the body.
 *   mode 1: the body's last string grows past REQUEST_MAX_BODY (its
 *   header's body_len follows), so the size limit itself is tested.
 * Replay one input: ./agent-fuzz FILE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_NO_MAIN
#ifndef AGENT_C
#define AGENT_C "../../../agent/agent.c"
#endif
#include AGENT_C

#define PREFIX "DOCKER_JAIL_SESSION="

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "agent-fuzz: violated: %s\n", what);
		abort();
	}
}

/* The protocol's rules, written from protocol.h, not from agent.c. */
static int acceptable(const struct request_header *h, const char *body, size_t n)
{
	if (h->magic != JAIL_AGENT_MAGIC || h->flags > 3 || h->argc == 0 || (uint64_t)h->argc + h->envc > 65536 ||
	    h->body_len > (4u << 20) || h->body_len != n || n == 0 || body[n - 1] != '\0')
		return 0;
	size_t strings = 0;
	for (size_t i = 0; i < n; i++)
		strings += body[i] == '\0';
	if (strings != 1 + (uint64_t)h->argc + h->envc)
		return 0; /* too few strings, or bytes after the last */
	return body[0] == '/' && body[strlen(body) + 1] == '/'; /* cwd and argv[0] absolute */
}

static void check_parsed(const struct request_header *h, char *body, size_t n, const struct request *r)
{
	char *at = body;
	check(r->flags == h->flags, "flags kept");
	check(r->cwd == at, "cwd is the first string");
	at += strlen(at) + 1;
	for (uint32_t i = 0; i < h->argc; i++, at += strlen(at) + 1)
		check(r->argv[i] == at, "argv[i] is the next string, in place");
	check(r->argv[h->argc] == NULL, "argv ends with NULL");
	const char *mark = NULL;
	for (uint32_t i = 0; i < h->envc; i++, at += strlen(at) + 1) {
		check(r->envp[i] == at, "envp[i] is the next string, in place");
		if (!mark && strncmp(at, PREFIX, sizeof PREFIX - 1) == 0)
			mark = at;
	}
	check(at == body + n, "every string in the body, and nothing after");
	check(r->envp[h->envc] == NULL, "envp ends with NULL");
	check(r->session_mark == mark, "the session mark is the first DOCKER_JAIL_SESSION= entry");
}

static struct request parsed;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request_header h;
	if (size < 1 + sizeof h)
		return 0;
	uint8_t mode = data[0];
	memcpy(&h, data + 1, sizeof h);
	size_t n = size - 1 - sizeof h;
	size_t grow = mode == 1 && n > 0 ? (4u << 20) + 1 - (n < (4u << 20) ? n : 0) : 0;
	char *body = malloc(n + grow ? n + grow : 1);
	memcpy(body, data + 1 + sizeof h, n);
	if (grow) { /* before the last byte: the last string grows, its end stays where it was */
		body[n + grow - 1] = body[n - 1];
		memset(body + n - 1, 'x', grow);
		n += grow;
	}
	h.magic ^= JAIL_AGENT_MAGIC;
	h.body_len ^= (uint32_t)n;

	int expected = acceptable(&h, body, n);
	int got = parse_request(&h, body, n, &parsed);
	if (got != (expected ? 0 : -1)) {
		fprintf(stderr, "agent-fuzz: violated: parse_request returned %d, expected %d (flags %u argc %u envc %u body_len %u n %zu)\n",
			got, expected ? 0 : -1, h.flags, h.argc, h.envc, h.body_len, n);
		abort();
	}
	if (expected)
		check_parsed(&h, body, n, &parsed);
	free(body);
	return 0;
}
