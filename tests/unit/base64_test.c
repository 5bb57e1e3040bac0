/* base64_test - check suite for lib/util/base64: RFC 4648 vectors, strict decoding, bounds. */
#include <check.h>
#include <string.h>

#include "check_main.h"

#include "base64.h"
#include "buf.h"

static const struct {
	const char *raw, *b64;
} vectors[] = {
	{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
	{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	{"Username:", "VXNlcm5hbWU6"}, {"Password:", "UGFzc3dvcmQ6"},
};

START_TEST(test_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct buf b;
		unsigned char raw[64];
		size_t	len;

		buf_init(&b, 64);
		ck_assert_int_eq(base64_encode(vectors[i].raw, strlen(vectors[i].raw), &b), 0);
		ck_assert_str_eq(buf_str(&b), vectors[i].b64);
		buf_free(&b);
		ck_assert_int_eq(base64_decode(vectors[i].b64, strlen(vectors[i].b64), raw,
					       sizeof(raw), &len), 0);
		ck_assert_uint_eq(len, strlen(vectors[i].raw));
		ck_assert_int_eq(memcmp(raw, vectors[i].raw, len), 0);
	}
}
END_TEST

START_TEST(test_binary_roundtrip)
{
	unsigned char in[256], out[256];
	struct buf b;
	size_t	len;

	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char) i;
	for (size_t n = 0; n <= 256; n += 17) {
		buf_init(&b, 1024);
		ck_assert_int_eq(base64_encode(in, n, &b), 0);
		ck_assert_int_eq(base64_decode(b.data, b.len, out, sizeof(out), &len), 0);
		ck_assert_uint_eq(len, n);
		ck_assert_int_eq(memcmp(in, out, n), 0);
		buf_free(&b);
	}
}
END_TEST

START_TEST(test_strict)
{
	static const char *const bad[] = {
		"Zg", "Zg=", "Zm9", "Z===", "====", "Zg==Zg==", "Zm=v", "Zm9v\r\n",
		" Zm9v", "Zm9v ", "Zm9-", "Zh==", "Zm9=", "AAA*",
	};
	unsigned char out[16];
	size_t	len = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &len) < 0,
			      "\"%s\" was taken", bad[i]);
	/* The output bound. */
	ck_assert_int_eq(base64_decode("Zm9vYmFy", 8, out, 5, &len), -1);
	ck_assert_int_eq(base64_decode("Zm9vYmFy", 8, out, 6, &len), 0);
}
END_TEST

START_TEST(test_encode_room)
{
	struct buf b;

	buf_init(&b, 7);
	ck_assert_int_eq(base64_encode("foobar", 6, &b), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(base64_encode("foo", 3, &b), 0);
	ck_assert_str_eq(buf_str(&b), "Zm9v");
	buf_free(&b);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("base64");
	TCase  *tc = tcase_create("core");

	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_binary_roundtrip);
	tcase_add_test(tc, test_strict);
	tcase_add_test(tc, test_encode_room);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(suite)
