/*
 * smtp_dane_test - check suite for smtp/smtp_dane.c: what levels dane and
 * dane-only make of a server's DNSSEC status and TLSA records (RFC 7672:
 * usable records, unusable ones, none, insecure, lookup failures,
 * bounds), and the level words of smtp_tls_policy.c.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "dns.h"
#include "../../smtp/smtp.h"

static const unsigned char d32[32] = {1, 2, 3};
static const unsigned char d64[64] = {4, 5, 6};

#define REC(u, s, m, d, l) {.usage = (u), .selector = (s), .mtype = (m), .data = (d), .len = (l)}

static struct smtp_dane dane;
static char why[512];

static enum smtp_dane_verdict
decide(enum smtp_tls_level level, int status, bool secure, const struct dns_tlsa *t,
       size_t n)
{
	why[0] = 0;
	return smtp_dane_decide(level, "_25._tcp.mx.example", status, "Timeout",
				secure, t, n, &dane, why, sizeof(why));
}

START_TEST(test_usable_records)
{
	const struct dns_tlsa t[] = {
		REC(3, 1, 1, d32, 32),
		REC(0, 0, 1, d32, 32),		/* PKIX-TA: not for SMTP */
		REC(2, 0, 2, d64, 64),
		REC(1, 1, 1, d32, 32),		/* PKIX-EE: not for SMTP */
		REC(3, 0, 0, d64, 10),		/* a whole "certificate" */
	};

	for (int l = SMTP_TLS_DANE; l <= SMTP_TLS_DANE_ONLY; l++) {
		ck_assert_int_eq(decide(l, DNS_OK, true, t, 5), SMTP_DANE_VERIFY);
		ck_assert_uint_eq(dane.n, 3);
		ck_assert_uint_eq(dane.r[0].usage, 3);
		ck_assert_uint_eq(dane.r[0].len, 32);
		ck_assert_int_eq(memcmp(dane.r[0].data, d32, 32), 0);
		ck_assert_uint_eq(dane.r[1].usage, 2);
		ck_assert_uint_eq(dane.r[1].mtype, 2);
		ck_assert_int_eq(memcmp(dane.r[1].data, d64, 64), 0);
		ck_assert_uint_eq(dane.r[2].mtype, 0);
		ck_assert_uint_eq(dane.r[2].len, 10);
		ck_assert_ptr_nonnull(strstr(why, "3 usable TLSA records"));
	}
}
END_TEST

START_TEST(test_unusable_records)
{
	const struct dns_tlsa t[] = {
		REC(0, 0, 1, d32, 32),		/* PKIX-TA */
		REC(1, 1, 1, d32, 32),		/* PKIX-EE */
		REC(4, 1, 1, d32, 32),		/* unknown usage */
		REC(3, 2, 1, d32, 32),		/* unknown selector */
		REC(3, 1, 3, d32, 32),		/* unknown matching type */
		REC(3, 1, 1, d32, 31),		/* SHA2-256 of 31 bytes */
		REC(3, 1, 2, d64, 32),		/* SHA2-512 of 32 bytes */
		REC(3, 1, 0, d32, 0),		/* nothing to match */
		REC(2, 0, 0, d32, SMTP_TLSA_DATA_MAX + 1),	/* too big */
	};

	ck_assert_int_eq(decide(SMTP_TLS_DANE, DNS_OK, true, t, 9), SMTP_DANE_ENCRYPT);
	ck_assert_uint_eq(dane.n, 0);
	ck_assert_ptr_nonnull(strstr(why, "none is usable"));
	ck_assert_int_eq(decide(SMTP_TLS_DANE_ONLY, DNS_OK, true, t, 9), SMTP_DANE_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "dane-only"));
}
END_TEST

START_TEST(test_bounded)
{
	struct dns_tlsa t[SMTP_TLSA_MAX + 3];

	for (size_t i = 0; i < SMTP_TLSA_MAX + 3; i++)
		t[i] = (struct dns_tlsa) REC(3, 1, 1, d32, 32);
	ck_assert_int_eq(decide(SMTP_TLS_DANE, DNS_OK, true, t, SMTP_TLSA_MAX + 3),
			 SMTP_DANE_VERIFY);
	ck_assert_uint_eq(dane.n, SMTP_TLSA_MAX);
}
END_TEST

START_TEST(test_no_records_insecure_and_failures)
{
	const struct dns_tlsa t[] = {REC(3, 1, 1, d32, 32)};
	struct smtp_addr a = {.host = "mx.example", .port = 25};

	/* A validated "no TLSA records": may, or defer. */
	ck_assert_int_eq(decide(SMTP_TLS_DANE, DNS_NOTFOUND, true, NULL, 0), SMTP_DANE_MAY);
	ck_assert_ptr_nonnull(strstr(why, "no TLSA records for _25._tcp.mx.example"));
	ck_assert_int_eq(decide(SMTP_TLS_DANE_ONLY, DNS_NOTFOUND, true, NULL, 0),
			 SMTP_DANE_FAIL);
	/* Records the resolver did not validate are not believed. */
	ck_assert_int_eq(decide(SMTP_TLS_DANE, DNS_OK, false, t, 1), SMTP_DANE_MAY);
	ck_assert_uint_eq(dane.n, 0);
	ck_assert_ptr_nonnull(strstr(why, "not DNSSEC-validated"));
	ck_assert_int_eq(decide(SMTP_TLS_DANE_ONLY, DNS_OK, false, t, 1), SMTP_DANE_FAIL);
	/* A failed lookup defers, whatever the level: no downgrade. */
	ck_assert_int_eq(decide(SMTP_TLS_DANE, DNS_TEMPFAIL, true, NULL, 0), SMTP_DANE_FAIL);
	ck_assert_str_eq(why, "TLSA lookup error for _25._tcp.mx.example: Timeout");
	ck_assert_int_eq(decide(SMTP_TLS_DANE, DNS_TEMPFAIL, false, NULL, 0), SMTP_DANE_FAIL);
	/* An insecure MX or address: no lookup, may or defer. */
	ck_assert_int_eq(smtp_dane_insecure(SMTP_TLS_DANE, &a, why, sizeof(why)), SMTP_DANE_MAY);
	ck_assert_ptr_nonnull(strstr(why, "mx.example"));
	ck_assert_int_eq(smtp_dane_insecure(SMTP_TLS_DANE_ONLY, &a, why, sizeof(why)),
			 SMTP_DANE_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "dane-only"));
}
END_TEST

START_TEST(test_level_words)
{
	enum smtp_tls_level l;
	struct smtp_tls_policy pol;

	ck_assert_int_eq(smtp_tls_level_parse("dane", &l), 0);
	ck_assert_int_eq(l, SMTP_TLS_DANE);
	ck_assert_int_eq(smtp_tls_level_parse("DANE-only", &l), 0);
	ck_assert_int_eq(l, SMTP_TLS_DANE_ONLY);
	ck_assert_str_eq(smtp_tls_level_name(SMTP_TLS_DANE), "dane");
	ck_assert_str_eq(smtp_tls_level_name(SMTP_TLS_DANE_ONLY), "dane-only");
	ck_assert(smtp_tls_dane_level(SMTP_TLS_DANE_ONLY));
	ck_assert(!smtp_tls_dane_level(SMTP_TLS_SECURE));
	ck_assert_int_eq(smtp_tls_policy_parse("dane-only", &pol, why, sizeof(why)), 0);
	ck_assert_int_eq(pol.level, SMTP_TLS_DANE_ONLY);
	ck_assert_int_eq(smtp_tls_level_parse("dane-ish", &l), -1);
	ck_assert_int_eq(smtp_tls_level_parse("fingerprint", &l), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite  *s = suite_create("smtp_dane");
	TCase  *t = tcase_create("decide");

	tcase_add_test(t, test_usable_records);
	tcase_add_test(t, test_unusable_records);
	tcase_add_test(t, test_bounded);
	tcase_add_test(t, test_no_records_insecure_and_failures);
	tcase_add_test(t, test_level_words);
	suite_add_tcase(s, t);
	return s;
}

CHECK_MAIN(suite)
