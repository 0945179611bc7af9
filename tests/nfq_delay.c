/* A link delay for tests/zeroconf.sh, since the kernel there has no netem:
 * `nfq_delay QUEUE MS` takes every packet iptables sends to NFQUEUE number
 * QUEUE (in the network namespace it runs in) and accepts it MS
 * milliseconds after it came.  Every packet waits the same time, so they
 * leave in the order they came, from a ring of pending packet ids.  A
 * packet that finds the ring full is accepted at once (counted), and
 * iptables' --queue-bypass lets packets through while no helper runs. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#define RING 8192

struct delay {
	struct nfq_q_handle *qh;
	uint64_t ms;
	uint32_t id[RING];
	uint64_t due[RING];
	unsigned head, n;
	unsigned long overflow;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A packet came: hold it until MS from now. */
static int
packet_cb(struct nfq_q_handle *qh, struct nfgenmsg *nfmsg,
    struct nfq_data *nfa, void *arg)
{
	struct delay *d = arg;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);

	(void)nfmsg;
	if (ph == NULL)
		return 0;
	uint32_t id = ntohl(ph->packet_id);
	if (d->n == RING) {
		d->overflow++;
		return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
	}
	unsigned slot = (d->head + d->n++) % RING;
	d->id[slot] = id;
	d->due[slot] = now_ms() + d->ms;
	return 0;
}

/* Accepts every packet whose time has come. */
static void
release(struct delay *d)
{
	uint64_t now = now_ms();

	while (d->n > 0 && d->due[d->head] <= now) {
		nfq_set_verdict(d->qh, d->id[d->head], NF_ACCEPT, 0, NULL);
		d->head = (d->head + 1) % RING;
		d->n--;
	}
}

int
main(int argc, char **argv)
{
	static struct delay d;
	static char buf[65536];

	if (argc != 3) {
		fprintf(stderr, "usage: nfq_delay QUEUE MS\n");
		return 2;
	}
	int queue = atoi(argv[1]);
	d.ms = (uint64_t)atoi(argv[2]);
	struct nfq_handle *h = nfq_open();
	if (h == NULL) {
		perror("nfq_open");
		return 1;
	}
	d.qh = nfq_create_queue(h, (uint16_t)queue, packet_cb, &d);
	if (d.qh == NULL || nfq_set_mode(d.qh, NFQNL_COPY_META, 0) < 0) {
		perror("nfq_create_queue");
		nfq_close(h);
		return 1;
	}
	nfq_set_queue_maxlen(d.qh, RING);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	struct pollfd pfd = {.fd = nfq_fd(h), .events = POLLIN};
	while (!stop) {
		int wait = d.n > 0 ? (int)(d.due[d.head] > now_ms() ?
		    d.due[d.head] - now_ms() : 0) : 1000;
		if (poll(&pfd, 1, wait) > 0) {
			ssize_t n = recv(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				nfq_handle_packet(h, buf, (int)n);
			else if (n < 0 && errno == ENOBUFS)
				d.overflow++; /* the kernel dropped some */
		}
		release(&d);
	}
	/* let what is held go before leaving */
	while (d.n > 0) {
		nfq_set_verdict(d.qh, d.id[d.head], NF_ACCEPT, 0, NULL);
		d.head = (d.head + 1) % RING;
		d.n--;
	}
	fprintf(stderr, "nfq_delay: %lu packets passed undelayed (ring "
	    "full or kernel buffer overrun)\n", d.overflow);
	nfq_destroy_queue(d.qh);
	nfq_close(h);
	return 0;
}
