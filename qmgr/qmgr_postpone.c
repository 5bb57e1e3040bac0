/*
 * NAME
 *	qmgr_postpone - queue files left waiting for their busy destinations
 * SYNOPSIS
 *	#include "qmgr.h"
 *
 *	if (!qmgr_pp_known(qid)) ... read it, perhaps postpone it:
 *	qmgr_pp_add(qid, QMGR_PP_INCOMING, dests, ndests);
 *
 *	while (room && qmgr_pp_take(crowded ? busy : NULL, qid, &queue))
 *		... move queue/qid into active/, activate it ...
 * DESCRIPTION
 *	While the active queue is crowded (qmgr_crowded()), qmgr does
 *	not let a destination that already holds its share of it
 *	(qmgr_sched_busy()) take more: a message whose recipients all go
 *	to such destinations stays where it is, in incoming/ or
 *	deferred/, and this module remembers it, with the destinations
 *	(transport and the hash of the destination key) learned when it
 *	was read, so that no scan reads it again.  The room that leaves
 *	goes to mail for the other destinations, so a destination with a
 *	hundred thousand messages waiting does not hold up one with a
 *	single message, however the active queue fills.
 *
 *	The files wait in groups, one per destination, in the order they
 *	were read; a file with recipients for several destinations (at
 *	most QMGR_POSTPONE_DESTS) waits in each of their groups and goes
 *	with the first of them to be served.  qmgr_pp_take() serves the
 *	groups round-robin, one file each, passing over the groups whose
 *	destination busy() says is still busy (every group when busy is
 *	NULL: the active queue has room for anything).  It returns the
 *	queue ID and the queue it waits in, and forgets it.
 *
 *	qmgr_pp_known() says whether a queue ID is remembered (a scan
 *	skips it); qmgr_pp_forget() forgets one (its file went away);
 *	qmgr_pp_clear() forgets everything (tests).
 *
 *	Nothing here is durable and nothing needs to be: the files stay
 *	in incoming/ or deferred/, where a restarted qmgr finds them.  A
 *	remembered file that someone removed or moved meanwhile
 *	(postsuper) is found missing when it is taken, and skipped.
 * BOUNDS
 *	At most qmgr_pp_limit() files, 5 x qmgr_message_active_limit
 *	(100,000 by default), and as many groups: with the allocator's
 *	overhead about 80 bytes per file that waits for one destination
 *	(150 for four) and 100 per group, so about 10 MiB at the default
 *	when a backlog is for a few destinations and at most about 26
 *	MiB, against 2 KiB and more per message in the active queue.
 *	When either is full, qmgr_pp_add() refuses: the file is left as
 *	it is, unknown, to be read again by a later scan.  Work: O(1) to
 *	add, look up and forget; qmgr_pp_take() looks at each group at
 *	most once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "params.h"
#include "qid.h"
#include "qmgr.h"
#include "str.h"

#define PP_FACTOR	5		/* files per qmgr_message_active_limit */
#define TABLE_MIN	64

struct pp_file;

struct pp_group {			/* the files waiting for one destination */
	struct pp_group *hnext;
	struct qmgr_pp_dest dest;
	uint64_t hash;			/* of dest, for the table */
	struct pp_file *head, *tail;	/* in the order they were added */
	size_t	n;
	struct pp_group *prev, *next;	/* the round */
};

struct pp_link {
	struct pp_group *g;
	struct pp_file *prev, *next;	/* in g's list */
};

struct pp_file {
	struct pp_file *hnext;
	uint64_t hash;
	unsigned char queue;
	unsigned char nlinks;
	char	qid[QID_LEN + 1];
	struct pp_link link[];
};

size_t	qmgr_pp_count;
static size_t ngroups;
static struct pp_file **files;		/* by queue ID */
static size_t files_size;
static struct pp_group **groups;	/* by destination */
static size_t groups_size;
static struct pp_group *round_head, *round_tail;

size_t
qmgr_pp_limit(void)
{
	return (size_t) cfg->qmgr_message_active_limit * PP_FACTOR;
}

static uint64_t
dest_hash(const struct qmgr_pp_dest *d)
{
	/* The destination key's hash, told apart per transport. */
	return d->hash ^ ((uint64_t) (uintptr_t) d->tp * 0x9E3779B97F4A7C15ULL);
}

/*
 * GROW - double a chained table of 2^k buckets when it holds as many
 * entries as buckets; entries have a hash and the chain field named
 */
#define GROW(table, size, count, type, field) do { \
	if ((count) >= (size)) { \
		size_t	nsize_ = (size) ? 2 * (size) : TABLE_MIN; \
		type  **nt_ = xcalloc(nsize_, sizeof(*nt_)); \
		type   *e_; \
		for (size_t i_ = 0; i_ < (size); i_++) \
			while ((e_ = (table)[i_]) != NULL) { \
				(table)[i_] = e_->field; \
				e_->field = nt_[e_->hash & (nsize_ - 1)]; \
				nt_[e_->hash & (nsize_ - 1)] = e_; \
			} \
		free(table); \
		(table) = nt_; \
		(size) = nsize_; \
	} \
} while (0)

static struct pp_file *
file_find(const char *qid)
{
	uint64_t h = str_hash(qid);

	if (files_size == 0)
		return NULL;
	for (struct pp_file *f = files[h & (files_size - 1)]; f != NULL; f = f->hnext)
		if (f->hash == h && str_eq(f->qid, qid))
			return f;
	return NULL;
}

bool
qmgr_pp_known(const char *qid)
{
	return file_find(qid) != NULL;
}

/* group_get - the group of dest, made (at the end of the round) when new */
static struct pp_group *
group_get(const struct qmgr_pp_dest *dest)
{
	uint64_t h = dest_hash(dest);
	struct pp_group *g;

	if (groups_size > 0)
		for (g = groups[h & (groups_size - 1)]; g != NULL; g = g->hnext)
			if (g->hash == h && g->dest.tp == dest->tp && g->dest.hash == dest->hash)
				return g;
	GROW(groups, groups_size, ngroups, struct pp_group, hnext);
	g = xcalloc(1, sizeof(*g));
	g->dest = *dest;
	g->hash = h;
	g->hnext = groups[h & (groups_size - 1)];
	groups[h & (groups_size - 1)] = g;
	ngroups++;
	g->prev = round_tail;
	if (round_tail)
		round_tail->next = g;
	else
		round_head = g;
	round_tail = g;
	return g;
}

static void
round_unlink(struct pp_group *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		round_head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		round_tail = g->prev;
	g->prev = g->next = NULL;
}

/* group_drop - g is empty: out of the round and the table, freed */
static void
group_drop(struct pp_group *g)
{
	struct pp_group **pp;

	round_unlink(g);
	for (pp = &groups[g->hash & (groups_size - 1)]; *pp != g; pp = &(*pp)->hnext)
		;
	*pp = g->hnext;
	ngroups--;
	free(g);
}

/* link_in - f's place in g's list, or NULL when f does not wait in g */
static struct pp_link *
link_in(struct pp_file *f, const struct pp_group *g)
{
	for (unsigned i = 0; i < f->nlinks; i++)
		if (f->link[i].g == g)
			return &f->link[i];
	return NULL;
}

/* file_drop - f out of every group it waits in, out of the table, freed */
static void
file_drop(struct pp_file *f)
{
	struct pp_file **pp;

	for (unsigned i = 0; i < f->nlinks; i++) {
		struct pp_link *l = &f->link[i];
		struct pp_group *g = l->g;

		if (l->prev)
			link_in(l->prev, g)->next = l->next;
		else
			g->head = l->next;
		if (l->next)
			link_in(l->next, g)->prev = l->prev;
		else
			g->tail = l->prev;
		if (--g->n == 0)
			group_drop(g);
	}
	for (pp = &files[f->hash & (files_size - 1)]; *pp != f; pp = &(*pp)->hnext)
		;
	*pp = f->hnext;
	qmgr_pp_count--;
	free(f);
}

int
qmgr_pp_add(const char *qid, int queue, const struct qmgr_pp_dest *dests, size_t n)
{
	struct pp_file *f;

	if (n == 0 || n > QMGR_POSTPONE_DESTS || strlen(qid) > QID_LEN
	    || qmgr_pp_count >= qmgr_pp_limit()
	    || ngroups + n > qmgr_pp_limit())
		return -1;
	if ((f = file_find(qid)) != NULL)
		file_drop(f);			/* read again: what it says now */
	GROW(files, files_size, qmgr_pp_count, struct pp_file, hnext);
	f = xcalloc(1, sizeof(*f) + n * sizeof(f->link[0]));
	(void) str_copy(f->qid, sizeof(f->qid), qid);
	f->hash = str_hash(qid);
	f->queue = (unsigned char) queue;
	for (size_t i = 0; i < n; i++) {
		struct pp_group *g = group_get(&dests[i]);

		if (link_in(f, g) != NULL)
			continue;		/* the same destination twice */
		f->link[f->nlinks].g = g;
		f->link[f->nlinks].next = NULL;
		f->link[f->nlinks].prev = g->tail;
		if (g->tail)
			link_in(g->tail, g)->next = f;
		else
			g->head = f;
		g->tail = f;
		g->n++;
		f->nlinks++;
	}
	f->hnext = files[f->hash & (files_size - 1)];
	files[f->hash & (files_size - 1)] = f;
	qmgr_pp_count++;
	return 0;
}

void
qmgr_pp_forget(const char *qid)
{
	struct pp_file *f = file_find(qid);

	if (f != NULL)
		file_drop(f);
}

bool
qmgr_pp_take(qmgr_pp_busy_fn *busy, char *qid, size_t size, int *queue)
{
	size_t	looked = 0, n = ngroups;
	struct pp_group *g;

	while ((g = round_head) != NULL && looked++ < n) {
		struct pp_file *f = g->head;

		/* Whatever happens, g goes to the end of the round. */
		if (g != round_tail) {
			round_unlink(g);
			g->prev = round_tail;
			round_tail->next = g;
			round_tail = g;
		}
		if (busy != NULL && busy(&g->dest))
			continue;
		(void) str_copy(qid, size, f->qid);
		*queue = f->queue;
		file_drop(f);
		return true;
	}
	return false;
}

void
qmgr_pp_clear(void)
{
	while (round_head != NULL)
		file_drop(round_head->head);
	free(files);
	free(groups);
	files = NULL;
	groups = NULL;
	files_size = groups_size = 0;
}
