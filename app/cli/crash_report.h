#pragma once
// What the command line says when it crashes after all (a segmentation fault, an abort from an
// uncaught exception in a library thread): which signal, that it is a bug to report, and the
// native stack, on standard error, before the default action ends the process as before. Without
// it a crash on a remote GPU server leaves only "Segmentation fault" and an exit status.

namespace fw::cli {

void installCrashReport();

}  // namespace fw::cli
