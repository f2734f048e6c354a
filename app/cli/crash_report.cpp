#include "crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>

namespace fw::cli {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// Only async-signal-safe calls here: write(2), backtrace_symbols_fd (which does not malloc once
// backtrace() has been called once, see installCrashReport) and raise.
void report(int sig, siginfo_t* info, void* context) {
  const char* name = sig == SIGSEGV ? "SIGSEGV (segmentation fault)"
                     : sig == SIGBUS ? "SIGBUS (bus error)"
                     : sig == SIGFPE ? "SIGFPE (arithmetic error)"
                     : sig == SIGILL ? "SIGILL (illegal instruction)"
                                     : "SIGABRT (aborted)";
  const char* head = "\nfourierft crashed with ";
  const char* tail = ". This is a bug in Fourier Workbench or a library it uses: please report it with the "
                     "command and the stack below (finished runs and checkpoints on disk are unaffected).\n";
  (void)!::write(STDERR_FILENO, head, std::strlen(head));
  (void)!::write(STDERR_FILENO, name, std::strlen(name));
  (void)!::write(STDERR_FILENO, tail, std::strlen(tail));
  // The faulting instruction first: unwinding out of a signal frame does not always get past it.
#if defined(__x86_64__)
  if (context) {
    void* pc = reinterpret_cast<void*>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
    const char* at = "at:\n";
    (void)!::write(STDERR_FILENO, at, std::strlen(at));
    ::backtrace_symbols_fd(&pc, 1, STDERR_FILENO);
    // A call through a null or stale function pointer lands at a PC with no unwind information;
    // the return address it pushed is still on top of the stack and names the caller.
    const auto* sp = reinterpret_cast<void* const*>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RSP]);
    if (sp && reinterpret_cast<uintptr_t>(pc) < 4096) {
      const char* from = "called from:\n";
      (void)!::write(STDERR_FILENO, from, std::strlen(from));
      ::backtrace_symbols_fd(sp, 1, STDERR_FILENO);
    }
  }
#else
  (void)context;
#endif
  if (info && (sig == SIGSEGV || sig == SIGBUS)) {
    void* addr = info->si_addr;  // the address it touched, symbolised if it is code or data
    const char* touched = "touching:\n";
    (void)!::write(STDERR_FILENO, touched, std::strlen(touched));
    ::backtrace_symbols_fd(&addr, 1, STDERR_FILENO);
  }
  const char* stack = "stack:\n";
  (void)!::write(STDERR_FILENO, stack, std::strlen(stack));
  void* frames[64];
  const int n = ::backtrace(frames, 64);
  ::backtrace_symbols_fd(frames, n, STDERR_FILENO);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void installCrashReport() {
  if (kAddressSanitizer) return;  // its own report (the bad access, the allocation's stack) is better
  void* warm[1];
  ::backtrace(warm, 1);  // loads libgcc now, not inside the handler
  // Its own stack, so that a stack overflow can still be reported.
  static char altStack[64 * 1024];
  stack_t ss{};
  ss.ss_sp = altStack;
  ss.ss_size = sizeof(altStack);
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa{};
  sa.sa_sigaction = report;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace fw::cli
