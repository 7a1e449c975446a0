# Fuzz harnesses: tests/fuzz/<target>.cc, each defining LLVMFuzzerTestOneInput.
#
# FATECTL_FUZZ=ON (clang only, in its own build folder; scripts/fuzz.sh): one libFuzzer program
# per target, fuzz_<target>, with ASan and UBSan.
# Otherwise (any compiler, gcc included): fatectl_fuzz_replay, every harness linked into one
# program that replays the seed corpora and every saved finding (ctest fuzz_replay), so the
# normal build catches a regression where clang is not installed.
file(GLOB FATECTL_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/*.cc)
list(FILTER FATECTL_FUZZ_SOURCES EXCLUDE REGEX "/replay_main\\.cc$")
set(FATECTL_FUZZ_LIBS fatectl_federation fatectl_ops fatectl_plan fatectl_ml fatectl_he fatectl_fed fatectl_release fatectl_kube
    fatectl_render fatectl_spec fatectl_core ${FATECTL_SYSLIBS})

if(FATECTL_FUZZ)
  foreach(src ${FATECTL_FUZZ_SOURCES})
    get_filename_component(t ${src} NAME_WE)
    add_executable(fuzz_${t} ${src})
    target_link_libraries(fuzz_${t} PRIVATE ${FATECTL_FUZZ_LIBS})
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
    target_compile_definitions(fuzz_${t} PRIVATE FATECTL_FUZZ_EXAMPLES="${CMAKE_SOURCE_DIR}/examples")
  endforeach()
else()
  set(fuzz_inc "")
  foreach(src ${FATECTL_FUZZ_SOURCES})
    get_filename_component(t ${src} NAME_WE)
    string(APPEND fuzz_inc "X(${t})\n")
    set_source_files_properties(${src} PROPERTIES COMPILE_DEFINITIONS "LLVMFuzzerTestOneInput=fatectl_fuzz_${t}")
  endforeach()
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/generated/fuzz_targets.inc CONTENT "${fuzz_inc}")
  add_executable(fatectl_fuzz_replay ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.cc ${FATECTL_FUZZ_SOURCES})
  target_link_libraries(fatectl_fuzz_replay PRIVATE ${FATECTL_FUZZ_LIBS})
  target_compile_definitions(fatectl_fuzz_replay PRIVATE FATECTL_FUZZ_EXAMPLES="${CMAKE_SOURCE_DIR}/examples")
  if(FATECTL_STATIC)
    target_link_options(fatectl_fuzz_replay PRIVATE -static)
  endif()
  add_test(NAME fuzz_replay COMMAND fatectl_fuzz_replay ${CMAKE_SOURCE_DIR}/tests/fuzz)
  set_tests_properties(fuzz_replay PROPERTIES TIMEOUT 900)
endif()
