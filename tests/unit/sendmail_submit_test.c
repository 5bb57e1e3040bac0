/* sendmail_submit_test - the envelope sendmail writes is what postdrop accepts. */
#include <check.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check_main.h"

#include "../../cmd/sendmail.h"
#include "maildrop.h"

static struct maildrop_limits lim = {
	.addr_max = MAILDROP_ADDR_MAX,
	.attr_max = MAILDROP_ATTR_MAX,
	.attr_count = MAILDROP_ATTR_COUNT,
	.rcpt_max = 10,
	.msg_max = 1000,
};

/* records - write e, a message and E; read back the records' types and texts */
static void
records(const struct sendmail_env *e, char *types, size_t tsize, char texts[][128])
{
	struct maildrop_out o;
	struct maildrop_in in;
	struct maildrop_rec r;
	int     fd = memfd_create("env", MFD_CLOEXEC), k;
	size_t  n = 0;

	ck_assert_int_ge(fd, 0);
	maildrop_out_init(&o, fd);
	ck_assert_int_eq(sendmail_put_envelope(&o, e), 0);
	ck_assert_int_eq(maildrop_out_put(&o, QF_REC_MSG, "x\n", 2), 0);
	ck_assert_int_eq(maildrop_out_put(&o, QF_REC_END, NULL, 0), 0);
	ck_assert_int_eq(maildrop_out_flush(&o), 0);
	maildrop_out_free(&o);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	maildrop_in_init(&in, fd, &lim);
	while ((k = maildrop_in_next(&in, &r)) == 1 && n + 1 < tsize) {
		types[n] = (char) r.type;
		memcpy(texts[n], r.data, r.len < 127 ? r.len : 127);
		texts[n][r.len < 127 ? r.len : 127] = '\0';
		n++;
	}
	ck_assert_msg(k == 0, "stream refused: %s", in.why);
	types[n] = '\0';
	maildrop_in_free(&in);
	close(fd);
}

START_TEST(test_minimal)
{
	char   *rcpts[] = {"u1"};
	struct sendmail_env e = {.rcpts = rcpts, .nrcpts = 1, .notify = ""};
	char    types[32], texts[32][128];

	records(&e, types, sizeof(types), texts);
	ck_assert_str_eq(types, "VTSRME");
	ck_assert_str_eq(texts[0], "1");
	ck_assert_ptr_nonnull(strchr(texts[1], '.'));
	ck_assert_str_eq(texts[2], "");		/* no -f: empty, no flag f */
	ck_assert_str_eq(texts[3], "u1");
}
END_TEST

START_TEST(test_everything)
{
	char   *rcpts[] = {"a@x.org", "b"};
	struct sendmail_env e = {
		.sender = "", .fullname = "Cron Daemon", .extract = true,
		.body = "8BITMIME", .ret = "HDRS", .envid = "id1",
		.notify = "SUCCESS,DELAY", .rcpts = rcpts, .nrcpts = 2,
	};
	char    types[32], texts[32][128];

	records(&e, types, sizeof(types), texts);
	ck_assert_str_eq(types, "VTAAAAASNRNRME");
	ck_assert_str_eq(texts[2], "flags=tf");	/* -t, and -f "" given */
	ck_assert_str_eq(texts[3], "fullname=Cron Daemon");
	ck_assert_str_eq(texts[4], "body=8BITMIME");
	ck_assert_str_eq(texts[5], "ret=HDRS");
	ck_assert_str_eq(texts[6], "envid=id1");
	ck_assert_str_eq(texts[7], "");		/* the null sender */
	ck_assert_str_eq(texts[8], "SUCCESS,DELAY");
	ck_assert_str_eq(texts[9], "a@x.org");
	ck_assert_str_eq(texts[11], "b");
}
END_TEST

START_TEST(test_extract_without_rcpts)
{
	struct sendmail_env e = {.sender = "me@x.org", .extract = true};
	char    types[32], texts[32][128];

	records(&e, types, sizeof(types), texts);
	ck_assert_str_eq(types, "VTASME");
	ck_assert_str_eq(texts[3], "me@x.org");
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("sendmail_submit");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_minimal);
	tcase_add_test(tc, test_everything);
	tcase_add_test(tc, test_extract_without_rcpts);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
