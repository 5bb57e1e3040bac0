/*
 * tls_source - a small SMTP load client with STARTTLS, for the
 * benchmark's inbound-over-TLS scenario (Postfix's smtp-source has no
 * TLS).
 *
 *	tls_source [-T] -s SESSIONS -m MESSAGES -l SIZE -M HELO -f FROM -t TO
 *		   HOST:PORT
 *
 * Like smtp-source: SESSIONS connections at a time (one process each),
 * one message per connection, MESSAGES in all, each SIZE bytes of
 * content (a few header lines, then 80-column body lines).  With -T
 * every connection says EHLO, STARTTLS, does a full TLS handshake (no
 * session resumption: each connection is a new sender, as on port 25)
 * and EHLO again before MAIL.  The server's certificate is not checked.
 * Prints "sent N" and exits 0 when every message got 250; otherwise the
 * first failure on stdout and exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct conn {
	int	fd;
	SSL    *ssl;
	char	in[8192];
	size_t	len;
};

static const char *helo = "client.bench.test", *from = "sender@client.bench.test", *to;
static size_t size = 4096;
static bool use_tls;
static struct sockaddr_in addr;
static SSL_CTX *ctx;

static void
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(1);
}

static void
put(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t	k = c->ssl ? SSL_write(c->ssl, p, (int) n) : write(c->fd, p, n);

		if (k <= 0)
			die("write failed: %s", c->ssl ? "TLS" : strerror(errno));
		p += k;
		n -= (size_t) k;
	}
}

/* reply - read a whole reply; its code */
static int
reply(struct conn *c)
{
	for (;;) {
		char   *nl;

		while ((nl = memchr(c->in, '\n', c->len)) != NULL) {
			size_t	n = (size_t) (nl - c->in) + 1;
			bool	last = n >= 4 && c->in[3] != '-';
			int	code = atoi(c->in);

			memmove(c->in, c->in + n, c->len - n);
			c->len -= n;
			if (last)
				return code;
		}
		if (c->len == sizeof(c->in))
			die("reply line too long");
		ssize_t	k = c->ssl ? SSL_read(c->ssl, c->in + c->len, (int) (sizeof(c->in) - c->len))
		    : read(c->fd, c->in + c->len, sizeof(c->in) - c->len);

		if (k <= 0)
			die("connection lost while reading a reply");
		c->len += (size_t) k;
	}
}

static void
cmd(struct conn *c, int want, const char *fmt, ...)
{
	char	line[1024];
	va_list	ap;
	int	n, got;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	put(c, line, (size_t) n);
	if ((got = reply(c)) != want)
		die("%.*s answered %d, not %d", n - 2, line, got, want);
}

static void
message(unsigned long seq, unsigned worker)
{
	struct conn c = {0};
	char	head[1024], body[82];
	size_t	n, done;

	if ((c.fd = socket(AF_INET, SOCK_STREAM, 0)) < 0
	    || connect(c.fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
		die("connect: %s", strerror(errno));
	if (reply(&c) != 220)
		die("no 220 greeting");
	cmd(&c, 250, "EHLO %s\r\n", helo);
	if (use_tls) {
		cmd(&c, 220, "STARTTLS\r\n");
		if (c.len != 0)
			die("plaintext after the 220 to STARTTLS");
		if ((c.ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c.ssl, c.fd) != 1
		    || SSL_connect(c.ssl) != 1)
			die("TLS handshake failed");
		cmd(&c, 250, "EHLO %s\r\n", helo);
	}
	cmd(&c, 250, "MAIL FROM:<%s>\r\n", from);
	cmd(&c, 250, "RCPT TO:<%s>\r\n", to);
	cmd(&c, 354, "DATA\r\n");
	n = (size_t) snprintf(head, sizeof(head), "From: <%s>\r\nTo: <%s>\r\n"
			      "Subject: tls_source %u.%lu\r\n"
			      "Message-Id: <%u.%lu.%ld@%s>\r\n\r\n", from, to, worker, seq,
			      worker, seq, (long) getpid(), helo);
	put(&c, head, n);
	memset(body, 'x', 80);
	body[80] = '\r';
	body[81] = '\n';
	for (done = n; done + 82 <= size; done += 82)
		put(&c, body, 82);
	cmd(&c, 250, ".\r\n");
	put(&c, "QUIT\r\n", 6);
	(void) reply(&c);
	if (c.ssl) {
		(void) SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	close(c.fd);
}

int
main(int argc, char **argv)
{
	unsigned long sessions = 1, messages = 1;
	unsigned long sent = 0;
	char   *colon;
	int	c, status;

	while ((c = getopt(argc, argv, "Ts:m:l:M:f:t:")) != -1) {
		switch (c) {
		case 'T':
			use_tls = true;
			break;
		case 's':
			sessions = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			messages = strtoul(optarg, NULL, 10);
			break;
		case 'l':
			size = strtoul(optarg, NULL, 10);
			break;
		case 'M':
			helo = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		default:
			die("usage: tls_source [-T] -s N -m N -l SIZE -M HELO -f FROM -t TO "
			    "HOST:PORT");
		}
	}
	if (optind + 1 != argc || to == NULL || sessions == 0
	    || (colon = strrchr(argv[optind], ':')) == NULL)
		die("usage: tls_source [-T] -s N -m N -l SIZE -M HELO -f FROM -t TO HOST:PORT");
	*colon = '\0';
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short) atoi(colon + 1));
	if (inet_pton(AF_INET, argv[optind], &addr.sin_addr) != 1)
		die("%s: not an IPv4 address", argv[optind]);
	if (use_tls) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			die("SSL_CTX_new failed");
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (sessions > messages)
		sessions = messages;
	for (unsigned w = 0; w < sessions; w++) {
		unsigned long share = messages / sessions + (w < messages % sessions);
		pid_t	pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			for (unsigned long i = 0; i < share; i++)
				message(i, w);
			_exit(0);
		}
	}
	for (unsigned w = 0; w < sessions; w++) {
		if (wait(&status) < 0)
			die("wait: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 1;		/* the worker said why */
	}
	sent = messages;
	printf("sent %lu\n", sent);
	return 0;
}
