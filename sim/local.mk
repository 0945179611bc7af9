# sim/: the deterministic discrete-event simulator (in libandna, so tests
# drive it through sim.h) and its command line, andna-sim.
libandna_a_SOURCES += sim/sim.c sim/sim.h sim/sigmemo.c sim/sigmemo.h \
	sim/adversary.c sim/adversary.h sim/adversary_int.h \
	sim/adversary_names.c

bin_PROGRAMS += andna-sim
andna_sim_SOURCES = sim/main.c
andna_sim_LDADD = $(LIBANDNA_LIBS)
