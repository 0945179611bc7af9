# tests/: cmocka unit tests (one program per module), scenario and
# multi-process scripts, fuzz targets.  Each module's tests are listed here.
check_PROGRAMS += tests/test_err
tests_test_err_SOURCES = tests/test_err.c
tests_test_err_CFLAGS = $(TEST_CFLAGS)
tests_test_err_LDADD = $(TEST_LIBS)
TESTS += tests/test_err

check_PROGRAMS += tests/test_crypto
tests_test_crypto_SOURCES = tests/test_crypto.c
tests_test_crypto_CFLAGS = $(TEST_CFLAGS)
tests_test_crypto_LDADD = $(TEST_LIBS)
TESTS += tests/test_crypto
