#pragma once
// Instruction data for causal LMs in the Stanford Alpaca layout: a JSON array (or JSONL) of
// records {instruction, input, output}. Each record becomes, as Stanford Alpaca's train.py
// builds it,
//   ids      = tokens(prompt + output) + eos   (one text, tokenized once)
//   lmLabels = ids with the first len(tokens(prompt)) set to -100 (unshifted: the model shifts,
//              as Hugging Face causal LMs do)
// truncated to maxLength; label stays -1. Texts are encoded as Hugging Face's tokenizer(text)
// encodes them (with the model's special tokens, e.g. LLaMA's <s>; GPT-2 adds none). JSON must be
// UTF-8: an invalid byte is a syntax error of the whole file (of one line in JSONL).
#include "data/example.h"
#include "tokenizers/tokenizer.h"

#include <cstdint>
#include <string>

namespace fw::data {

// {instruction} and {input} in the texts are replaced once (braces in the data stay as they are).
struct PromptTemplate {
  std::string withInput;     // used when the record's input is not ""
  std::string withoutInput;  // used when it is "" or missing, as Alpaca does
};

// Stanford Alpaca's two prompts, verbatim (train.py PROMPT_DICT).
const PromptTemplate& alpacaTemplate();
std::string formatPrompt(const PromptTemplate& prompt, const std::string& instruction, const std::string& input);

struct InstructionFields {
  std::string instruction = "instruction", input = "input", output = "output";
};

struct InstructionOptions {
  int64_t maxLength = 512;  // prompt + output + eos; 0: no truncation
  PromptTemplate prompt = alpacaTemplate();
  InstructionFields fields;
  BadRows badRows = BadRows::Fail;
  std::string name;  // default: the file name without extension
};

// One record. Throws fw::Error when the tokenizer has no end-of-text token, or when the prompt
// leaves no room for a single response token within maxLength (nothing would be learned).
Example encodeInstruction(const tokenizers::Tokenizer& tok, const std::string& prompt, const std::string& output,
                          int64_t maxLength);

// Bad records (not an object, instruction or output missing, not a string, empty or invalid
// UTF-8, input not a string, a prompt that fills maxLength) throw or are skipped per
// options.badRows; messages name the file, the record's line and the field ("[12].output").
Dataset loadInstructions(const std::string& path, const tokenizers::Tokenizer& tok,
                         const InstructionOptions& options = {});

}  // namespace fw::data
