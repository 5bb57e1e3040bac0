/* postconf.h - shared declarations of the postconf command (cmd/postconf*.c). */
#ifndef POSTERN_CMD_POSTCONF_H
#define POSTERN_CMD_POSTCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* postconf_edit.c: main.cf edits (-e, -X, -#). */
enum postconf_op { POSTCONF_SET, POSTCONF_REMOVE, POSTCONF_COMMENT };

struct postconf_change {
	enum postconf_op op;
	char   *name;
	char   *value;		/* POSTCONF_SET only */
};

int	postconf_change_parse(const char *arg, enum postconf_op op,
			      struct postconf_change *ch, struct buf *err);
int	postconf_edit_text(const char *text, size_t len,
			   const struct postconf_change *ch, size_t n,
			   struct buf *out);
int	postconf_edit_file(const char *config_dir, const struct postconf_change *ch,
			   size_t n, struct buf *err);

/* postconf_master.c: master.cf listings (-M, -F, -P). */
enum postconf_master_mode { POSTCONF_M, POSTCONF_F, POSTCONF_P };

int	postconf_master(const char *config_dir, enum postconf_master_mode mode,
			char *const *sel, int nsel, struct buf *out, struct buf *err);

#endif
