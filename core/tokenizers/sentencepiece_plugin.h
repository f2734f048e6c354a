#pragma once
// The C interface of the SentencePiece plugin (libfw_sentencepiece.so).
//
// Why a plugin: libsentencepiece carries its own copy of protobuf-lite and exports its symbols,
// while LibTorch links the system libprotobuf. Linked into one program, the two copies bind to
// each other's symbols at start-up and the process crashes before main(). The plugin is loaded
// with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) only when a tokenizer.model is read, so each copy
// keeps its own symbols. Strings cross the boundary as caller-owned buffers.
#include <cstddef>

// The plugin is built with hidden visibility; these are all it exports.
#define FWSPM_API __attribute__((visibility("default")))

extern "C" {

typedef struct FwSpm FwSpm;

// Returns null on failure with the reason in err.
FWSPM_API FwSpm* fwspm_load(const char* bytes, size_t size, char* err, size_t errCap);
FWSPM_API void fwspm_free(FwSpm* m);
FWSPM_API int fwspm_piece_size(const FwSpm* m);
// bos, eos, pad, unk ids (negative when the model has none), in that order.
FWSPM_API void fwspm_special_ids(const FwSpm* m, int out[4]);
FWSPM_API int fwspm_piece_to_id(const FwSpm* m, const char* piece, size_t size);
// Copies the piece into buf (up to cap bytes) and returns its full length.
FWSPM_API size_t fwspm_id_to_piece(const FwSpm* m, int id, char* buf, size_t cap);
FWSPM_API int fwspm_is_unknown(const FwSpm* m, int id);
FWSPM_API int fwspm_is_control(const FwSpm* m, int id);
// Writes up to cap ids and returns how many the text has; -1 on error (reason in err).
FWSPM_API long fwspm_encode(const FwSpm* m, const char* text, size_t size, int* ids, size_t cap, char* err, size_t errCap);
// Writes up to cap bytes of text and returns its full length; -1 on error.
FWSPM_API long fwspm_decode(const FwSpm* m, const int* ids, size_t n, char* out, size_t cap, char* err, size_t errCap);

}
