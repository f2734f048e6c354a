# FW_SANITIZE=ON builds everything with AddressSanitizer and UndefinedBehaviorSanitizer
# (docs/reliability.md): `cmake -B build-asan -DFW_SANITIZE=ON && cmake --build build-asan && ctest`.
# Their run-time options and the leak suppressions for the libraries we link (LibTorch, Qt, ...)
# are compiled into every program from core/util/sanitizer_defaults.cpp, the one listed file.
option(FW_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(FW_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(FW_SANITIZE=1)
  message(STATUS "Sanitizers: address, undefined")
endif()
