/* postern.h - shared declarations of the postern control command. */
#ifndef POSTERN_CMD_POSTERN_H
#define POSTERN_CMD_POSTERN_H

int	postern_init(int argc, char **argv);
int	postern_set_permissions(const char *config_dir);
int	postern_run(const char *path, char *const argv[]);
int	postern_self_dirs(char *bindir, size_t bsz, char *libexecdir, size_t lsz);

#endif
