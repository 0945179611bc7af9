# node/: the three subsystems of a node, one directory each (included by the
# top Makefile.am)

# node/engine/: the overlay and the name service, without I/O
libandna_a_SOURCES += node/engine/round.c node/engine/round.h \
	node/engine/maps.c node/engine/maps.h node/engine/engine.c \
	node/engine/engine.h node/engine/engine_int.h node/engine/swim.c \
	node/engine/hook.c node/engine/gossip.c node/engine/route.c \
	node/engine/ns.c node/engine/ns_sync.c node/engine/ns_resolve.c

# node/dns/: the DNS front (listeners, answers, probes), forwarding to
# upstreams, and its bridge to the engine
libandna_a_SOURCES += node/dns/dns_front.c node/dns/dns_front.h \
	node/dns/dns_answer.c node/dns/dns_answer.h node/dns/dns_probe.c \
	node/dns/dns_probe.h node/dns/dns_forward.c node/dns/dns_forward.h \
	node/dns/dns_engine.c node/dns/dns_engine.h node/dns/dns_node.c \
	node/dns/dns_node.h node/dns/dns_cookie.c node/dns/dns_cookie.h

# node/daemon/: configuration, log, clock, event loop and control socket
# (in libandna, so tests link them), and the programs andnad and andna
libandna_a_SOURCES += node/daemon/log.c node/daemon/log.h \
	node/daemon/conf.c node/daemon/conf.h node/daemon/daemon.c \
	node/daemon/daemon.h node/daemon/control.c node/daemon/control.h \
	node/daemon/timebase.c node/daemon/timebase.h \
	node/daemon/discover.c node/daemon/discover.h \
	node/daemon/ratelimit.c node/daemon/ratelimit.h \
	node/daemon/http.c node/daemon/http.h

# The status page is one HTML file, kept as HTML to be edited and viewed
# as such, and compiled into http.c as a C string.
nodist_libandna_a_SOURCES = node/daemon/http_page.inc
BUILT_SOURCES += node/daemon/http_page.inc
CLEANFILES += node/daemon/http_page.inc
EXTRA_DIST += node/daemon/http_page.html
# (BUILT_SOURCES are made first only by all and check: `make andna-sim`
# needs the rule below too)
node/daemon/http.$(OBJEXT): node/daemon/http_page.inc
node/daemon/http_page.inc: node/daemon/http_page.html
	$(AM_V_GEN)$(MKDIR_P) node/daemon && \
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' \
	    $(srcdir)/node/daemon/http_page.html >$@.tmp && mv $@.tmp $@

sbin_PROGRAMS += andnad
andnad_SOURCES = node/daemon/andnad.c
andnad_CPPFLAGS = $(AM_CPPFLAGS) -DANDNA_SYSCONFDIR='"$(sysconfdir)"'
andnad_LDADD = $(LIBANDNA_LIBS)

bin_PROGRAMS += andna
andna_SOURCES = node/daemon/andna.c
andna_LDADD = $(LIBANDNA_LIBS)

dist_man_MANS += doc/andnad.8 doc/andna.1 doc/andnad.conf.5
EXTRA_DIST += doc/andnad.conf
