#pragma once
// The folder an export of a trained method goes into (an adapter, PEFT or native, or a merged
// checkpoint), for the CLI's `fourierft export` and the window's Export alike: a new or empty
// folder, or, when the user says so (`force`), one whose earlier export files are replaced.
#include <string>

namespace fw::train {

// Whether an export writes `file` (a name, no folder): the adapter files, or for a merged
// checkpoint config.json, model.safetensors and a sharded checkpoint's shards and index (which
// the loader would otherwise prefer to the new file).
bool writtenByExport(const std::string& file, bool merged);

// Checks, before anything is loaded, that `dir` can take the export: it does not exist, is an
// empty folder, or is a folder and `force` is set. Throws fw::Error naming the folder, with
// `field` (an option such as "--merged") and what to do.
void checkExportFolder(const std::string& dir, const std::string& field, bool force);

// Checks again, then (force) removes the files the export writes from `dir` so that none of an
// earlier export is left to mix with the new one; other files stay. Call it just before the
// write, with everything read: a failure before leaves the folder as it was.
void clearExportFolder(const std::string& dir, const std::string& field, bool merged, bool force);

}  // namespace fw::train
