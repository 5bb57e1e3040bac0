/*
 * NAME
 *	master_ctl - the control socket: process table for postern status
 * DESCRIPTION
 *	data_directory/master.ctl, mode 0600 in a root-only directory.
 *	One request per connection: MASTER_CTL_STATUS (no records).  The
 *	reply (MASTER_CTL_REPLY) lists each process, current generation
 *	first, as groups of "service", "command", "pid", "generation",
 *	"state" records, and ends with "end".  MASTER_CTL_RELOAD reloads
 *	and answers with the outcome (lib/ipc/master_proto.h), so `postern
 *	reload` can say on the terminal why a reload was refused.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "ipc.h"
#include "log.h"
#include "master.h"
#include "master_proto.h"
#include "str.h"

static int ctl_fd = -1;
static struct ev_io ctl_io;
static char ctl_path[4096];

static const char *
state_name(enum proc_state st)
{
	switch (st) {
	case PS_STARTING:
		return "starting";
	case PS_READY:
		return "serving";
	case PS_IDLE:
		return "idle";
	case PS_BUSY:
		return "busy";
	case PS_STOPPING:
		return "stopping";
	}
	return "?";
}

static void
add_list(struct ipc_msg *m, struct service *list, bool retired)
{
	for (struct service *s = list; s; s = s->next)
		for (struct proc *p = s->procs; p; p = p->next) {
			const char *cmd = strrchr(s->argv[0], '/');

			ipc_put_str(m, "service", s->name);
			ipc_put_str(m, "command", cmd ? cmd + 1 : s->argv[0]);
			ipc_put_num(m, "pid", (uint64_t) p->pid);
			ipc_put_num(m, "generation", p->generation);
			ipc_put_str(m, "state", retired && p->state != PS_STOPPING
				    ? "retiring" : state_name(p->state));
		}
}

static void
ctl_event(struct ev_loop *loop, struct ev_io *io, unsigned revents)
{
	struct ipc_in in;
	struct ipc_msg m;
	int     fd;

	(void) loop;
	(void) revents;
	if ((fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	ipc_in_init(&in);
	/* A local root client; a short bound keeps a stuck one harmless. */
	if (ipc_recv(fd, &in, NULL, 2000) != 0
	    || (in.type != MASTER_CTL_STATUS && in.type != MASTER_CTL_RELOAD)
	    || ipc_get_end(&in) < 0) {
		log_warn("control socket: bad request: %s", ipc_error(&in));
	} else {
		ipc_msg_init(&m, MASTER_CTL_REPLY);
		if (in.type == MASTER_CTL_STATUS) {
			add_list(&m, master_services, false);
			add_list(&m, master_retired, true);
		} else {
			struct buf problems;
			int     r;

			buf_init(&problems, 128 * 1024);
			r = master_reload("postern reload", &problems);
			ipc_put_num(&m, "status", r == 0 ? 0 : 1);
			ipc_put_num(&m, "generation", master_generation);
			ipc_put_str(&m, "reason", buf_str(&problems));
			buf_free(&problems);
		}
		ipc_put_num(&m, "end", 0);
		if (ipc_send(fd, &m, -1, 2000) < 0)
			log_warn("control socket: reply: %m");
		ipc_msg_free(&m);
	}
	ipc_in_free(&in);
	close(fd);
}

int
master_ctl_open(const char *data_dir)
{
	if (str_fmt(ctl_path, sizeof(ctl_path), "%s/master.ctl", data_dir) < 0)
		return -1;
	if ((ctl_fd = ipc_listen(ctl_path, 0600, 16)) < 0)
		return -1;
	ev_io_init(&ctl_io, ctl_fd, ctl_event, NULL);
	ev_io_start(master_loop, &ctl_io, EV_READ);
	return 0;
}

void
master_ctl_close(void)
{
	if (ctl_fd >= 0) {
		ev_io_stop(master_loop, &ctl_io);
		close(ctl_fd);
		(void) unlink(ctl_path);
		ctl_fd = -1;
	}
}
