# tests/: cmocka unit tests (one program per module), scenario and
# multi-process scripts, fuzz targets.  Each module's tests are listed here.
check_PROGRAMS += tests/test_err
tests_test_err_SOURCES = tests/test_err.c
tests_test_err_CFLAGS = $(TEST_CFLAGS)
tests_test_err_LDADD = $(TEST_LIBS)
TESTS += tests/test_err

check_PROGRAMS += tests/test_round
tests_test_round_SOURCES = tests/test_round.c
tests_test_round_CFLAGS = $(TEST_CFLAGS)
tests_test_round_LDADD = $(TEST_LIBS)
TESTS += tests/test_round

check_PROGRAMS += tests/test_engine
tests_test_engine_SOURCES = tests/test_engine.c
tests_test_engine_CFLAGS = $(TEST_CFLAGS)
tests_test_engine_LDADD = $(TEST_LIBS)
TESTS += tests/test_engine

check_PROGRAMS += tests/test_overlay
tests_test_overlay_SOURCES = tests/test_overlay.c
tests_test_overlay_CFLAGS = $(TEST_CFLAGS)
tests_test_overlay_LDADD = $(TEST_LIBS)
TESTS += tests/test_overlay

check_PROGRAMS += tests/test_crypto
tests_test_crypto_SOURCES = tests/test_crypto.c
tests_test_crypto_CFLAGS = $(TEST_CFLAGS)
tests_test_crypto_LDADD = $(TEST_LIBS)
TESTS += tests/test_crypto

check_PROGRAMS += tests/test_sim
tests_test_sim_SOURCES = tests/test_sim.c
tests_test_sim_CFLAGS = $(TEST_CFLAGS)
tests_test_sim_LDADD = $(TEST_LIBS)
TESTS += tests/test_sim

check_PROGRAMS += tests/test_sim_ns
tests_test_sim_ns_SOURCES = tests/test_sim_ns.c
tests_test_sim_ns_CFLAGS = $(TEST_CFLAGS)
tests_test_sim_ns_LDADD = $(TEST_LIBS)
TESTS += tests/test_sim_ns

check_PROGRAMS += tests/test_sigmemo
tests_test_sigmemo_SOURCES = tests/test_sigmemo.c
tests_test_sigmemo_CFLAGS = $(TEST_CFLAGS)
tests_test_sigmemo_LDADD = $(TEST_LIBS)
TESTS += tests/test_sigmemo

check_PROGRAMS += tests/test_dns
tests_test_dns_SOURCES = tests/test_dns.c
tests_test_dns_CFLAGS = $(TEST_CFLAGS)
tests_test_dns_LDADD = $(TEST_LIBS)
TESTS += tests/test_dns

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_dns
tests_fuzz_fuzz_dns_SOURCES = tests/fuzz/fuzz_dns.c
tests_fuzz_fuzz_dns_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_dns_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_dns_LDADD = $(LIBANDNA_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_dns_front
tests_fuzz_fuzz_dns_front_SOURCES = tests/fuzz/fuzz_dns_front.c
tests_fuzz_fuzz_dns_front_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_dns_front_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_dns_front_LDADD = $(LIBANDNA_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_msg
tests_fuzz_fuzz_msg_SOURCES = tests/fuzz/fuzz_msg.c
tests_fuzz_fuzz_msg_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_msg_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_msg_LDADD = $(LIBANDNA_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_record
tests_fuzz_fuzz_record_SOURCES = tests/fuzz/fuzz_record.c
tests_fuzz_fuzz_record_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_record_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_record_LDADD = $(LIBANDNA_LIBS)
endif

check_PROGRAMS += tests/test_record
tests_test_record_SOURCES = tests/test_record.c
tests_test_record_CFLAGS = $(TEST_CFLAGS)
tests_test_record_LDADD = $(TEST_LIBS)
TESTS += tests/test_record

check_PROGRAMS += tests/test_store
tests_test_store_SOURCES = tests/test_store.c
tests_test_store_CFLAGS = $(TEST_CFLAGS)
tests_test_store_LDADD = $(TEST_LIBS)
TESTS += tests/test_store

check_PROGRAMS += tests/test_msg
tests_test_msg_SOURCES = tests/test_msg.c
tests_test_msg_CFLAGS = $(TEST_CFLAGS)
tests_test_msg_LDADD = $(TEST_LIBS)
TESTS += tests/test_msg

check_PROGRAMS += tests/test_config
tests_test_config_SOURCES = tests/test_config.c
tests_test_config_CFLAGS = $(TEST_CFLAGS)
tests_test_config_LDADD = $(TEST_LIBS)
TESTS += tests/test_config

check_PROGRAMS += tests/test_log
tests_test_log_SOURCES = tests/test_log.c
tests_test_log_CFLAGS = $(TEST_CFLAGS)
tests_test_log_LDADD = $(TEST_LIBS)
TESTS += tests/test_log

check_PROGRAMS += tests/test_dns_forward
tests_test_dns_forward_SOURCES = tests/test_dns_forward.c tests/dns_util.h
tests_test_dns_forward_CFLAGS = $(TEST_CFLAGS)
tests_test_dns_forward_LDADD = $(TEST_LIBS)
TESTS += tests/test_dns_forward

check_PROGRAMS += tests/test_dns_front
tests_test_dns_front_SOURCES = tests/test_dns_front.c tests/dns_util.h
tests_test_dns_front_CFLAGS = $(TEST_CFLAGS)
tests_test_dns_front_LDADD = $(TEST_LIBS)
TESTS += tests/test_dns_front

# the preamble the multi-process scripts source, and the DNS messages of
# their python clients
EXTRA_DIST += tests/lib.sh tests/dnswire.py

TESTS += tests/mesh.sh
dist_check_SCRIPTS += tests/mesh.sh

TESTS += tests/install.sh
dist_check_SCRIPTS += tests/install.sh

TESTS += tests/syslog.sh
dist_check_SCRIPTS += tests/syslog.sh

check_PROGRAMS += tests/test_dns_engine
tests_test_dns_engine_SOURCES = tests/test_dns_engine.c tests/dns_util.h
tests_test_dns_engine_CFLAGS = $(TEST_CFLAGS)
tests_test_dns_engine_LDADD = $(TEST_LIBS)
TESTS += tests/test_dns_engine

TESTS += tests/dns_mesh.sh
dist_check_SCRIPTS += tests/dns_mesh.sh

TESTS += tests/dns_cookie.sh
dist_check_SCRIPTS += tests/dns_cookie.sh

# root only (iptables, port 53, mount namespaces); skips otherwise
TESTS += tests/dns_failover.sh
dist_check_SCRIPTS += tests/dns_failover.sh

check_PROGRAMS += tests/test_control
tests_test_control_SOURCES = tests/test_control.c
tests_test_control_CFLAGS = $(TEST_CFLAGS)
tests_test_control_LDADD = $(TEST_LIBS)
TESTS += tests/test_control

check_PROGRAMS += tests/test_adversary
tests_test_adversary_SOURCES = tests/test_adversary.c tests/adv_fixture.c \
    tests/adv_fixture.h
tests_test_adversary_CFLAGS = $(TEST_CFLAGS)
tests_test_adversary_LDADD = $(TEST_LIBS)
TESTS += tests/test_adversary

check_PROGRAMS += tests/test_adversary_names
tests_test_adversary_names_SOURCES = tests/test_adversary_names.c \
    tests/adv_fixture.c tests/adv_fixture.h
tests_test_adversary_names_CFLAGS = $(TEST_CFLAGS)
tests_test_adversary_names_LDADD = $(TEST_LIBS)
TESTS += tests/test_adversary_names

# A hostile node for tests/hostile.sh: built by `make check`, run by the
# script, not a test by itself.
check_PROGRAMS += tests/hostile_node
tests_hostile_node_SOURCES = tests/hostile_node.c
tests_hostile_node_CFLAGS = $(TEST_CFLAGS)
tests_hostile_node_LDADD = $(TEST_LIBS)

TESTS += tests/hostile.sh
dist_check_SCRIPTS += tests/hostile.sh

check_PROGRAMS += tests/test_sim_ttl
tests_test_sim_ttl_SOURCES = tests/test_sim_ttl.c
tests_test_sim_ttl_CFLAGS = $(TEST_CFLAGS)
tests_test_sim_ttl_LDADD = $(TEST_LIBS)
TESTS += tests/test_sim_ttl

TESTS += tests/dns_ttl.sh
dist_check_SCRIPTS += tests/dns_ttl.sh

check_PROGRAMS += tests/test_timebase
tests_test_timebase_SOURCES = tests/test_timebase.c
tests_test_timebase_CFLAGS = $(TEST_CFLAGS)
tests_test_timebase_LDADD = $(TEST_LIBS)
TESTS += tests/test_timebase

TESTS += tests/clock.sh
dist_check_SCRIPTS += tests/clock.sh

TESTS += tests/dns_tcp_slots.sh
dist_check_SCRIPTS += tests/dns_tcp_slots.sh

TESTS += tests/dns_stub_load.sh
dist_check_SCRIPTS += tests/dns_stub_load.sh

# a burst of resolutions is not throttled by the answers it asked for
TESTS += tests/resolve_burst.sh
dist_check_SCRIPTS += tests/resolve_burst.sh

TESTS += tests/deb.sh
dist_check_SCRIPTS += tests/deb.sh

TESTS += tests/openwrt.sh
dist_check_SCRIPTS += tests/openwrt.sh
EXTRA_DIST += tests/openwrt/uci tests/openwrt/rc.common

check_PROGRAMS += tests/test_discover
tests_test_discover_SOURCES = tests/test_discover.c
tests_test_discover_CFLAGS = $(TEST_CFLAGS)
tests_test_discover_LDADD = $(TEST_LIBS)
TESTS += tests/test_discover

# tests/zeroconf.sh: routers in network namespaces routed by babeld, found
# by neighbour discovery; nfq_delay delays their links when
# libnetfilter-queue is there
TESTS += tests/zeroconf.sh
dist_check_SCRIPTS += tests/zeroconf.sh
if HAVE_NFQ
check_PROGRAMS += tests/nfq_delay
tests_nfq_delay_SOURCES = tests/nfq_delay.c
tests_nfq_delay_CFLAGS = $(AM_CFLAGS) $(NFQ_CFLAGS)
tests_nfq_delay_LDADD = $(NFQ_LIBS)
endif

TESTS += tests/http.sh
dist_check_SCRIPTS += tests/http.sh

check_PROGRAMS += tests/test_ratelimit
tests_test_ratelimit_SOURCES = tests/test_ratelimit.c
tests_test_ratelimit_CFLAGS = $(TEST_CFLAGS)
tests_test_ratelimit_LDADD = $(TEST_LIBS)
TESTS += tests/test_ratelimit
