// Run-time options of AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer for a
// FW_SANITIZE=ON build, compiled into every program (fw_util is linked everywhere; error.cpp
// references this file's anchor so the linker keeps it). The leak suppressions name libraries we
// link, never our own code: a leak whose stack passes through one of them is theirs.
#ifdef FW_SANITIZE

extern "C" {

const char* __asan_default_options() {
  // odr: LibTorch and its dependencies define some globals twice by design.
  return "detect_leaks=1:detect_odr_violation=0:allocator_may_return_null=1";
}

const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }

const char* __lsan_default_suppressions() {
  return
      // LibTorch's operator registry, dispatcher tables, thread pools and autograd engine live
      // until exit by design.
      "leak:libtorch_cpu.so\n"
      "leak:libc10.so\n"
      "leak:libgomp.so\n"
      "leak:libopenblas\n"
      // Qt's plugin loader, font database and platform integration are process singletons.
      "leak:libQt6Core.so\n"
      "leak:libQt6Gui.so\n"
      "leak:libQt6Widgets.so\n"
      "leak:libfontconfig.so\n"
      "leak:libglib-2.0.so\n"
      // The dynamic loader (Qt plugins, the SentencePiece plugin) and SentencePiece's protobuf.
      "leak:ld-linux-x86-64.so\n"
      "leak:libprotobuf-lite.so\n"
      "leak:libsentencepiece.so\n";
}

}  // extern "C"

#endif

namespace fw {
int sanitizerDefaultsAnchor = 0;
}
