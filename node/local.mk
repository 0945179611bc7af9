# node/: files of this directory (included by the top Makefile.am)
libandna_a_SOURCES += node/round.c node/round.h node/maps.c node/maps.h \
	node/engine.c node/engine.h node/engine_int.h node/swim.c \
	node/hook.c node/gossip.c node/route.c node/ns.c node/ns_sync.c \
	node/ns_resolve.c

# the daemon around the engine: configuration, log, event loop, control
# socket (in libandna, so tests link them), and the programs andnad and andna
libandna_a_SOURCES += node/log.c node/log.h node/conf.c node/conf.h
libandna_a_SOURCES += node/daemon.c node/daemon.h node/control.c \
	node/control.h node/timebase.c node/timebase.h

sbin_PROGRAMS += andnad
andnad_SOURCES = node/andnad.c
andnad_CPPFLAGS = $(AM_CPPFLAGS) -DANDNA_SYSCONFDIR='"$(sysconfdir)"'
andnad_LDADD = $(LIBANDNA_LIBS)

bin_PROGRAMS += andna
andna_SOURCES = node/andna.c
andna_LDADD = $(LIBANDNA_LIBS)

dist_man_MANS += doc/andnad.8 doc/andna.1 doc/andnad.conf.5
EXTRA_DIST += doc/andnad.conf

# the DNS front (listeners, answers, probes) and forwarding to upstreams
libandna_a_SOURCES += node/dns_front.c node/dns_front.h node/dns_answer.c \
	node/dns_answer.h node/dns_probe.c node/dns_probe.h \
	node/dns_forward.c node/dns_forward.h
libandna_a_SOURCES += node/dns_engine.c node/dns_engine.h
libandna_a_SOURCES += node/dns_node.c node/dns_node.h
