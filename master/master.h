/*
 * NAME
 *	master.h - the master's private declarations
 * DESCRIPTION
 *	A service is one master.cf line in force for one configuration
 *	generation.  A reload builds a new list of services (reusing the
 *	listening sockets of services whose address did not change) and
 *	retires the old list: its processes get SIGTERM and the service
 *	objects stay until their last process has been reaped.
 */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"
#include "mastercf.h"
#include "params.h"

enum svc_model { MODEL_SINGLE, MODEL_EVENT };

enum proc_state { PS_STARTING, PS_READY, PS_IDLE, PS_BUSY, PS_STOPPING };

struct service;

struct proc {
	pid_t	pid;
	struct service *svc;
	unsigned generation;
	enum proc_state state;
	uint64_t started_ms;
	uint64_t heard_ms;		/* last status record */
	bool	killed_wedged;
	bool	seccomp_trap;		/* it reported a forbidden system call */
	int	log_sock;		/* our end of its log channel, or -1 */
	struct proc *next;
};

struct service {
	char   *name;			/* master.cf service field */
	enum svc_type type;
	enum svc_model model;
	bool	singleton;		/* at most one process, across generations */
	struct mastercf_entry ent;	/* deep copy */
	char  **argv;			/* exec vector */
	unsigned generation;
	bool	retired;		/* an older generation, draining */
	int	listen_fds[16];
	int	n_listen;
	char	listen_key[512];	/* identity of the listening endpoint */
	int	status_pipe[2];
	struct ev_io status_io;
	struct ev_io accept_watch[16];	/* on-demand start of single servers */
	bool	watching;
	int	max_proc;		/* 0 = no limit */
	int	total, idle;
	unsigned fails;			/* consecutive abnormal exits */
	uint64_t throttle_until;
	struct ev_timer throttle_timer;
	struct ev_timer wakeup_timer;
	int	wakeup_fd;		/* fifo write end for wakeups */
	struct proc *procs;
	struct service *next;
};

/* master.c */
extern struct ev_loop *master_loop;
extern const char *master_config_dir;
extern bool master_foreground;
extern unsigned master_generation;
extern struct service *master_services;		/* current generation */
extern struct service *master_retired;		/* draining generations */
extern bool master_shutting_down;
extern int master_config_fd;		/* sealed main.cf of the current generation */

/* master_service.c */
int	master_cpus(void);
struct service *master_services_build(const struct params *p, const struct mastercf *mc,
				      struct service *reuse, struct buf *err);
void	master_service_free(struct service *s);
void	master_services_start(struct service *list);
void	master_service_retire(struct service *s);
void	master_services_close_listeners(struct service *list);

/* master_spawn.c */
void	master_spawn(struct service *s);
void	master_reap(void);
void	master_status_event(struct ev_loop *loop, struct ev_io *io, unsigned revents);
void	master_adjust(struct service *s);
void	master_wedge_check(uint64_t now);
void	master_signal_all(struct service *list, int sig);
int	master_count_procs(struct service *list);
int	master_reopen_logs(struct service *list);
bool	master_all_ready(struct service *list);

/* master.c */
int	master_reload(const char *why, struct buf *problems);

/* master_ctl.c */
int	master_ctl_open(const char *data_dir);
void	master_ctl_close(void);

#endif
