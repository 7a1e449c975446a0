// Entry point of every unit-test binary (fatectl_<room>_tests).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
